// `sbn export tensorboard|safetensors|onnx RUN` and `sbn inspect`: a run in formats other tools read, and what a
// checkpoint holds (docs/cli.md, docs/run-format.md).
import { ExportError } from '../../engine/export/errors';
import { inspect, type Inspection } from '../../engine/export/inspect';
import { DEFAULT_ONNX_SAMPLES, exportOnnx, ONNX_MODES, type OnnxMode } from '../../engine/export/onnx';
import { exportSafetensors } from '../../engine/export/safetensors';
import { exportTensorBoard } from '../../engine/export/tensorboard';
import { CliError } from '../errors';
import { parsePositiveInt } from '../inputs';
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

function checkpointOption(value: string | undefined): 'latest' | number {
  return value === undefined || value === 'latest' ? 'latest' : parsePositiveInt(value, '--checkpoint');
}

export function exportTensorBoardCommand(runDir: string): void {
  const r = userErrors(() => exportTensorBoard(runDir));
  for (const s of r.skipped) log(`warning: ${runDir}/${s}`);
  out(`${r.records} metrics records written as TensorBoard events: ${r.files.join(', ') || 'none'}\n`);
}

export function exportSafetensorsCommand(target: string, o: { out: string; checkpoint?: string }): void {
  const which = checkpointOption(o.checkpoint);
  const r = userErrors(() => exportSafetensors(target, o.out, which));
  const tensors = r.tensors.map((t) => `${t.name} [${t.shape.join(', ')}]`).join(', ');
  out(`${r.file}: ${r.tensors.length} tensors (${tensors}), ${r.bytes} bytes, step ${r.step}\n`);
}

/** Largest K of `--mode ensemble` (the graph holds K copies of the batch). */
export const MAX_ONNX_SAMPLES = 1024;

export function exportOnnxCommand(
  target: string,
  o: { out: string; mode: string; samples?: string; checkpoint?: string },
): void {
  if (!(ONNX_MODES as readonly string[]).includes(o.mode))
    throw new CliError(`--mode: expected ${ONNX_MODES.join(', ')}, got "${o.mode}"`);
  const mode = o.mode as OnnxMode;
  if (o.samples !== undefined && mode !== 'ensemble')
    throw new CliError(`--samples: only with --mode ensemble (--mode ${mode} takes one sample or none)`);
  const samples =
    o.samples === undefined ? DEFAULT_ONNX_SAMPLES : parsePositiveInt(o.samples, '--samples', MAX_ONNX_SAMPLES);
  const which = checkpointOption(o.checkpoint);
  const r = userErrors(() => exportOnnx(target, o.out, mode, samples, which));
  const shape = (v: { name: string; shape: Array<number | string> }) => `${v.name} [${v.shape.join(', ')}]`;
  out(
    `${r.file}: ONNX (opset 17), ${r.mode}${r.mode === 'ensemble' ? ` of ${r.samples} samples` : ''}, step ${r.step},` +
      ` ${r.bytes} bytes; inputs ${r.inputs.map(shape).join(', ')}; outputs ${r.outputs.map(shape).join(', ')}\n`,
  );
}

function num(v: number | null): string {
  if (v === null) return '—';
  return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4);
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => '  ' + r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
}

function describeValue(v: unknown): string {
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

/** The inspection as text: one fact per line, parameters as a table. */
export function formatInspection(r: Inspection): string {
  const lines: string[] = [`checkpoint ${r.checkpointFile}: step ${r.step}, epoch ${r.epoch}`];
  if (r.run) {
    lines.push(
      `run ${r.run.name} (${r.run.dir}), created ${r.run.created}, ${r.run.status ?? 'status unknown'}; ` +
        `model file ${r.run.source || '?'} (copy: ${r.run.modelCopy})`,
    );
  }
  if (r.trainedWith) {
    const m = r.trainedWith.model as Record<string, unknown>;
    const t = r.trainedWith.train as Record<string, unknown>;
    lines.push(
      `model: ${Object.entries(m)
        .map(([k, v]) => `${k} ${describeValue(v)}`)
        .join(', ')}`,
    );
    lines.push(
      `trained with: ${Object.entries(t)
        .map(([k, v]) => `${k} ${describeValue(v)}`)
        .join(', ')}`,
    );
  }
  if (r.environment) {
    lines.push(
      `backend: ${r.environment.backendDetail ?? r.environment.backend ?? '?'}; ` +
        `PSA kernels: ${r.environment.kernels ?? '?'}`,
    );
  }
  if (r.run) {
    const p = r.provenance;
    lines.push(
      p
        ? `provenance: SBN Studio ${p.version}, ` +
            (p.commit ? `commit ${p.commit}${p.dirty ? ' with uncommitted changes' : ''}` : 'not from a git checkout') +
            `; started by: ${p.startedBy}`
        : 'provenance: not recorded (a run made before SBN Studio recorded it)',
    );
  }
  const total = r.params.reduce((a, p) => a + p.count, 0);
  lines.push(`parameters (${r.params.length} tensors, ${total} values):`);
  const rows = [['name', 'shape', 'mean', 'std', 'min', 'max', 'norm', 'non-finite']];
  for (const p of r.params) {
    rows.push([
      p.name,
      `[${p.shape.join(', ')}]`,
      num(p.mean),
      num(p.std),
      num(p.min),
      num(p.max),
      num(p.norm),
      String(p.nonFinite),
    ]);
  }
  lines.push(...table(rows));
  const rng = Object.entries(r.rng);
  lines.push(`random generators: ${rng.length ? rng.map(([k, v]) => `${k} ${describeValue(v)}`).join('; ') : 'none'}`);
  if (r.data) lines.push(`data position: ${describeValue(r.data)}`);
  if (r.optimizer) {
    lines.push(
      `optimizer: ${r.optimizer.type}, ${r.optimizer.state} state tensors, ` +
        `${
          Object.entries(r.optimizer.scalars)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || 'no scalars'
        }`,
    );
  }
  return lines.join('\n') + '\n';
}

export function inspectCommand(target: string, o: { checkpoint?: string; json?: boolean }): void {
  const which = checkpointOption(o.checkpoint);
  const r = userErrors(() => inspect(target, which));
  out(o.json ? JSON.stringify(r, null, 2) + '\n' : formatInspection(r));
}
