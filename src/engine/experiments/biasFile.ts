// bias.json in a suite folder: the per-layer bias entries `sbn experiment bias` measured (suiteBias.ts). Apart from
// the measuring code so that the suite's report (trainSuite.ts suiteReport) reads it without importing the engine's
// gradient machinery.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SuiteBiasEntry } from './types';

export const BIAS_FILE = 'bias.json';

export interface SuiteBiasFile {
  format: 'sbn-suite-bias';
  version: 1;
  entries: SuiteBiasEntry[];
}

export class BiasFileError extends Error {}

/** The entries of a suite folder's bias.json; none when it has no such file. */
export function readSuiteBias(dir: string): SuiteBiasEntry[] {
  const file = path.join(dir, BIAS_FILE);
  if (!fs.existsSync(file)) return [];
  let data: SuiteBiasFile;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8')) as SuiteBiasFile;
  } catch (e) {
    throw new BiasFileError(`${file}: not readable JSON (${(e as Error).message}); remove it to measure again`);
  }
  if (data?.format !== 'sbn-suite-bias' || !Array.isArray(data.entries))
    throw new BiasFileError(`${file}: format: expected "sbn-suite-bias" with an entries array`);
  return data.entries;
}
