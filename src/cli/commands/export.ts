// `sbn export tensorboard|safetensors|onnx RUN`: a run in formats other tools read (docs/run-format.md).
import { exportTensorBoard } from '../../engine/export/tensorboard';
import { ExportError } from '../../engine/export/errors';
import { CliError } from '../errors';
import { out } from '../io';
import { log } from '../log';

/** What the user can fix (not a run, a run being trained, a damaged checkpoint): one line, exit 2. */
function userErrors<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ExportError) throw new CliError(e.message);
    throw e;
  }
}

export function exportTensorBoardCommand(runDir: string): void {
  const r = userErrors(() => exportTensorBoard(runDir));
  for (const s of r.skipped) log(`warning: ${runDir}/${s}`);
  out(`${r.records} metrics records written as TensorBoard events: ${r.files.join(', ') || 'none'}\n`);
}
