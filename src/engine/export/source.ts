// What an export or `sbn inspect` reads: a run folder (its latest checkpoint or an epoch's) or a checkpoint file
// (with the run folder it lies in, when it lies in one).
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  checkpointPath,
  parseCheckpoint,
  readManifest,
  RUN_FILE,
  EPOCH_CHECKPOINT_DIR,
  type Checkpoint,
  type RunManifest,
} from '../runs';
import { ExportError } from './errors';

export interface ExportSource {
  /** The run folder, or null for a checkpoint file outside any. */
  runDir: string | null;
  manifest: RunManifest | null;
  checkpoint: Checkpoint;
  checkpointFile: string;
  /** The model file's text as the run keeps it (model.sbn.yaml, …); null without a run folder. */
  modelText: string | null;
}

/** The run folder a checkpoint file lies in: its folder, or the one above `checkpoints/`; null if none. */
function runFolderOf(file: string): string | null {
  const dir = path.dirname(path.resolve(file));
  for (const d of [dir, path.basename(dir) === EPOCH_CHECKPOINT_DIR ? path.dirname(dir) : null]) {
    if (d && fs.existsSync(path.join(d, RUN_FILE))) return d;
  }
  return null;
}

/**
 * Open a run folder (`which`: its latest checkpoint or the one of an epoch) or a checkpoint file. Every problem the
 * user can fix — no such path, not a run, no checkpoint, a damaged one — is an ExportError naming the file.
 */
export function openExportSource(target: string, which: 'latest' | number = 'latest'): ExportSource {
  let st: fs.Stats;
  try {
    st = fs.statSync(target);
  } catch {
    throw new ExportError(`${target}: no such run folder or checkpoint file`);
  }
  let runDir: string | null;
  let file: string;
  if (st.isDirectory()) {
    runDir = target;
    file = checkpointPath(target, which);
  } else {
    if (which !== 'latest')
      throw new ExportError(`--checkpoint: ${target} is a checkpoint file; --checkpoint applies to run folders`);
    file = target;
    runDir = runFolderOf(target);
  }
  let manifest: RunManifest | null = null;
  if (runDir !== null) {
    try {
      manifest = readManifest(runDir);
    } catch (e) {
      throw new ExportError((e as Error).message, { cause: e });
    }
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    const why = which === 'latest' ? 'the run has not written one yet' : `epoch ${which} was not kept`;
    throw new ExportError(`${file}: no checkpoint (${why})`);
  }
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(text, file);
  } catch (e) {
    throw new ExportError((e as Error).message, { cause: e });
  }
  let modelText: string | null = null;
  if (runDir !== null && manifest !== null) {
    try {
      modelText = fs.readFileSync(path.join(runDir, manifest.model), 'utf8');
    } catch {
      throw new ExportError(`${path.join(runDir, manifest.model)}: the run's model file is missing`);
    }
  }
  return { runDir, manifest, checkpoint, checkpointFile: file, modelText };
}
