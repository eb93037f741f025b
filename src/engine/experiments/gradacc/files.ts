// The JSON files of the experiment's output folder: a missing or unreadable one is work still to do.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../files';

export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify(value, null, 1) + '\n');
}
