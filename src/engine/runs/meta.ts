// meta.json: the user's display name, tags and notes of a run (docs/run-format.md, "meta.json"). The trainer never
// writes it and readers never need it, so editing it needs no lock and never disturbs a run that is training: it is
// replaced atomically, and the last writer wins.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../files';
import {
  RUN_META_FORMAT,
  RUN_META_LIMITS,
  RUN_META_VERSION,
  displayNameProblem,
  runMetaProblem,
  tagProblem,
  type RunMeta,
  type RunMetaFile,
} from './records';
import { readManifest } from './store';

export const META_FILE = 'meta.json';

/** A change to a run's meta.json; fields left out stay as they are. */
export interface RunMetaChange {
  /** The new display name; null (or only spaces) removes it, so the run is shown by its folder's name again. */
  displayName?: string | null;
  /** Replace the tags with these. */
  tags?: readonly string[];
  /** Tags to add (after `tags`), and to remove (last). */
  addTags?: readonly string[];
  removeTags?: readonly string[];
  notes?: string;
}

/** A run's meta.json (none: no display name, no tags, no notes); throws a one-line error naming the file. */
export function readRunMeta(dir: string): RunMeta {
  const file = path.join(dir, META_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { tags: [], notes: '' };
    throw new Error(`${file}: ${(e as Error).message}`, { cause: e });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: the file is damaged, not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const problem = runMetaProblem(v);
  if (problem) throw new Error(`${file}: ${problem}`);
  const m = v as RunMetaFile;
  return { ...(m.displayName !== undefined ? { displayName: m.displayName } : {}), tags: m.tags, notes: m.notes };
}

/** Tags as given (trimmed, duplicates dropped, first occurrence kept); throws on the first bad one. */
export function cleanTags(tags: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of tags) {
    const t = raw.trim();
    const p = tagProblem(t);
    if (p) throw new Error(p);
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

/** A comma- or space-separated list of tags as a user types it (`baseline, lr-search`), cleaned. */
export function parseTagList(text: string): string[] {
  return cleanTags(text.split(/[\s,]+/).filter((t) => t !== ''));
}

/** `meta` changed by `change`, checked (throws a one-line error saying which value is wrong). */
export function applyRunMetaChange(meta: RunMeta, change: RunMetaChange): RunMeta {
  let displayName = meta.displayName;
  if (change.displayName !== undefined) {
    const name = change.displayName?.trim() ?? '';
    if (name === '') displayName = undefined;
    else {
      const p = displayNameProblem(name);
      if (p) throw new Error(p);
      displayName = name;
    }
  }
  let tags = change.tags !== undefined ? cleanTags(change.tags) : meta.tags.slice();
  if (change.addTags) tags = cleanTags([...tags, ...change.addTags]);
  if (change.removeTags) {
    const drop = new Set(change.removeTags.map((t) => t.trim()));
    tags = tags.filter((t) => !drop.has(t));
  }
  if (tags.length > RUN_META_LIMITS.tags) throw new Error(`a run has at most ${RUN_META_LIMITS.tags} tags`);
  const notes = change.notes ?? meta.notes;
  if (notes.length > RUN_META_LIMITS.notes) throw new Error(`notes have at most ${RUN_META_LIMITS.notes} characters`);
  return { ...(displayName !== undefined ? { displayName } : {}), tags, notes };
}

/**
 * Change a run's meta.json (created when missing) and return what it now says. `dir` must be a run folder (it has
 * run.json); a damaged meta.json is an error rather than silently replaced.
 */
export function updateRunMeta(dir: string, change: RunMetaChange): RunMeta {
  readManifest(dir); // a run folder, of a version this build reads
  const next = applyRunMetaChange(readRunMeta(dir), change);
  const file: RunMetaFile = {
    format: RUN_META_FORMAT,
    version: RUN_META_VERSION,
    ...(next.displayName !== undefined ? { displayName: next.displayName } : {}),
    tags: next.tags,
    notes: next.notes,
    updated: new Date().toISOString(),
  };
  writeFileAtomic(path.join(dir, META_FILE), JSON.stringify(file, null, 2) + '\n');
  return next;
}

/** How a run is shown: its display name when it has one, else its name. */
export function runLabel(info: { name: string; meta?: Pick<RunMeta, 'displayName'> }): string {
  return info.meta?.displayName ?? info.name;
}
