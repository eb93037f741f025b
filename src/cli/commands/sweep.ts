// `sbn sweep`: a sweep file expanded into a sweep folder and run by the embedded pool (--jobs N worker processes on
// this machine), or a sweep folder continued (--resume); a progress line per change and a summary and the report at
// the end. `sbn sweep report`: the report of a sweep folder as it is now. docs/sweeps.md.
import type { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatSpecError } from '../../engine/spec';
import {
  createSweepFolder,
  loadSweepFile,
  MAX_SWEEP_JOBS,
  newSweepFolderName,
  readSweepState,
  SweepFolderError,
  SweepStateError,
  SWEEPS_FOLDER,
  type PointStatus,
  type SweepPoint,
  type SweepState,
} from '../../engine/sweeps';
import { EmbeddedPool, PoolError } from '../../engine/sweeps/pool';
import { checkQueueReachable, parseQueueUrl, QueueConfigError, QueueSweepExecutor } from '../../engine/sweeps/queue';
import { runCountText, type SweepReport } from '../../engine/sweeps/report';
import { runSweep } from '../../engine/sweeps/run';
import { writeSweepReport } from '../../report/sweepHtml';
import { CliError } from '../errors';
import { parsePositiveInt } from '../inputs';
import { out } from '../io';
import { log } from '../log';
import { prepareOutputFolder } from '../outputs';
import { listenForStop } from '../stopSignal';

export interface SweepCliOptions {
  out?: string;
  jobs: string;
  queue?: string;
  resume?: string;
  backend?: string;
}

/** dist/sweepWorker.js: beside the CLI bundle (dist/cli.js), or above a bundled test (dist/test/unit). */
export function sweepWorkerEntry(): string {
  for (let dir = __dirname, i = 0; i < 5; i++, dir = path.dirname(dir)) {
    for (const candidate of [path.join(dir, 'sweepWorker.js'), path.join(dir, 'dist', 'sweepWorker.js')])
      if (fs.existsSync(candidate)) return candidate;
  }
  throw new CliError(`the sweep worker (dist/sweepWorker.js) is missing; run \`npm run build\``, 1);
}

function describePoint(p: SweepPoint, state: SweepState): string {
  const values = state.fields.map((f) => `${f}=${JSON.stringify(p.overrides[f])}`).join(' ');
  return `point ${p.index} seed ${p.seed} (${values})`;
}

function fmt(v: number | null | undefined): string {
  return typeof v === 'number' ? Number(v.toPrecision(4)).toString() : 'n/a';
}

/** The end-of-sweep table: per grid point, the objective's mean ± sd and 95 % interval over seeds. */
function summaryText(dir: string, r: SweepReport, files: string[]): string {
  const { metric, mode } = r.objective;
  const lines = ['', `Sweep ${dir}: objective ${metric} (${mode}), mean ± sd [95 % CI] over seeds`];
  for (const p of r.points) {
    const s = p.metrics[metric];
    const values = r.fields.map((f) => `${f}=${JSON.stringify(p.values[f])}`).join(' ');
    const stats =
      s?.mean == null
        ? 'n/a'
        : `${fmt(s.mean)} ± ${fmt(s.sd)}${s.ci95 ? ` [${fmt(s.ci95[0])}, ${fmt(s.ci95[1])}]` : ''}`;
    const runs = runCountText(p);
    lines.push(`${p.index === r.best ? '*' : ' '} ${String(p.index).padStart(3)}  ${values}  ${stats}  (${runs})`);
  }
  lines.push(`report: ${files.join(', ')}`, '');
  return lines.join('\n');
}

function userError(e: unknown): never {
  if (
    e instanceof SweepStateError ||
    e instanceof SweepFolderError ||
    e instanceof PoolError ||
    e instanceof QueueConfigError
  )
    throw new CliError(e.message);
  throw e;
}

export async function sweepCommand(sweepFile: string | undefined, o: SweepCliOptions): Promise<void> {
  const jobs = parsePositiveInt(o.jobs, '--jobs', MAX_SWEEP_JOBS);
  // before any folder is made: a bad URL or an unreachable Redis is one line
  let queue;
  try {
    queue = o.queue === undefined ? undefined : parseQueueUrl(o.queue, '--queue');
    if (queue) await checkQueueReachable(queue);
  } catch (e) {
    userError(e);
  }
  let dir: string;
  let state: SweepState;
  try {
    if (o.resume) {
      if (sweepFile)
        throw new CliError('--resume: a sweep folder is continued as it was made; give no sweep file with it');
      if (o.out) throw new CliError('--out: not with --resume (the sweep folder is the one given to --resume)');
      dir = o.resume;
      state = readSweepState(dir);
    } else {
      if (!sweepFile) throw new CliError('sweep: give a sweep file (*.sbn-sweep.yaml), or --resume <sweep folder>');
      if (/\.sbn\.(json|ya?ml)$/i.test(sweepFile))
        throw new CliError(
          `${sweepFile}: a model file; sbn sweep takes a sweep file (*.sbn-sweep.yaml) that names one (docs/sweeps.md)`,
        );
      const parsed = loadSweepFile(sweepFile);
      if (!parsed.ok) {
        const n = parsed.errors.length - 1;
        const more = n > 0 ? ` (and ${n} more error${n > 1 ? 's' : ''})` : '';
        throw new CliError(formatSpecError(parsed.errors[0]) + more);
      }
      dir = o.out ?? path.join(SWEEPS_FOLDER, newSweepFolderName(sweepFile));
      prepareOutputFolder(dir, '--out');
      state = createSweepFolder(dir, sweepFile, parsed.text ?? '', parsed.sweep);
      log(
        `sweep ${dir}: ${state.points.length} runs (${new Set(state.points.map((p) => p.index)).size} points × seeds)`,
      );
    }
  } catch (e) {
    userError(e);
  }

  const total = state.points.length;
  const left = state.points.filter((p) => p.status === 'waiting' || p.status === 'running').length;
  if (o.resume) log(`resuming sweep ${dir}: ${total - left} of ${total} runs done, ${left} to run`);
  const stop = listenForStop(`second Ctrl-C: exiting at once; continue with sbn sweep --resume ${dir}`);
  const controller = new AbortController();
  const poll = setInterval(() => {
    if (stop.requested() && !controller.signal.aborted) controller.abort();
  }, 200);
  const pool = queue
    ? new QueueSweepExecutor(queue, { log })
    : new EmbeddedPool({
        jobs,
        workerEntry: sweepWorkerEntry(),
        workerArgs: o.backend ? ['--backend', o.backend] : [],
      });
  const workers = Math.min(jobs, left);
  if (queue) log(`${left} runs on the queue at ${queue.display}; start \`sbn worker --queue …\` on any machine`);
  else if (workers > 0) log(`running on ${workers} worker process${workers === 1 ? '' : 'es'} (--jobs ${jobs})`);
  let result;
  try {
    result = await runSweep(dir, pool, {
      signal: controller.signal,
      onStatus: (p, counts: Record<PointStatus, number>, now) => {
        const done = counts.finished + counts.failed;
        const what =
          p.status === 'finished'
            ? `finished: ${now.objective.metric} ${fmt(p.metrics?.[now.objective.metric])}`
            : p.status === 'failed'
              ? `failed: ${p.reason ?? ''}`
              : p.status === 'running'
                ? `running on ${p.worker ?? '?'}${(p.attempts ?? 1) > 1 ? ` (attempt ${p.attempts})` : ''}`
                : `waiting: ${p.reason ?? ''}`;
        log(`[${done}/${total}] ${describePoint(p, now)} ${what}`);
      },
    });
  } catch (e) {
    userError(e);
  } finally {
    clearInterval(poll);
    stop.dispose();
  }
  const { report, files } = writeSweepReport(dir);
  out(summaryText(dir, report, files));
  const { counts } = result;
  if (result.stopped) {
    log(`stopped: ${counts.finished + counts.failed} of ${total} runs done; continue with sbn sweep --resume ${dir}`);
    return;
  }
  if (counts.failed > 0 || counts.waiting > 0)
    throw new CliError(
      `sweep ${dir}: ${counts.finished} finished, ${counts.failed} failed` +
        (counts.waiting ? `, ${counts.waiting} not run (continue with sbn sweep --resume ${dir})` : '') +
        ' (see sweep.json for the reasons)',
      1,
    );
  log(`sweep ${dir}: all ${total} runs finished`);
}

export function sweepReportCommand(dir: string, own: { out?: string }, command: Command): void {
  // commander gives `--out` after `report` to `sbn sweep`, which has an --out of its own
  const o = { out: own.out ?? command.parent?.opts<{ out?: string }>().out };
  try {
    readSweepState(dir);
    if (o.out) prepareOutputFolder(o.out, '--out');
    const { report, files } = writeSweepReport(dir, o.out ?? dir);
    out(summaryText(dir, report, files));
  } catch (e) {
    userError(e);
  }
}
