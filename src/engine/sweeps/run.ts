// Running a sweep folder: its unfinished points become jobs for an executor (the embedded pool, a queue), and what
// the executor reports goes into sweep.json, each change under the lock. Finished and failed points are never run
// again, so resuming a sweep twice runs nothing twice.
import { type SweepExecutor, type SweepJobProgress, type SweepStatusDetail } from './executor';
import { readSweepState, type PointStatus, type SweepPoint, type SweepState } from './format';
import { jobOf, statusCounts, updateSweepState } from './folder';

export interface SweepRunOptions {
  signal: AbortSignal;
  /** After sweep.json records a change: the point as recorded, and the counts of the whole sweep. */
  onStatus?: (point: SweepPoint, counts: Record<PointStatus, number>, state: SweepState) => void;
  onProgress?: (point: SweepPoint, progress: SweepJobProgress) => void;
}

export interface SweepRunResult {
  counts: Record<PointStatus, number>;
  /** The signal ended it before every point was done. */
  stopped: boolean;
}

/** Records one status change of a point in sweep.json (on disk, under the lock); returns the point as recorded. */
export function recordStatus(
  dir: string,
  pointId: string,
  status: PointStatus,
  detail: SweepStatusDetail,
): { point: SweepPoint; state: SweepState } {
  return updateSweepState(dir, (state) => {
    const point = state.points.find((p) => p.id === pointId);
    if (!point) throw new Error(`${dir}: sweep.json has no point ${pointId}`);
    // a late report about a point that has already ended (a worker that lost its job) changes nothing
    if (point.status === 'finished' || point.status === 'failed') return { point: { ...point }, state };
    point.status = status;
    if (detail.worker !== undefined) point.worker = detail.worker;
    const now = new Date().toISOString();
    if (status === 'running') {
      point.startedAt = now;
      point.attempts = detail.attempt ?? (point.attempts ?? 0) + 1;
      delete point.reason;
      delete point.finishedAt;
    } else if (status === 'finished') {
      point.finishedAt = now;
      point.metrics = detail.metrics ?? {};
      delete point.reason;
    } else if (status === 'failed') {
      point.finishedAt = now;
      point.reason = detail.reason ?? 'failed';
    } else if (detail.reason !== undefined) point.reason = detail.reason;
    return { point: { ...point }, state };
  });
}

/**
 * Runs every point of the sweep in `dir` that is not finished or failed on `executor`, recording each change in
 * sweep.json. Points recorded `running` by a sweep that ended without saying so are run again: their run folders
 * continue from their last checkpoints.
 */
export async function runSweep(dir: string, executor: SweepExecutor, o: SweepRunOptions): Promise<SweepRunResult> {
  const state = readSweepState(dir);
  const todo = state.points.filter((p) => p.status === 'waiting' || p.status === 'running');
  const jobs = todo.map((p) => jobOf(dir, state, p));
  const byId = new Map(state.points.map((p) => [p.id, p]));
  await executor.run(
    jobs,
    {
      onStatus: (pointId, status, detail) => {
        const { point, state: now } = recordStatus(dir, pointId, status, detail);
        byId.set(pointId, point);
        o.onStatus?.(point, statusCounts(now), now);
      },
      onProgress: (pointId, progress) => {
        const point = byId.get(pointId);
        if (point) o.onProgress?.(point, progress);
      },
    },
    o.signal,
  );
  const counts = statusCounts(readSweepState(dir));
  return { counts, stopped: o.signal.aborted && counts.waiting + counts.running > 0 };
}
