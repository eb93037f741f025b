// A lock on one file that works across processes and machines sharing a file system, for short read-modify-write
// updates (sweep.json, suite.json): the lock is a folder `<file>.lock` (mkdir is atomic locally and on NFS) holding
// `owner` (pid, host, time, a token). A lock whose holder is gone — a dead pid on this machine, or one older than
// `staleMs` from another machine — is taken over. Synchronous: the critical sections are milliseconds of JSON.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { processAlive } from './runs/status';

/** Default: a lock this old whose holder cannot be checked (another machine) is stale. */
export const FILE_LOCK_STALE_MS = 30_000;
/** Default: how long to wait for a lock before giving up. */
export const FILE_LOCK_TIMEOUT_MS = 60_000;

export interface FileLockOptions {
  staleMs?: number;
  timeoutMs?: number;
}

interface Owner {
  pid: number;
  hostname: string;
  time: string;
  token: string;
}

const OWNER_FILE = 'owner';

export class FileLockError extends Error {}

/** The lock folder of a file. */
export function lockPathOf(file: string): string {
  return `${file}.lock`;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function readOwner(lock: string): Owner | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(path.join(lock, OWNER_FILE), 'utf8')) as Owner;
    return typeof o === 'object' && o !== null && typeof o.pid === 'number' && typeof o.token === 'string'
      ? o
      : undefined;
  } catch {
    return undefined;
  }
}

function ageMs(lock: string): number {
  for (const p of [path.join(lock, OWNER_FILE), lock]) {
    try {
      return Date.now() - fs.statSync(p).mtimeMs;
    } catch {
      /* try the folder itself */
    }
  }
  return 0;
}

/** True when the lock's holder is gone: a dead process on this machine, or too old to be alive elsewhere. */
function isStale(lock: string, staleMs: number): { stale: boolean; owner?: Owner } {
  const owner = readOwner(lock);
  if (owner && owner.hostname === os.hostname()) return { stale: !processAlive(owner.pid), owner };
  // another machine, or a holder between mkdir and writing `owner` (a few ms): only age tells
  return { stale: ageMs(lock) > staleMs, owner };
}

/** Moves a stale lock out of the way (rename is atomic: of two processes taking it over, one succeeds). */
function takeOver(lock: string, judged: Owner | undefined): void {
  const aside = `${lock}.stale-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(lock, aside);
  } catch {
    return; // another process took it over (or it was released) first
  }
  const moved = readOwner(aside);
  if (judged && moved && moved.token !== judged.token) {
    // a fresh lock was taken between the check and the rename: give it back
    try {
      fs.renameSync(aside, lock);
      return;
    } catch {
      /* a newer lock is in place already; the moved one's holder finds its token gone when it releases */
    }
  }
  fs.rmSync(aside, { recursive: true, force: true });
}

function acquire(file: string, o: FileLockOptions): { lock: string; token: string } {
  const lock = lockPathOf(file);
  const staleMs = o.staleMs ?? FILE_LOCK_STALE_MS;
  const deadline = Date.now() + (o.timeoutMs ?? FILE_LOCK_TIMEOUT_MS);
  const token = crypto.randomBytes(8).toString('hex');
  for (let attempt = 0; ; attempt++) {
    try {
      fs.mkdirSync(lock);
      const owner: Owner = { pid: process.pid, hostname: os.hostname(), time: new Date().toISOString(), token };
      fs.writeFileSync(path.join(lock, OWNER_FILE), JSON.stringify(owner) + '\n');
      return { lock, token };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') fs.mkdirSync(path.dirname(lock), { recursive: true });
      else if (code !== 'EEXIST') throw e;
    }
    const { stale, owner } = isStale(lock, staleMs);
    if (stale) {
      takeOver(lock, owner);
      continue;
    }
    if (Date.now() > deadline) {
      const who = owner ? `process ${owner.pid} on ${owner.hostname} since ${owner.time}` : 'another process';
      throw new FileLockError(
        `${file}: could not lock it for an update: ${lock} is held by ${who} ` +
          `(remove ${lock} if no sbn process is running)`,
      );
    }
    // a few ms with jitter, growing: the holders' critical sections are short
    sleep(Math.min(50, 2 + attempt) + Math.random() * 5);
  }
}

function release(lock: string, token: string): void {
  if (readOwner(lock)?.token !== token) return; // taken over as stale: not ours to remove any more
  fs.rmSync(lock, { recursive: true, force: true });
}

/** Runs `fn` holding the lock of `file`; releases it however `fn` ends. */
export function withFileLock<T>(file: string, fn: () => T, options: FileLockOptions = {}): T {
  const { lock, token } = acquire(file, options);
  try {
    return fn();
  } finally {
    release(lock, token);
  }
}
