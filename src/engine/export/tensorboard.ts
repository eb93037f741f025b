// `sbn export tensorboard RUN`: a run's TensorBoard event files written from its metrics.jsonl, for runs made before
// SBN Studio wrote them as it trains (or whose files were lost).
import { acquireLock, effectiveMetrics, readManifest, readMetrics, releaseLock } from '../runs';
import { writeTensorBoardFromRecords } from '../runs/tensorboard';
import { asExportError } from './errors';

export interface TensorBoardExport {
  /** Event files written, relative to the run folder. */
  files: string[];
  /** Records of metrics.jsonl they hold the events of (as readers see them: a resume's recomputed ones once). */
  records: number;
  /** Bad lines of metrics.jsonl that were skipped, as `metrics.jsonl:N: what`. */
  skipped: string[];
}

/**
 * Rewrite `tensorboard/` of a run folder from its metrics.jsonl. Takes the run's lock while it writes, so it refuses
 * a run that a process is training (that process writes the event files itself).
 */
export function exportTensorBoard(runDir: string): TensorBoardExport {
  asExportError(() => {
    readManifest(runDir);
    acquireLock(runDir);
  });
  try {
    const read = readMetrics(runDir, { tolerant: true });
    const records = effectiveMetrics(read.records);
    const files = writeTensorBoardFromRecords(runDir, records);
    return {
      files,
      records: records.length,
      skipped: read.corrupt.map((c) => `metrics.jsonl:${c.line}: ${c.error}`),
    };
  } finally {
    releaseLock(runDir);
  }
}
