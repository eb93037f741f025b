// `sbn experiment bias --suite <name>`: the per-layer bias of the suite's estimators against the diagnostics
// reference, at initialisation and at the end of each method's seed-1 run (src/engine/experiments/suiteBias.ts);
// written to bias.json in the suite folder and shown in the suite's report. Entries measured earlier with the same
// settings are kept: run it again after the training has gone further and it measures only what is new.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BiasFileError } from '../../engine/experiments/biasFile';
import { runSuiteBias, type SuiteBiasOptions } from '../../engine/experiments/suiteBias';
import { readSuiteState, suiteReport, SuiteError, SUITE_METHODS } from '../../engine/experiments/trainSuite';
import type { SuiteBiasEntry } from '../../engine/experiments/types';
import { ConfigError } from '../../engine/train/session';
import { writeExperimentReport } from '../../report';
import { startBackend } from '../backend';
import { CliError } from '../errors';
import { experimentEnvironment } from '../experiment';
import { parsePositiveInt, parsePositiveNumber, parseSeed } from '../inputs';
import { out } from '../io';
import { log } from '../log';
import { parseMethods, suiteOf } from './experimentTrain';

export interface ExperimentBiasOptions {
  suite: string;
  out?: string;
  methods: string;
  draws: string;
  examples: string;
  referenceDraws: string;
  referenceError: string;
  seed: string;
  data?: string;
  limit?: string;
  png: boolean;
  backend?: string;
}

export async function experimentBiasCommand(o: ExperimentBiasOptions): Promise<void> {
  const suite = suiteOf(o.suite);
  const methods = parseMethods(o.methods);
  const draws = parsePositiveInt(o.draws, '--draws');
  if (draws < 2) throw new CliError(`--draws: expected at least 2 (a standard error needs two), got ${draws}`);
  const examples = parsePositiveInt(o.examples, '--examples');
  const referenceDraws = parsePositiveInt(o.referenceDraws, '--reference-draws');
  if (referenceDraws < 2) throw new CliError(`--reference-draws: expected at least 2, got ${referenceDraws}`);
  const referenceError = parsePositiveNumber(o.referenceError, '--reference-error');
  const seed = parseSeed(o.seed);
  const limit = o.limit === undefined ? undefined : parsePositiveInt(o.limit, '--limit');
  const dataPath = o.data === undefined ? undefined : path.resolve(o.data);
  if (dataPath !== undefined && !fs.existsSync(dataPath)) throw new CliError(`--data: ${dataPath}: no such folder`);
  const dir = path.resolve(o.out ?? path.join('experiments', suite.name));
  if (!fs.existsSync(path.join(dir, 'suite.json')))
    throw new CliError(
      `--out: ${dir}: no suite folder (no suite.json); start the suite first: ` +
        `sbn experiment train --suite ${suite.name}${o.out ? ` --out ${o.out}` : ''}`,
    );
  const backend = await startBackend(o.backend);
  const options: SuiteBiasOptions = {
    suite,
    dir,
    methods,
    draws,
    examples,
    seed,
    reference: { maxDraws: referenceDraws, targetError: referenceError },
    dataPath,
    limit,
    onEntry: (e) => {
      const where = e.stage === 'init' ? 'at initialisation' : 'at the end of seed 1';
      if (e.action === 'skip') log(`${e.method} ${where}: measured earlier`);
      else if (e.action === 'done') log(`${e.method} ${where}: measured`);
      else log(`${e.method} ${where}: its seed-1 run has not ended yet; run this command again when it has`);
    },
    onNote: (text) => log(text),
  };
  log(
    `suite ${suite.name}: per-layer bias of ${methods.join(', ')} on ${examples} training examples, ` +
      `${draws} draws each; reference: up to ${referenceDraws} draws, target relative error ${referenceError}`,
  );
  let entries: SuiteBiasEntry[];
  try {
    entries = runSuiteBias(options).entries;
  } catch (e) {
    if (e instanceof SuiteError || e instanceof ConfigError || e instanceof BiasFileError)
      throw new CliError(e.message);
    throw e;
  }
  // the report covers the methods the suite has trained (or, before any, those measured here)
  const state = readSuiteState(dir, suite.name);
  const trained = SUITE_METHODS.map((m) => m.method).filter((m) => state.methods[m]);
  const report = suiteReport(suite, dir, trained.length ? trained : methods, experimentEnvironment(backend));
  const written = await writeExperimentReport(dir, report, { png: o.png });
  out(formatBiasTable(entries));
  for (const n of written.notes) log(n);
  log(`results: ${[path.join(dir, 'bias.json'), written.json, written.html, ...written.pngs].join(', ')}`);
}

const num = (v: number, digits = 3): string => (Number.isFinite(v) ? v.toFixed(digits) : '—');

/** One row per entry and layer: cosine and relative error of the mean gradient, with both standard errors. */
export function formatBiasTable(entries: SuiteBiasEntry[]): string {
  const order = SUITE_METHODS.map((m) => m.method);
  const sorted = [...entries].sort(
    (a, b) =>
      (a.stage === b.stage ? 0 : a.stage === 'init' ? -1 : 1) || order.indexOf(a.method) - order.indexOf(b.method),
  );
  const head = ['stage', 'method', 'layer', 'cos', 'rel. error', 'noise floor', 'mean SE', 'ref. SE', 'reference', 's'];
  const rows = sorted.flatMap((e) =>
    e.layers.map((l) => [
      e.stage === 'init' ? 'init' : `epoch ${e.epoch}`,
      e.method,
      l.layer,
      num(l.cos),
      `${num(l.relativeError)}${l.relativeError < 2 * l.noiseFloor ? ' (noise)' : ''}`,
      num(l.noiseFloor),
      num(l.meanError),
      num(l.referenceError),
      `${e.reference} (${e.referenceDraws})`,
      e.seconds.toFixed(1),
    ]),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return (
    'per-layer bias of the mean gradient against the reference (cos: cosine; rel. error: ‖mean − ref‖/‖ref‖; ' +
    'SE: relative standard errors; noise floor: √(mean SE² + ref. SE²), "(noise)": below twice it, no evidence ' +
    'of bias either way — more --reference-draws lower it)\n' +
    [line(head), ...rows.map(line)].join('\n') +
    '\n'
  );
}
