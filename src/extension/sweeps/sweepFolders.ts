// Where the editor keeps sweep folders and what it reads off them: `sweeps/` in each workspace folder (where
// `sbn sweep` run from the folder's root puts them too), one folder per sweep with its sweep.json. Whether a sweep
// is being run right now is read off sweep.json: a point `running` on a worker of this machine whose process is
// alive. No vscode here: the Runs view, the commands and the Sweep panel share it, and the unit tests call it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSweepState, statusCounts, SWEEP_STATE_FILE, type PointStatus, type SweepState } from '../../engine/sweeps';

// The sweeps folder of a workspace folder and a new sweep's name in it are the engine's (as `sbn sweep`'s --out).
export { newSweepFolderName, SWEEPS_FOLDER } from '../../engine/sweeps';

export interface SweepFolderInfo {
  dir: string;
  name: string;
  /** sweep.json as read; absent when it cannot be read (then `problem` says why). */
  state?: SweepState;
  problem?: string;
  counts: Record<PointStatus, number>;
  /** `<hostname>:<pid>` of every worker sweep.json names. */
  workers: string[];
  /** Workers of this machine that are alive and hold a `running` point: someone runs the sweep now. */
  liveWorkers: string[];
}

/** Whether a process of this machine is alive (signal 0 tests without sending anything). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `host:pid` of a worker that runs a point now on this machine and is alive. */
export function isLiveLocalWorker(worker: string, host = os.hostname()): boolean {
  const at = worker.lastIndexOf(':');
  if (at <= 0 || worker.slice(0, at) !== host) return false;
  const pid = Number(worker.slice(at + 1));
  return Number.isSafeInteger(pid) && pid > 0 && processAlive(pid);
}

export function sweepFolderInfo(dir: string): SweepFolderInfo {
  const name = path.basename(dir);
  try {
    const state = readSweepState(dir);
    const workers = [...new Set(state.points.flatMap((p) => (p.worker ? [p.worker] : [])))].sort();
    const liveWorkers = [
      ...new Set(
        state.points
          .filter((p) => p.status === 'running' && p.worker && isLiveLocalWorker(p.worker))
          .map((p) => p.worker!),
      ),
    ].sort();
    return { dir, name, state, counts: statusCounts(state), workers, liveWorkers };
  } catch (e) {
    return {
      dir,
      name,
      problem: (e as Error).message,
      counts: { waiting: 0, running: 0, finished: 0, failed: 0 },
      workers: [],
      liveWorkers: [],
    };
  }
}

/** Every sweep folder (a folder with sweep.json) in `root`, newest first. */
export function listSweeps(root: string): SweepFolderInfo[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter(
      (d) => d.isDirectory() && !d.name.startsWith('.') && fs.existsSync(path.join(root, d.name, SWEEP_STATE_FILE)),
    )
    .map((d) => sweepFolderInfo(path.join(root, d.name)))
    .sort((a, b) => (b.state?.created ?? '').localeCompare(a.state?.created ?? '') || a.name.localeCompare(b.name));
}

/** Points left to run: waiting, or recorded running by a sweep that is not running any more. */
export function pointsLeft(info: Pick<SweepFolderInfo, 'counts'>): number {
  return info.counts.waiting + info.counts.running;
}

/** `done 4/18 · running 2 · failed 1 · waiting 11 · 2 workers`: a sweep's progress in one line. */
export function progressLine(info: Pick<SweepFolderInfo, 'counts' | 'workers'>): string {
  const c = info.counts;
  const total = c.waiting + c.running + c.finished + c.failed;
  const parts = [`done ${c.finished + c.failed}/${total}`];
  if (c.running) parts.push(`running ${c.running}`);
  if (c.failed) parts.push(`failed ${c.failed}`);
  if (c.waiting) parts.push(`waiting ${c.waiting}`);
  if (info.workers.length) parts.push(`${info.workers.length} worker${info.workers.length === 1 ? '' : 's'} seen`);
  return parts.join(' · ');
}
