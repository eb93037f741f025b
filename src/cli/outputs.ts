// Where a command writes, checked before it does its work: a result computed for minutes and then lost to a bad
// --out is worse than a refusal at the start.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError, fileSystemProblem } from './errors';

function problemOf(e: unknown, flag: string, fallback: string): CliError {
  const p = fileSystemProblem(e);
  if (p) return new CliError(`${flag}: ${p.path ?? fallback}: ${p.what} (${p.code})`);
  return new CliError(`${flag}: ${fallback}: ${(e as Error).message}`);
}

/** Creates `dir` (and its parents) if needed and checks that it is a folder this process can write to. */
export function prepareOutputFolder(dir: string, flag: string): void {
  // The nearest part of the path that exists: it must be a folder, and writable when something is to be created in it.
  let existing = path.resolve(dir);
  let st: fs.Stats | undefined;
  for (;;) {
    try {
      st = fs.statSync(existing);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw problemOf(e, flag, dir);
      const up = path.dirname(existing);
      if (up === existing) throw new CliError(`${flag}: ${dir}: no part of the path exists`);
      existing = up;
    }
  }
  const shown = existing === path.resolve(dir) ? dir : existing;
  if (!st.isDirectory())
    throw new CliError(`${flag}: ${shown} is a file, not a folder; give a folder (it is created if missing)`);
  try {
    fs.accessSync(existing, fs.constants.W_OK | fs.constants.X_OK);
    if (existing !== path.resolve(dir)) fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw problemOf(e, flag, dir);
  }
}

/** Checks that `file` can be written: not a folder, in a folder that exists (it is created) and is writable. */
export function prepareOutputFile(file: string, flag: string): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file, { throwIfNoEntry: false });
  } catch (e) {
    throw problemOf(e, flag, file);
  }
  if (st?.isDirectory())
    throw new CliError(`${flag}: ${file} is a folder; give a file name, e.g. ${path.join(file, 'results.json')}`);
  if (st && !st.isFile()) throw new CliError(`${flag}: ${file} is not a regular file; give a file name`);
  prepareOutputFolder(path.dirname(path.resolve(file)), flag);
}
