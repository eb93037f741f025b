// `sbn experiment train --suite <name>`: Experiment 2 (docs/math.md §4) — every method of §4.3 on one model, each
// with its own lr search, evaluated as true SBNs, with a report (train.json, report.html, PNG figures). Ctrl-C stops
// after the current step with a checkpoint; the same command continues where it stopped.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, describeResume } from '../../engine/train/session';
import { releaseAbandonedRun } from '../../engine/runs';
import { runSuiteJobs } from '../../engine/experiments/suiteJobs';
import type { SweepExecutor } from '../../engine/sweeps/executor';
import { InProcessExecutor } from '../../engine/sweeps/inProcess';
import { EmbeddedPool, PoolError } from '../../engine/sweeps/pool';
import {
  checkQueueReachable,
  parseQueueUrl,
  QueueConfigError,
  QueueSweepExecutor,
  type QueueConnection,
} from '../../engine/sweeps/queue';
import {
  suiteReport,
  SuiteError,
  SUITE_METHODS,
  SUITES,
  type SuiteDefinition,
} from '../../engine/experiments/trainSuite';
import { writeExperimentReport } from '../../report';
import { startBackend } from '../backend';
import { CliError } from '../errors';
import { locateDataset } from '../../engine/data/store';
import { withEnvironmentHint } from '../../engine/environmentHint';
import { experimentEnvironment } from '../experiment';
import { parsePositiveInt } from '../inputs';
import { out } from '../io';
import { log } from '../log';
import { prepareOutputFolder } from '../outputs';
import { listenForStop } from '../stopSignal';
import { MAX_SWEEP_JOBS } from '../../engine/sweeps';
import { sweepWorkerEntry } from './sweep';
import { checkpointSeconds, versions } from './train';
import { formatBiasTable } from '../biasTable';

export const SUITE_NAMES = Object.keys(SUITES);

export interface ExperimentTrainOptions {
  suite: string;
  out?: string;
  methods?: string;
  epochs?: string;
  data?: string;
  limit?: string;
  png: boolean;
  backend?: string;
  jobs: string;
  seeds: string;
  queue?: string;
}

/** At most this many seeds per method (each is a full training run). */
export const MAX_SUITE_SEEDS = 100;

/**
 * What runs the suite's jobs: `--queue URL` the Redis queue that `sbn worker` processes on any machine serve;
 * `--jobs N` > 1 the embedded pool of N worker processes; `--jobs 1` none (this process trains the methods in turn,
 * as it always has).
 */
function suiteExecutor(
  o: ExperimentTrainOptions,
  jobs: number,
  queue: QueueConnection | undefined,
): SweepExecutor | undefined {
  if (queue) return new QueueSweepExecutor(queue, { log });
  if (jobs > 1)
    return new EmbeddedPool({
      jobs,
      workerEntry: sweepWorkerEntry(),
      workerArgs: o.backend ? ['--backend', o.backend] : [],
    });
  return undefined;
}

export function parseMethods(list: string | undefined): string[] {
  const all = SUITE_METHODS.map((m) => m.method);
  if (list === undefined) return all;
  const wanted = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = wanted.find((m) => !all.includes(m));
  if (unknown !== undefined)
    throw new CliError(`--methods: unknown method "${unknown}" (expected some of ${all.join(', ')})`);
  if (wanted.length === 0) throw new CliError('--methods: give at least one method');
  return all.filter((m) => wanted.includes(m));
}

export function suiteOf(name: string): SuiteDefinition {
  const suite = SUITES[name];
  if (!suite) throw new CliError(`--suite: unknown suite "${name}" (expected ${SUITE_NAMES.join(', ')})`);
  return suite;
}

const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : `${(100 * v).toFixed(2)}%`);

export async function experimentTrainCommand(o: ExperimentTrainOptions): Promise<void> {
  const suite = suiteOf(o.suite);
  const methods = parseMethods(o.methods);
  const epochs = o.epochs === undefined ? undefined : parsePositiveInt(o.epochs, '--epochs');
  const limit = o.limit === undefined ? undefined : parsePositiveInt(o.limit, '--limit');
  const jobs = parsePositiveInt(o.jobs, '--jobs', MAX_SWEEP_JOBS);
  const seeds = parsePositiveInt(o.seeds, '--seeds', MAX_SUITE_SEEDS);
  // before any folder is made: a bad URL or an unreachable Redis is one line
  let queue: QueueConnection | undefined;
  try {
    queue = o.queue === undefined ? undefined : parseQueueUrl(o.queue, '--queue');
    if (queue) await checkQueueReachable(queue);
  } catch (e) {
    if (e instanceof QueueConfigError) throw new CliError(e.message);
    throw e;
  }
  let dataPath: string | undefined;
  if (o.data !== undefined) {
    dataPath = path.resolve(o.data);
    if (!fs.existsSync(dataPath)) throw new CliError(`--data: ${dataPath}: no such folder`);
  } else if (suite.needsDataPath) {
    // the data-set store (`sbn data fetch cifar10`) when it holds CIFAR-10
    dataPath = locateDataset('cifar10')?.dir;
    if (!dataPath) {
      throw new CliError(
        withEnvironmentHint(
          `--data: suite ${suite.name} needs the folder of the CIFAR-10 binary batches ` +
            '(data_batch_1.bin … data_batch_5.bin, test_batch.bin), and the data-set store has none: ' +
            '`sbn data fetch cifar10` downloads them',
        ),
      );
    }
  }
  const dir = path.resolve(o.out ?? path.join('experiments', suite.name));
  prepareOutputFolder(dir, '--out');
  const backend = await startBackend(o.backend);
  const env = experimentEnvironment(backend);
  log(`suite ${suite.name}: ${suite.title}; ${methods.length} methods (${methods.join(', ')}); folder ${dir}`);
  const executor = suiteExecutor(o, jobs, queue);
  if (queue) log(`the runs go on the queue at ${queue.display}; start \`sbn worker --queue …\` on any machine`);
  else if (executor) log(`running on up to ${jobs} worker processes (--jobs ${jobs})`);
  if (seeds > 1) log(`seeds 1..${seeds}: seed 1 searches each method's rate, the others train at the rate it chose`);
  const runEnv = { backend: backend.name, backendDetail: backend.detail, versions: versions() };
  const labels = new Map(SUITE_METHODS.map((m) => [m.method, m.label]));

  const stop = listenForStop('second Ctrl-C: exiting at once (the last checkpoint of the current method is kept)');
  let current: string | undefined; // the run being trained, released if a second Ctrl-C exits at once
  stop.onExit(() => {
    if (current)
      releaseAbandonedRun(current, process.pid, `exited on a second Ctrl-C; ${describeResume(current)}`, 'stopped');
  });
  let outcome: 'finished' | 'stopped';
  try {
    outcome = await runSuiteJobs({
      suite,
      dir,
      methods,
      epochs,
      dataPath,
      limit,
      env: runEnv,
      executor,
      seedExecutor: new InProcessExecutor(runEnv, { checkpointSeconds: checkpointSeconds() }),
      seeds,
      shouldStop: stop.requested,
      onJob: (j) => {
        // this process trains a further seed itself when there is no executor: a second Ctrl-C releases it
        current = j.status === 'running' && !executor ? j.runDir : undefined;
        const tag = `${labels.get(j.method)}${j.seed > 1 || seeds > 1 ? ` seed ${j.seed}` : ''}`;
        const why = j.detail.reason ? `: ${j.detail.reason}` : '';
        if (j.status === 'running') log(`${tag}: training on ${j.detail.worker ?? '?'}, run ${j.runDir}`);
        else if (j.status === 'finished') log(`${tag}: done (${j.runDir})`);
        else log(`${tag}: ${j.status}${why}`);
      },
      onMethod: (m) => {
        current = m.action === 'start' || m.action === 'resume' ? m.runDir : undefined;
        const tag = `[${m.index + 1}/${m.count}] ${m.label}`;
        if (m.action === 'skip') log(`${tag}: done earlier (${m.runDir})`);
        else if (m.action === 'start') log(`${tag}: training, run ${m.runDir}`);
        else if (m.action === 'resume') log(`${tag}: continuing ${m.runDir}`);
      },
      onEvaluate: (method) => log(`${method}: test accuracy vs ${suite.testSamples} samples`),
      events: (method) => ({
        lrTrial: (e) =>
          log(
            `${method}: lr trial ${e.trial}: ` +
              `lr ${e.lr.toExponential(2)} → ${e.diverged ? 'diverged' : e.objective.toFixed(4)}`,
          ),
        epoch: (e) => log(`${method}: epoch ${e.epoch} objective ${e.loss.toFixed(4)} (${e.seconds.toFixed(1)} s)`),
        eval: (e) => {
          if (e.split === 'validation')
            log(
              `${method}: epoch ${e.epoch.toFixed(2)} validation ` +
                `u_loss ${e.u_loss.toFixed(4)} acc1 ${pct(e.acc1)} acc_e ${pct(e.acc_e)}`,
            );
        },
        message: (m) => log(`${method}: ${m}`),
      }),
    });
  } catch (e) {
    if (e instanceof SuiteError || e instanceof ConfigError || e instanceof PoolError) throw new CliError(e.message);
    throw e;
  } finally {
    stop.dispose();
  }
  const report = suiteReport(suite, dir, methods, env);
  const written = await writeExperimentReport(dir, report, { png: o.png });
  out(formatSuiteTable(report));
  if (report.bias) out(formatBiasTable(report.bias));
  for (const n of written.notes) log(n);
  log(`results: ${[written.json, written.html, ...written.pngs].filter(Boolean).join(', ')}`);
  if (outcome === 'stopped') log('stopped; the same command continues the suite where it stopped');
}

export function formatSuiteTable(r: ReturnType<typeof suiteReport>): string {
  const lines = [`${r.title} (${r.suite}); backend ${r.environment.backend}; PSA kernels ${r.environment.kernels}`];
  const head = [
    'method',
    'status',
    'lr',
    'epochs',
    's/epoch',
    'val u_loss',
    'val acc_e',
    'test acc (1)',
    'test acc (all)',
  ];
  const rows = r.methods.map((m) => {
    const v = m.curves.validation;
    const last = v.epoch.length - 1;
    const t = m.test;
    return [
      m.authors ? `${m.label} (authors' choice)` : m.label,
      m.status,
      m.lr === null ? '—' : `${m.lr.toExponential(2)}${m.lrCriterion === 'validation.u_loss' ? ' (grid)' : ''}`,
      String(m.epochs),
      m.secondsPerEpoch === null ? '—' : m.secondsPerEpoch.toFixed(1),
      last >= 0 ? v.u_loss[last].toFixed(4) : '—',
      last >= 0 ? pct(v.acc_e[last]) : '—',
      t ? pct(t.accuracy[0]) : '—',
      t ? `${pct(t.accuracy[t.accuracy.length - 1])} (${t.samples[t.samples.length - 1]})` : '—',
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const fmtRow = (row: string[]) =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  lines.push(fmtRow(head), ...rows.map(fmtRow));
  const withSeeds = r.methods.filter((m) => m.spread && m.seeds);
  if (withSeeds.length) lines.push('test acc (all samples) over seeds: mean ± sd [95 % interval]');
  for (const m of withSeeds) {
    const s = m.spread!['test.acc'];
    const finished = m.seeds!.filter((x) => x.status === 'finished').length;
    const stats =
      s?.mean == null
        ? '—'
        : `${pct(s.mean)}${s.sd === null ? '' : ` ± ${pct(s.sd)}`}` +
          (s.ci95 ? ` [${pct(s.ci95[0])}, ${pct(s.ci95[1])}]` : '');
    lines.push(`${m.label.padEnd(widths[0])}  ${stats} (${finished}/${m.seeds!.length} seeds)`);
  }
  return lines.join('\n') + '\n';
}
