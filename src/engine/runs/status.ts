// status.json (what the run is doing) and the `lock` file (who may write it).
// docs/run-format.md ("status.json", "lock").
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../files';
import { RUN_STATUSES, type RunStatus, type StatusRecord } from './records';

export const STATUS_FILE = 'status.json';
export const LOCK_FILE = 'lock';

/** How often a writer refreshes the `heartbeat` of its lock while the run is open. */
export const LOCK_HEARTBEAT_SECONDS = 30;
/**
 * A lock held by a process on another machine (whose pid cannot be checked) is stale once its heartbeat is this old:
 * the writer died, or lost the shared file system. Twenty missed heartbeats.
 */
export const LOCK_STALE_SECONDS = 600;

export { RUN_STATUSES, type RunStatus, type StatusRecord } from './records';

/** status.json as a reader should see it. */
export interface StatusInfo extends StatusRecord {
  /**
   * What status.json says; differs from `status` when a `running` run's process is gone (then `status` is
   * `crashed`).
   */
  recorded: RunStatus;
}

/** True when a process with this id exists on this machine (signal 0 probes without signalling). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

export function writeStatus(dir: string, status: RunStatus, detail?: string, step?: number): StatusRecord {
  if (!RUN_STATUSES.includes(status))
    throw new Error(`unknown run status "${status}" (one of ${RUN_STATUSES.join(', ')})`);
  const rec: StatusRecord = {
    status,
    ...(detail !== undefined ? { detail } : {}),
    ...(step !== undefined ? { step } : {}),
    pid: process.pid,
    hostname: os.hostname(),
    updated: new Date().toISOString(),
  };
  writeFileAtomic(path.join(dir, STATUS_FILE), JSON.stringify(rec, null, 2) + '\n');
  return rec;
}

/**
 * Read status.json. A `running` run whose process no longer exists (same machine only: another machine's pids
 * cannot be checked) is reported as `crashed`.
 */
export function readStatus(dir: string): StatusInfo {
  const file = path.join(dir, STATUS_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `run ${dir} has no ${STATUS_FILE}` : `${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const r = raw as Partial<StatusRecord>;
  if (typeof r !== 'object' || r === null || !RUN_STATUSES.includes(r.status as RunStatus)) {
    throw new Error(`${file}: no valid "status" (one of ${RUN_STATUSES.join(', ')})`);
  }
  const info: StatusInfo = {
    status: r.status as RunStatus,
    ...(typeof r.detail === 'string' ? { detail: r.detail } : {}),
    ...(typeof r.step === 'number' && Number.isSafeInteger(r.step) && r.step >= 0 ? { step: r.step } : {}),
    pid: typeof r.pid === 'number' ? r.pid : 0,
    hostname: typeof r.hostname === 'string' ? r.hostname : '',
    updated: typeof r.updated === 'string' ? r.updated : '',
    recorded: r.status as RunStatus,
  };
  if (info.status === 'running' && info.hostname === os.hostname() && !processAlive(info.pid)) {
    info.status = 'crashed';
    info.detail =
      `process ${info.pid} ended without recording a final status` + (r.detail ? ` (last: ${r.detail})` : '');
  } else if (info.status === 'running' && info.hostname !== os.hostname()) {
    // another machine: its writer keeps a heartbeat in the lock while it runs
    const lock = readLock(path.join(dir, LOCK_FILE));
    if (!lock || !holderLive(lock)) {
      info.status = 'crashed';
      info.detail =
        (lock
          ? `no heartbeat from process ${info.pid} on ${info.hostname} since ${lastBeat(lock)}`
          : `process ${info.pid} on ${info.hostname} left no lock`) +
        ' and it recorded no final status' +
        (r.detail ? ` (last: ${r.detail})` : '');
    }
  }
  return info;
}

interface LockRecord {
  pid: number;
  hostname: string;
  /** When the lock was taken. */
  time: string;
  /** Refreshed every LOCK_HEARTBEAT_SECONDS while the writer runs (absent in locks of older writers: `time` counts). */
  heartbeat?: string;
}

function lastBeat(h: LockRecord): string {
  return h.heartbeat ?? h.time;
}

function readLock(file: string): LockRecord | null {
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as LockRecord;
    return typeof r === 'object' && r !== null && typeof r.pid === 'number' ? r : null;
  } catch {
    return null;
  }
}

function holderLive(h: LockRecord): boolean {
  if (typeof h.hostname === 'string' && h.hostname !== os.hostname()) {
    // another machine's pid cannot be checked: its heartbeat can
    const beat = Date.parse(lastBeat(h));
    return Number.isFinite(beat) && Date.now() - beat < LOCK_STALE_SECONDS * 1000;
  }
  return processAlive(h.pid);
}

/** Create `file` holding `text`, failing with EEXIST if it exists. The content appears together with the name. */
function createExclusive(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, text);
  try {
    fs.linkSync(tmp, file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || !['EPERM', 'ENOTSUP', 'ENOSYS', 'EXDEV', 'EOPNOTSUPP'].includes(code ?? '')) throw e;
    fs.writeFileSync(file, text, { flag: 'wx' }); // file systems without hard links
  } finally {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* ignore */
    }
  }
}

/**
 * Take the run's write lock for this process. A lock left by a process that no longer exists (on this machine) is
 * taken over; a live holder is an error.
 */
export function acquireLock(dir: string): void {
  const file = path.join(dir, LOCK_FILE);
  const now = new Date().toISOString();
  const mine: LockRecord = { pid: process.pid, hostname: os.hostname(), time: now, heartbeat: now };
  const text = JSON.stringify(mine) + '\n';
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      createExclusive(file, text);
      // Two processes taking over the same stale lock at once: the later one removes the earlier one's lock.
      // Reading back catches the loser (when it reads after the winner's write).
      const back = readLock(file);
      if (back && back.pid === mine.pid && back.time === mine.time) return;
      continue;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readLock(file);
    if (holder && holderLive(holder)) {
      const where = holder.hostname && holder.hostname !== os.hostname() ? ` on ${holder.hostname}` : '';
      throw new Error(
        `run ${dir} is being written by process ${holder.pid}${where}` +
          (where
            ? ` (its last heartbeat: ${lastBeat(holder)}; the lock goes stale ${LOCK_STALE_SECONDS} s after it)`
            : ` (delete ${file} if that process is not an sbn writer)`),
      );
    }
    if (!holder) {
      // Unreadable lock: a writer between creating and filling it (not with hard links), or a crash. Wait briefly.
      let age = Infinity;
      try {
        age = Date.now() - fs.statSync(file).mtimeMs;
      } catch {
        /* gone */
      }
      if (age < 2000)
        throw new Error(`run ${dir} is being opened by another process (lock file ${file} was just created)`);
    }
    try {
      fs.unlinkSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  throw new Error(`run ${dir}: could not take the lock (${file}); another process keeps taking it`);
}

/** Refresh the heartbeat of the lock if this process holds it (atomically; the lock stays in place). */
export function refreshLock(dir: string): void {
  const file = path.join(dir, LOCK_FILE);
  const h = readLock(file);
  if (!h || h.pid !== process.pid || h.hostname !== os.hostname()) return;
  writeFileAtomic(file, JSON.stringify({ ...h, heartbeat: new Date().toISOString() }) + '\n');
}

/**
 * After the process `pid` that wrote a run was killed (the extension's worker, when Stop's grace period ran out), or
 * when this process exits at once (a second Ctrl-C): record the run as `status` (default `crashed`) with `detail`
 * if its status.json still says `running` for that process, and remove the lock if that process holds it (and is
 * gone, or is this one). Returns whether status.json was changed.
 */
export function releaseAbandonedRun(dir: string, pid: number, detail: string, status: RunStatus = 'crashed'): boolean {
  let changed = false;
  try {
    const s = readStatus(dir);
    if (s.recorded === 'running' && s.pid === pid && s.hostname === os.hostname()) {
      writeStatus(dir, status, detail);
      changed = true;
    }
  } catch {
    /* no readable status: nothing to correct */
  }
  const file = path.join(dir, LOCK_FILE);
  const h = readLock(file);
  if (h && h.pid === pid && h.hostname === os.hostname() && (pid === process.pid || !processAlive(pid))) {
    try {
      fs.unlinkSync(file);
    } catch {
      /* already gone */
    }
  }
  return changed;
}

/** Remove the lock if this process holds it. */
export function releaseLock(dir: string): void {
  const file = path.join(dir, LOCK_FILE);
  const h = readLock(file);
  if (h && h.pid === process.pid && h.hostname === os.hostname()) {
    try {
      fs.unlinkSync(file);
    } catch {
      /* ignore */
    }
  }
}
