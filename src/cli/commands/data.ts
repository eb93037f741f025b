// `sbn data fetch <name>` downloads a built-in data set into the data-set store (checksummed, resumable);
// `sbn data list` shows where each one is found, in the engine's lookup order (src/engine/data/store.ts).
import * as path from 'node:path';
import {
  DATA_DIR_ENV,
  DATA_MIRROR_ENV,
  DATASET_CATALOG,
  STORED_DATASETS,
  FetchError,
  dataStoreDirs,
  datasetLocations,
  fetchDataset,
  fetchErrorAdvice,
  isStoredDataset,
  type FetchProgress,
} from '../../engine/data';
import { CliError } from '../errors';
import { log } from '../log';

export interface DataCliOptions {
  dir?: string;
  mirror?: string;
  json?: boolean;
}

/** The store `--dir` names, or $SBN_DATA_DIR, or the per-user store. */
function storeDir(o: DataCliOptions): string {
  return path.resolve(o.dir ?? dataStoreDirs()[0]);
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** Progress on stderr: a line that rewrites itself on a terminal, a line per file and phase otherwise. */
function progressPrinter(): (p: FetchProgress) => void {
  const tty = process.stderr.isTTY;
  let lastKey = '';
  let lastAt = 0;
  return (p) => {
    const key = `${p.file}:${p.phase}`;
    const now = Date.now();
    const pct = p.total ? ` ${((100 * p.received) / p.total).toFixed(0)}%` : '';
    const doing =
      p.phase === 'download'
        ? `${mib(p.received)}${p.total ? ` of ${mib(p.total)}` : ''}${pct}`
        : p.phase === 'verify'
          ? 'checking SHA-256'
          : 'extracting';
    const text = `[${p.index}/${p.files}] ${p.file}: ${doing}`;
    if (tty) {
      if (key !== lastKey && lastKey) process.stderr.write('\n');
      if (key !== lastKey || now - lastAt > 200 || p.received === p.total)
        process.stderr.write(`\r\x1b[2Ksbn: ${text}`);
    } else if (key !== lastKey) {
      log(text);
    }
    if (key !== lastKey || now - lastAt > 200) lastAt = now;
    lastKey = key;
  };
}

export async function dataFetchCommand(name: string, o: DataCliOptions): Promise<void> {
  if (!isStoredDataset(name))
    throw new CliError(`data fetch: unknown data set "${name}" (expected one of ${STORED_DATASETS.join(', ')})`);
  if (o.mirror !== undefined) {
    try {
      const u = new URL(o.mirror);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    } catch {
      throw new CliError(`--mirror: expected an http:// or https:// URL, got "${o.mirror}"`);
    }
  }
  const dir = storeDir(o);
  const progress = progressPrinter();
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    const r = await fetchDataset(name, { dir, mirror: o.mirror, onProgress: progress, signal: abort.signal });
    if (process.stderr.isTTY) process.stderr.write('\n');
    log(
      r.downloaded.length ? `${name}: downloaded ${r.downloaded.join(', ')}` : `${name}: already complete and verified`,
    );
    process.stdout.write(`${r.dir}\n`);
  } catch (e) {
    if (process.stderr.isTTY) process.stderr.write('\n');
    if (e instanceof FetchError) throw new CliError(fetchErrorAdvice(e, `--mirror <url> (or $${DATA_MIRROR_ENV})`));
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export function dataListCommand(o: DataCliOptions): void {
  if (o.dir) process.env[DATA_DIR_ENV] = path.resolve(o.dir);
  const sets = STORED_DATASETS.map((name) => {
    const locations = datasetLocations(name);
    return { name, title: DATASET_CATALOG[name].title, found: locations.find((l) => l.found) ?? null, locations };
  });
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ stores: dataStoreDirs(), datasets: sets }, null, 2)}\n`);
    return;
  }
  const lines = [
    `data-set stores (searched in this order; downloads go to the first): ${dataStoreDirs().join(', ')}`,
    '',
  ];
  for (const s of sets) {
    lines.push(`${s.name.padEnd(14)} ${s.found ? `found: ${s.found.label}` : `missing: sbn data fetch ${s.name}`}`);
    for (const l of s.locations) lines.push(`${' '.repeat(15)}${l.found ? '✓' : '·'} ${l.label}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
