// Where a run came from: SBN Studio's version, the git commit of the checkout it ran from, and the command or editor
// action that started it. Recorded in environment.json (`provenance`) when a run is created; `sbn inspect` shows it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Provenance {
  /** SBN Studio's version (its package.json). */
  version: string;
  /** The commit of the git checkout SBN Studio ran from; null when it did not run from one (an installed VSIX). */
  commit: string | null;
  /** Whether that checkout had changes to tracked files not committed; null without a checkout. */
  dirty: boolean | null;
  /** What started the run: the exact command line (`sbn train …`, with its folder) or the editor action. */
  startedBy: string;
}

const PACKAGE_NAME = 'sbn-studio';

/** The folder of SBN Studio's package.json: above the running bundle (dist/…) in a checkout and in a VSIX. */
export function packageRoot(from = __dirname): string | null {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === PACKAGE_NAME) return dir;
    } catch {
      /* not here */
    }
    if (path.dirname(dir) === dir) return null;
  }
}

function git(root: string, args: string[]): string | null {
  const r = spawnSync('git', ['-C', root, ...args], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** SBN Studio's version, from its package.json ('unknown' where that cannot be read). */
export function projectVersion(root = packageRoot()): string {
  if (root === null) return 'unknown';
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The provenance of a run started now by `startedBy`. */
export function runProvenance(startedBy: string): Provenance {
  const root = packageRoot();
  const version = projectVersion(root);
  let commit: string | null = null;
  let dirty: boolean | null = null;
  // a checkout has .git (a folder, or a file in a worktree); an installed extension has none
  if (root && fs.existsSync(path.join(root, '.git'))) {
    commit = git(root, ['rev-parse', 'HEAD']);
    const status = commit === null ? null : git(root, ['status', '--porcelain', '--untracked-files=no']);
    dirty = status === null ? null : status !== '';
  }
  return { version, commit, dirty, startedBy };
}

/** environment.json's `provenance` when it has the documented types (runs made before it have none). */
export function provenanceFacts(environment: unknown): Provenance | null {
  const p = (environment as { provenance?: unknown } | null)?.provenance as Partial<Provenance> | undefined;
  if (typeof p !== 'object' || p === null) return null;
  if (typeof p.version !== 'string' || typeof p.startedBy !== 'string') return null;
  return {
    version: p.version,
    commit: typeof p.commit === 'string' ? p.commit : null,
    dirty: typeof p.dirty === 'boolean' ? p.dirty : null,
    startedBy: p.startedBy,
  };
}

/**
 * What started the runs of this process when its caller does not say: `$SBN_STARTED_BY` (the `sbn` command sets it
 * for itself and the worker processes it starts), else this process's command line.
 */
export const STARTED_BY_ENV = 'SBN_STARTED_BY';

export function defaultStartedBy(): string {
  return process.env[STARTED_BY_ENV] || `${commandLine(process.argv)} (in ${process.cwd()})`;
}

/**
 * A command line as one would type it in a POSIX shell (words quoted where needed), with the password of a URL
 * (`redis://:secret@host`) replaced by `***`: it is recorded in run folders that people share.
 */
export function commandLine(words: readonly string[]): string {
  return words
    .map((w) => w.replace(/(\/\/[^/@\s]*?:)[^/@\s]+@/g, '$1***@'))
    .map((w) => (/^[A-Za-z0-9_./:=@%+,*-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}
