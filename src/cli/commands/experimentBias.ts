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
import { formatBiasTable } from '../biasTable';
import { ConfigError } from '../../engine/train/session';
import { writeExperimentReport } from '../../report';
import { startBackend } from '../backend';
import { CliError } from '../errors';
import { experimentEnvironment } from '../experiment';
import { parsePositiveInt, parsePositiveNumber, parseSeed } from '../inputs';
import { out } from '../io';
import { log } from '../log';
import { parseMethods, suiteOf } from './experimentTrain';
import type { ExperimentEnvironment } from '../../engine/experiments/types';
import type { BackendInfo } from '../../engine/backend';

/** The environment recorded by the suite's last `sbn experiment train` report, or this command's when there is none. */
function trainingEnvironment(dir: string, backend: BackendInfo): ExperimentEnvironment {
  try {
    const earlier = JSON.parse(fs.readFileSync(path.join(dir, 'train.json'), 'utf8')) as {
      environment?: ExperimentEnvironment;
    };
    if (earlier.environment && typeof earlier.environment.command === 'string') return earlier.environment;
  } catch {
    // no report yet, or an unreadable one: this command's environment
  }
  return experimentEnvironment(backend);
}

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
  // the report's environment stays the training's (its command reproduces the results); this command adds the bias
  const report = suiteReport(suite, dir, trained.length ? trained : methods, trainingEnvironment(dir, backend));
  const written = await writeExperimentReport(dir, report, { png: o.png });
  out(formatBiasTable(entries));
  for (const n of written.notes) log(n);
  log(`results: ${[path.join(dir, 'bias.json'), written.json, written.html, ...written.pngs].join(', ')}`);
}
