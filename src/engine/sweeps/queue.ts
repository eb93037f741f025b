// The sweep executor on a job queue: BullMQ on Redis. `sbn sweep --queue URL` puts the points on the queue and
// follows them (QueueSweepExecutor); `sbn worker --queue URL` on any machine takes them and runs each with
// runSweepJob (runQueueWorker). Redis only carries the jobs: the run folders, on storage every worker sees, hold the
// training state, and sweep.json holds the sweep's — so a job run twice resumes its run folder, a worker killed
// mid-run leaves a checkpoint the next one continues, and a Redis that lost its data is refilled from the sweep.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DelayedError, Queue, QueueEvents, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import IORedis, { type RedisOptions } from 'ioredis';
import { RUN_FILE } from '../runs';
import { runSweepJob, workerName, type SweepExecutor, type SweepExecutorHooks, type SweepJob } from './executor';
import type { Environment } from '../train/session';
import type { FinalMetrics, PointStatus } from './format';

/**
 * The one queue every sweep of a Redis database uses. One queue (not one per sweep) lets a worker serve whatever
 * sweep is running with exactly `--concurrency` runs at a time; the job id (sweepJobId) names the sweep and point.
 */
export const SWEEP_QUEUE_NAME = 'sbn-sweeps';

/** Where the password comes from when the URL has none. */
export const REDIS_PASSWORD_ENV = 'SBN_REDIS_PASSWORD';

/** A user-fixable problem with the queue: a bad URL or setting, a Redis that cannot be reached. */
export class QueueConfigError extends Error {}

/** A parsed `redis://` / `rediss://` URL: what ioredis needs, and how to show it (never with the password). */
export interface QueueConnection {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
  /** The URL as it may be printed: the password, if any, as `***`. */
  display: string;
}

const DEFAULT_REDIS_PORT = 6379;

/** Any URL password in `text` (redis://user:PASSWORD@…, or any other scheme) replaced by `***`. */
export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):([^\s/@]*)@/gi, (_m, scheme: string, user: string) => {
    return `${scheme}${user}:***@`;
  });
}

/** `text` with the connection's password (and any password in a URL) replaced by `***`. */
export function scrubSecrets(text: string, connection?: Pick<QueueConnection, 'password'>): string {
  let out = redactUrl(text);
  const secret = connection?.password;
  if (secret) out = out.split(secret).join('***');
  return out;
}

/**
 * `redis://[USER:PASSWORD@]HOST[:PORT][/DB]` or `rediss://…` (TLS). The password may instead come from
 * SBN_REDIS_PASSWORD. Errors name `flag` and show the URL redacted.
 */
export function parseQueueUrl(raw: string, flag = '--queue', env: NodeJS.ProcessEnv = process.env): QueueConnection {
  const shown = redactUrl(raw);
  const expected = `expected redis://HOST:PORT[/DB] or rediss://HOST:PORT[/DB] (TLS), got "${shown}"`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new QueueConfigError(`${flag}: ${expected}`);
  }
  const scheme = url.protocol.toLowerCase();
  if (scheme !== 'redis:' && scheme !== 'rediss:') throw new QueueConfigError(`${flag}: ${expected}`);
  if (url.hostname === '') throw new QueueConfigError(`${flag}: no host in "${shown}"; ${expected}`);
  if (url.search !== '' || url.hash !== '')
    throw new QueueConfigError(`${flag}: "${shown}" has a query or fragment; ${expected}`);
  const port = url.port === '' ? DEFAULT_REDIS_PORT : Number(url.port);
  const dbText = url.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d{1,5}$/.test(dbText))
    throw new QueueConfigError(
      `${flag}: the database "/${dbText}" must be a number (redis://HOST:PORT/0); got "${shown}"`,
    );
  const db = dbText === '' ? 0 : Number(dbText);
  const username = url.username === '' ? undefined : decodeURIComponent(url.username);
  const fromUrl = url.password === '' ? undefined : decodeURIComponent(url.password);
  const fromEnv = env[REDIS_PASSWORD_ENV];
  const password = fromUrl ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const hostShown = host.includes(':') ? `[${host}]` : host;
  const auth = fromUrl !== undefined ? `${username ?? ''}:***@` : username !== undefined ? `${username}@` : '';
  const display = `${scheme}//${auth}${hostShown}:${port}/${db}`;
  return { host, port, db, username, password, tls: scheme === 'rediss:', display };
}

/** The same connection as a URL without the password (the password travels in SBN_REDIS_PASSWORD instead). */
export function urlWithoutPassword(c: QueueConnection): string {
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  const user = c.username !== undefined ? `${encodeURIComponent(c.username)}@` : '';
  return `${c.tls ? 'rediss' : 'redis'}://${user}${host}:${c.port}/${c.db}`;
}

function redisOptions(c: QueueConnection): RedisOptions {
  return {
    host: c.host,
    port: c.port,
    db: c.db,
    ...(c.username !== undefined ? { username: c.username } : {}),
    ...(c.password !== undefined ? { password: c.password } : {}),
    ...(c.tls ? { tls: { servername: c.host } } : {}),
  };
}

/** Timings of the queue, from the environment (tests shorten them); defaults suit runs of minutes to days. */
export interface QueueSettings {
  /** How long a worker's claim on a job lasts without renewal (it renews it every half of it while alive). */
  lockMs: number;
  /** How often workers look for jobs whose worker died (their claim expired) and put them back. */
  stalledMs: number;
  /** How often a job may be put back after its worker died before it is failed. */
  maxStalled: number;
  /** Attempts of a job that fails for its environment's reasons (a file-system error, the folder not visible). */
  attempts: number;
  /** Delay before the second attempt; doubled at every further one. */
  backoffMs: number;
  /** How often the sweep checks every job it waits for (besides the queue's events). */
  pollMs: number;
}

/** Each setting: its environment variable, default and lower bound. */
export const QUEUE_SETTINGS: Record<keyof QueueSettings, { env: string; default: number; min: number }> = {
  lockMs: { env: 'SBN_QUEUE_LOCK_MS', default: 60_000, min: 1000 },
  stalledMs: { env: 'SBN_QUEUE_STALLED_MS', default: 30_000, min: 500 },
  maxStalled: { env: 'SBN_QUEUE_MAX_STALLED', default: 5, min: 0 },
  attempts: { env: 'SBN_QUEUE_ATTEMPTS', default: 8, min: 1 },
  backoffMs: { env: 'SBN_QUEUE_BACKOFF_MS', default: 5000, min: 0 },
  pollMs: { env: 'SBN_QUEUE_POLL_MS', default: 2000, min: 50 },
};

export function queueSettings(env: NodeJS.ProcessEnv = process.env): QueueSettings {
  const out = {} as QueueSettings;
  for (const [key, s] of Object.entries(QUEUE_SETTINGS) as [keyof QueueSettings, (typeof QUEUE_SETTINGS)['lockMs']][]) {
    const raw = env[s.env];
    if (raw === undefined || raw === '') {
      out[key] = s.default;
      continue;
    }
    const v = Number(raw);
    if (!Number.isInteger(v) || v < s.min)
      throw new QueueConfigError(`${s.env}: expected an integer ≥ ${s.min}, got "${raw}"`);
    out[key] = v;
  }
  return out;
}

/** Connects once, quickly, to say clearly when Redis cannot be reached or refuses the password. */
export async function checkQueueReachable(c: QueueConnection, timeoutMs = 5000): Promise<void> {
  const client = new IORedis({
    ...redisOptions(c),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // the connection's own error says more than the "Connection is closed." a failed connect() rejects with
  let cause: Error | undefined;
  client.on('error', (e: Error) => {
    cause ??= e;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    const message = scrubSecrets((cause ?? (e as Error)).message, c);
    const hint = /NOAUTH|WRONGPASS|AUTH/i.test(message)
      ? `give the password in the URL or in ${REDIS_PASSWORD_ENV}`
      : 'is redis-server running there, and reachable from this machine?';
    throw new QueueConfigError(`--queue: cannot use Redis at ${c.display}: ${message} (${hint})`);
  } finally {
    client.disconnect();
  }
}

/** What a worker reports while it runs a job (the job's progress in the queue). */
interface JobProgressRecord {
  worker: string;
  /** job.attemptsStarted when it was written: progress of an earlier attempt is not this one's. */
  attempt: number;
  step?: number;
  totalSteps?: number;
  epoch?: number;
  loss?: number;
  /** Why the worker put the job back (stopped, or the run folder busy), for the sweep's record. */
  requeued?: string;
}

/** What a finished job returns. */
interface JobResult {
  metrics: FinalMetrics;
  note: string;
  worker: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A job's data as a SweepJob; it comes from the network, so every field is checked. */
export function checkJobData(data: unknown): SweepJob {
  const bad = (field: string) => new UnrecoverableError(`the job's data is not a sweep point (${field})`);
  if (!isRecord(data)) throw bad('not an object');
  for (const k of ['sweepDir', 'pointId', 'jobId', 'runDir', 'modelFile'] as const)
    if (typeof data[k] !== 'string' || data[k] === '') throw bad(k);
  for (const k of ['sweepDir', 'runDir', 'modelFile'] as const)
    if (!path.isAbsolute(data[k] as string)) throw bad(`${k} is not an absolute path`);
  if (!isRecord(data.overrides)) throw bad('overrides');
  if (typeof data.seed !== 'number' || !Number.isInteger(data.seed)) throw bad('seed');
  return data as unknown as SweepJob;
}

function jobOptions(s: QueueSettings) {
  return {
    attempts: s.attempts,
    backoff: { type: 'exponential', delay: s.backoffMs },
    // kept a week: a `sbn sweep --resume` re-attaches to them and reads their results instead of running again
    removeOnComplete: { age: 7 * 24 * 3600 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/** Why a job that was running is waiting (or running) again: its attempt failed, or its worker went away. */
function requeueReason(job: Job, worker: string | undefined): string {
  const progress = isRecord(job.progress) ? (job.progress as unknown as JobProgressRecord) : undefined;
  if (progress?.requeued && progress.attempt === job.attemptsStarted) return progress.requeued;
  const failed = job.failedReason;
  return job.attemptsMade > 0 && failed
    ? `attempt ${job.attemptsMade} failed: ${failed}; it is tried again`
    : `its worker${worker ? ` ${worker}` : ''} stopped or died; queued again`;
}

export interface QueueExecutorOptions {
  settings?: QueueSettings;
  /** One line for the user (stderr); the password never appears in it. */
  log?: (line: string) => void;
}

/**
 * Puts the jobs on the queue (a job that is already there — a resumed sweep — is re-attached, not added again) and
 * follows them until each has finished or failed. A job that vanished (Redis restarted without persistence) is put
 * back. Aborting `signal` stops following: the jobs stay on the queue and `--resume` re-attaches to them.
 */
export class QueueSweepExecutor implements SweepExecutor {
  private readonly settings: QueueSettings;
  private readonly log: (line: string) => void;

  constructor(
    private readonly connection: QueueConnection,
    options: QueueExecutorOptions = {},
  ) {
    this.settings = options.settings ?? queueSettings();
    this.log = options.log ?? (() => undefined);
  }

  async run(jobs: SweepJob[], hooks: SweepExecutorHooks, signal: AbortSignal): Promise<void> {
    await checkQueueReachable(this.connection);
    const connection = redisOptions(this.connection);
    const queue = new Queue<SweepJob, JobResult>(SWEEP_QUEUE_NAME, { connection });
    const events = new QueueEvents(SWEEP_QUEUE_NAME, { connection });
    const scrub = (e: unknown) => scrubSecrets(e instanceof Error ? e.message : String(e), this.connection);
    let lastRedisError = '';
    const onRedisError = (e: unknown) => {
      const message = scrub(e);
      if (message !== lastRedisError) this.log(`queue ${this.connection.display}: ${message} (retrying)`);
      lastRedisError = message;
    };
    queue.on('error', onRedisError);
    events.on('error', onRedisError);

    const pending = new Map(jobs.map((j) => [j.jobId, j]));
    /** What was last reported per job: its status and, while running, the attempt and worker. */
    const reported = new Map<string, { status: PointStatus; attempt?: number; worker?: string; step?: number }>();
    const dirty = new Set<string>();
    let wake: (() => void) | undefined;
    const poke = (jobId: string) => {
      if (!pending.has(jobId)) return;
      dirty.add(jobId);
      wake?.();
    };
    for (const name of ['active', 'completed', 'failed', 'progress', 'waiting', 'delayed', 'stalled'] as const)
      events.on(name, (e: { jobId: string }) => poke(e.jobId));
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);

    const report = (job: SweepJob, status: PointStatus, detail: Parameters<SweepExecutorHooks['onStatus']>[2]) => {
      reported.set(job.jobId, { status, attempt: detail.attempt, worker: detail.worker });
      hooks.onStatus(job.pointId, status, detail);
    };
    const add = (job: SweepJob) =>
      queue.add(job.pointId, job, { ...jobOptions(this.settings), jobId: job.jobId }).then(() => undefined);

    const check = async (job: SweepJob): Promise<void> => {
      const found = await queue.getJob(job.jobId);
      const last = reported.get(job.jobId);
      if (!found) {
        await add(job);
        if (last?.status === 'running')
          report(job, 'waiting', { reason: 'its job vanished from the queue (Redis restarted?); queued again' });
        return;
      }
      const state = await found.getState();
      if (state === 'completed') {
        const result = found.returnvalue;
        pending.delete(job.jobId);
        report(job, 'finished', { metrics: result?.metrics ?? {}, worker: result?.worker });
        return;
      }
      if (state === 'failed') {
        pending.delete(job.jobId);
        // the job may have failed between getJob and getState: its reason is then only in a fresh read
        const reason = found.failedReason || (await queue.getJob(job.jobId))?.failedReason;
        report(job, 'failed', { reason: reason || 'the job failed', worker: last?.worker });
        return;
      }
      const progress = isRecord(found.progress) ? (found.progress as unknown as JobProgressRecord) : undefined;
      const current = progress && progress.attempt === found.attemptsStarted ? progress : undefined;
      if (state === 'active') {
        if (!current) return; // the worker has not said who it is yet
        if (last?.status === 'running' && last.attempt !== current.attempt)
          // taken again between two looks: say that the earlier attempt ended before the new one runs
          report(job, 'waiting', { reason: requeueReason(found, last.worker) });
        if (last?.status !== 'running' || last.attempt !== current.attempt || last.worker !== current.worker)
          report(job, 'running', { worker: current.worker, attempt: current.attempt });
        if (current.step !== undefined && current.step !== reported.get(job.jobId)?.step) {
          reported.set(job.jobId, { ...reported.get(job.jobId)!, step: current.step });
          hooks.onProgress?.(job.pointId, {
            step: current.step,
            totalSteps: current.totalSteps ?? 0,
            epoch: current.epoch ?? 0,
            loss: current.loss ?? NaN,
          });
        }
        return;
      }
      if (last?.status === 'running') report(job, 'waiting', { reason: requeueReason(found, last.worker) });
    };

    try {
      await queue.addBulk(
        jobs.map((job) => ({ name: job.pointId, data: job, opts: { ...jobOptions(this.settings), jobId: job.jobId } })),
      );
      let nextFull = 0;
      while (pending.size > 0 && !signal.aborted) {
        const full = Date.now() >= nextFull;
        const ids = full ? [...pending.keys()] : [...dirty];
        dirty.clear();
        try {
          for (const id of ids) {
            const job = pending.get(id);
            if (job && !signal.aborted) await check(job);
          }
          if (full) nextFull = Date.now() + this.settings.pollMs;
          if (lastRedisError !== '') {
            this.log(`queue ${this.connection.display}: connected again`);
            lastRedisError = '';
          }
        } catch (e) {
          onRedisError(e);
          nextFull = 0;
        }
        if (pending.size === 0 || signal.aborted) break;
        if (dirty.size === 0)
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.max(0, Math.min(this.settings.pollMs, nextFull - Date.now())));
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        wake = undefined;
      }
      if (signal.aborted && pending.size > 0)
        this.log(
          `stopped following ${pending.size} job(s); they stay on the queue ` +
            '(`sbn sweep --resume` re-attaches to them)',
        );
    } finally {
      signal.removeEventListener('abort', onAbort);
      await Promise.allSettled([events.close(), queue.close()]);
    }
  }
}

export interface QueueWorkerOptions {
  connection: QueueConnection;
  settings?: QueueSettings;
  /** Jobs run at once in this process. */
  concurrency?: number;
  env: Environment;
  checkpointSeconds?: number;
  /** Aborting it stops taking jobs; running ones checkpoint and go back to the queue; then the promise resolves. */
  signal: AbortSignal;
  log: (line: string) => void;
}

export interface QueueWorkerSummary {
  finished: number;
  failed: number;
  /** Jobs given back to the queue (stopped) or failed for their environment (tried again later). */
  requeued: number;
}

/** Takes jobs from the queue until `signal` is aborted; each runs with runSweepJob in this process. */
export async function runQueueWorker(o: QueueWorkerOptions): Promise<QueueWorkerSummary> {
  await checkQueueReachable(o.connection);
  const settings = o.settings ?? queueSettings();
  const me = workerName();
  const summary: QueueWorkerSummary = { finished: 0, failed: 0, requeued: 0 };
  const running = new Set<AbortController>();
  const scrub = (e: unknown) => scrubSecrets(e instanceof Error ? e.message : String(e), o.connection);

  const processor = async (job: Job<SweepJob, JobResult>, token?: string): Promise<JobResult> => {
    const data = checkJobData(job.data);
    const attempt = job.attemptsStarted;
    const fresh = !fs.existsSync(path.join(data.runDir, RUN_FILE));
    o.log(
      `${data.jobId}: ${fresh ? 'starting a new run in' : 'resuming'} ${data.runDir}` +
        (attempt > 1 ? ` (attempt ${attempt})` : ''),
    );
    await job.updateProgress({ worker: me, attempt } satisfies JobProgressRecord);
    const controller = new AbortController();
    running.add(controller);
    if (o.signal.aborted) controller.abort();
    let lastProgress = 0;
    try {
      const outcome = await runSweepJob(data, {
        env: o.env,
        signal: controller.signal,
        checkpointSeconds: o.checkpointSeconds,
        onProgress: (p) => {
          const now = Date.now();
          if (now - lastProgress < 1000) return;
          lastProgress = now;
          job.updateProgress({ worker: me, attempt, ...p } satisfies JobProgressRecord).catch(() => undefined);
        },
      });
      switch (outcome.status) {
        case 'finished':
          summary.finished++;
          o.log(`${data.jobId}: finished (${outcome.note})`);
          return { metrics: outcome.metrics, note: outcome.note, worker: me };
        case 'failed':
          summary.failed++;
          o.log(`${data.jobId}: failed: ${outcome.reason}`);
          throw new UnrecoverableError(outcome.reason);
        case 'retry':
          summary.requeued++;
          if (outcome.busy) {
            // another worker still writes the run (it has not noticed yet that its job was lost): look again once
            // its claim would have expired, without counting an attempt
            const requeued = `the run folder is busy (${outcome.reason}); tried again in ${settings.lockMs} ms`;
            o.log(`${data.jobId}: ${requeued}`);
            await job.updateProgress({ worker: me, attempt, requeued } satisfies JobProgressRecord);
            await job.moveToDelayed(Date.now() + settings.lockMs, token);
            throw new DelayedError();
          }
          o.log(`${data.jobId}: not run here: ${outcome.reason}`);
          throw new Error(outcome.reason);
        case 'stopped': {
          summary.requeued++;
          const requeued = `stopped by its worker ${me} with a checkpoint; back on the queue`;
          o.log(`${data.jobId}: ${requeued}`);
          await job.updateProgress({ worker: me, attempt, requeued } satisfies JobProgressRecord);
          await job.moveToWait(token);
          throw new WaitingError();
        }
      }
    } finally {
      running.delete(controller);
    }
  };

  const worker = new Worker<SweepJob, JobResult>(SWEEP_QUEUE_NAME, processor, {
    connection: redisOptions(o.connection),
    concurrency: o.concurrency ?? 1,
    lockDuration: settings.lockMs,
    stalledInterval: settings.stalledMs,
    maxStalledCount: settings.maxStalled,
    autorun: false,
  });
  let lastError = '';
  worker.on('error', (e) => {
    const message = scrub(e);
    if (message !== lastError) o.log(`queue ${o.connection.display}: ${message}`);
    lastError = message;
  });
  const stop = () => {
    for (const c of running) c.abort();
  };
  o.signal.addEventListener('abort', stop);
  o.log(
    `worker ${me} takes jobs from ${o.connection.display} (queue ${SWEEP_QUEUE_NAME}, ` +
      `${o.concurrency ?? 1} at a time); Ctrl-C stops it`,
  );
  const done = worker.run();
  await new Promise<void>((resolve) => {
    if (o.signal.aborted) resolve();
    else o.signal.addEventListener('abort', () => resolve());
  });
  // close waits for the running jobs: they stop at a checkpoint within about a second and go back to the queue
  await worker.close();
  await done;
  o.signal.removeEventListener('abort', stop);
  return summary;
}
