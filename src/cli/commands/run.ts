// `sbn run set <run-folder>`: a run's display name, tags and notes (its meta.json, docs/run-format.md); without a
// change it prints what they are. The same file the VS Code extension's Rename / Edit Tags / Edit Notes write.
import * as fs from 'node:fs';
import {
  RUN_META_LIMITS,
  displayNameProblem,
  parseTagList,
  readManifest,
  readRunMeta,
  runLabel,
  updateRunMeta,
  type RunMeta,
  type RunMetaChange,
} from '../../engine/runs';
import { CliError } from '../errors';
import { out } from '../io';

export interface RunSetCliOptions {
  name?: string;
  clearName?: boolean;
  tags?: string;
  tag?: string[];
  untag?: string[];
  notes?: string;
  notesFile?: string;
  json?: boolean;
}

/** A value of a flag as a user error naming the flag (exit code 2). */
function flagValue<T>(flag: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new CliError(`${flag}: ${(e as Error).message}`);
  }
}

export function runSetCommand(runDir: string, o: RunSetCliOptions): void {
  let name: string;
  try {
    name = readManifest(runDir).name;
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  if (o.name !== undefined && o.clearName) throw new CliError('--name and --clear-name cannot be given together');
  if (o.notes !== undefined && o.notesFile !== undefined)
    throw new CliError('--notes and --notes-file cannot be given together');
  const change: RunMetaChange = {};
  if (o.name !== undefined) {
    const problem = displayNameProblem(o.name.trim());
    if (problem) throw new CliError(`--name: ${problem}${o.name.trim() === '' ? ' (--clear-name removes it)' : ''}`);
    change.displayName = o.name;
  }
  if (o.clearName) change.displayName = null;
  if (o.tags !== undefined) change.tags = flagValue('--tags', () => parseTagList(o.tags!));
  if (o.tag?.length) change.addTags = flagValue('--tag', () => parseTagList(o.tag!.join(',')));
  if (o.untag?.length) change.removeTags = o.untag.flatMap((t) => t.split(',')).map((t) => t.trim());
  if (o.notes !== undefined) change.notes = o.notes;
  if (o.notesFile !== undefined) {
    const file = o.notesFile;
    change.notes = flagValue('--notes-file', () => {
      try {
        return fs.readFileSync(file, 'utf8');
      } catch (e) {
        throw new Error(`cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
          cause: e,
        });
      }
    });
  }
  if (change.notes !== undefined && change.notes.length > RUN_META_LIMITS.notes)
    throw new CliError(
      `${o.notesFile ? '--notes-file' : '--notes'}: notes have at most ${RUN_META_LIMITS.notes} characters`,
    );
  let meta: RunMeta;
  try {
    meta = Object.keys(change).length > 0 ? updateRunMeta(runDir, change) : readRunMeta(runDir);
  } catch (e) {
    // the flags' values are checked above; what is left is the run's meta.json or the tag count
    throw new CliError((e as Error).message);
  }
  if (o.json) {
    out(JSON.stringify({ run: runDir, name, ...meta }) + '\n');
    return;
  }
  out(
    [
      `run:   ${runDir}`,
      `name:  ${runLabel({ name, meta })}${meta.displayName !== undefined ? ` (folder name ${name})` : ''}`,
      `tags:  ${meta.tags.length ? meta.tags.join(', ') : '(none)'}`,
      `notes: ${meta.notes === '' ? '(none)' : meta.notes.replace(/\n/g, '\n       ')}`,
    ].join('\n') + '\n',
  );
}
