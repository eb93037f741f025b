// test-backends: one
// The sweep queue with real parts: Debian's redis-server (persistence off) started here on a loopback port, real
// `sbn worker` processes, the queue executor of `sbn sweep --queue`. Every point's final checkpoint must equal the
// one a single in-process run (`--jobs 1`) makes, through a worker killed mid-run, a Redis restart and sweeps
// resumed twice at once; a point that fails for its own reason fails once, with its reason; no password is printed.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../src/engine/backend';
import { runSweepJob, sweepJobId, type SweepJob, type SweepStatusDetail } from '../../src/engine/sweeps/executor';
import type { PointStatus } from '../../src/engine/sweeps/format';
import {
  parseQueueUrl,
  QueueConfigError,
  QueueSweepExecutor,
  redactUrl,
  scrubSecrets,
  urlWithoutPassword,
  type QueueSettings,
} from '../../src/engine/sweeps/queue';
import { repoRoot } from './helpers/fixtures';
import { redisMissing, startRedis, type TestRedis } from './helpers/redis';

const SBN = path.join(repoRoot(), 'bin', 'sbn.js');
const PASSWORD = 'pw-Zq8!sweep';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-sweep-queue-'));
/** Short enough that a killed worker's job is back on the queue within seconds. */
const FAST: QueueSettings = { lockMs: 2000, stalledMs: 1000, maxStalled: 5, attempts: 4, backoffMs: 300, pollMs: 200 };
const WORKER_ENV = {
  SBN_QUEUE_LOCK_MS: String(FAST.lockMs),
  SBN_QUEUE_STALLED_MS: String(FAST.stalledMs),
  // a checkpoint at every log point (every 10 steps): a killed worker leaves a recent one
  SBN_CHECKPOINT_SECONDS: '0',
};

const MODEL = {
  name: 'toy2d',
  input: { shape: [2] },
  states: 'pm1',
  layers: [
    { type: 'dense', units: 8 },
    { type: 'dense', units: 8 },
  ],
  output: { units: 1, loss: 'logistic' },
  data: { dataset: 'toy-2d', validation: 40 },
  train: { estimator: 'psa', lr: 0.03, batchSize: 10, epochs: 4, evalSamples: 4 },
};

interface Point {
  id: string;
  overrides: Record<string, unknown>;
  seed: number;
}

/** A sweep folder with the model file and the jobs of `points` (as `sbn sweep` makes them). */
function makeSweep(name: string, points: Point[]): SweepJob[] {
  const sweepDir = path.join(tmp, name);
  fs.mkdirSync(sweepDir, { recursive: true });
  const modelFile = path.join(sweepDir, 'toy2d.sbn.json');
  fs.writeFileSync(modelFile, JSON.stringify(MODEL, null, 2));
  const sweepId = crypto.randomBytes(6).toString('hex');
  return points.map((p) => ({
    sweepDir,
    pointId: p.id,
    jobId: sweepJobId(sweepId, p.id),
    runDir: path.join(sweepDir, 'runs', p.id),
    modelFile,
    overrides: p.overrides,
    seed: p.seed,
  }));
}

const grid = (epochs: number): Point[] =>
  ['psa', 'dste'].flatMap((estimator) =>
    [1, 2].map((seed) => ({
      id: `${estimator}-e${epochs}-s${seed}`,
      overrides: { 'train.estimator': estimator, 'train.epochs': epochs },
      seed,
    })),
  );

/** The final checkpoint of a run folder without what may legitimately differ (nothing, today: all of it). */
function finalCheckpoint(runDir: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoint.json'), 'utf8'));
}

/** Each point trained once, in this process, start to end: what `--jobs 1` gives. */
const referenceRuns = new Map<string, string>();
async function reference(job: SweepJob): Promise<unknown> {
  let dir = referenceRuns.get(job.pointId);
  if (!dir) {
    const backend = await initBackend();
    const [ref] = makeSweep(`reference-${job.pointId}`, [
      { id: job.pointId, overrides: job.overrides, seed: job.seed },
    ]);
    const outcome = await runSweepJob(ref, {
      env: { backend: backend.name, backendDetail: backend.detail, versions: {} },
    });
    assert.equal(outcome.status, 'finished', JSON.stringify(outcome));
    dir = ref.runDir;
    referenceRuns.set(job.pointId, dir);
  }
  return finalCheckpoint(dir);
}

class WorkerProcess {
  readonly child: ChildProcess;
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(url: string, env: Record<string, string> = {}, args: string[] = []) {
    this.child = spawn(process.execPath, [SBN, 'worker', '--queue', url, ...args], {
      env: { ...process.env, ...WORKER_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }
  get name(): string {
    return `${os.hostname()}:${this.child.pid}`;
  }
  async ready(): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!this.stderr.includes('takes jobs from')) {
      if (this.child.exitCode !== null) throw new Error(`worker exited ${this.child.exitCode}:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`worker not ready:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

interface Followed {
  statuses: { pointId: string; status: PointStatus; detail: SweepStatusDetail }[];
  final: Map<string, { status: PointStatus; detail: SweepStatusDetail }>;
  log: string[];
}

/** Runs the queue executor over `jobs` as `sbn sweep --queue` does; `onStatus` may abort it. */
async function follow(
  url: string,
  jobs: SweepJob[],
  settings: QueueSettings = FAST,
  onStatus?: (pointId: string, status: PointStatus, detail: SweepStatusDetail, abort: () => void) => void,
): Promise<Followed> {
  const followed: Followed = { statuses: [], final: new Map(), log: [] };
  const controller = new AbortController();
  const executor = new QueueSweepExecutor(parseQueueUrl(url), { settings, log: (l) => followed.log.push(l) });
  await executor.run(
    jobs,
    {
      onStatus: (pointId, status, detail) => {
        followed.statuses.push({ pointId, status, detail });
        followed.final.set(pointId, { status, detail });
        onStatus?.(pointId, status, detail, () => controller.abort());
      },
    },
    controller.signal,
  );
  return followed;
}

async function assertSameAsReference(jobs: SweepJob[], followed: Followed): Promise<void> {
  for (const job of jobs) {
    assert.equal(
      followed.final.get(job.pointId)?.status,
      'finished',
      `${job.pointId}: ${JSON.stringify(followed.final.get(job.pointId))}`,
    );
    assert.deepEqual(finalCheckpoint(job.runDir), await reference(job), `${job.pointId}: final checkpoint differs`);
  }
}

/** How often each run folder was started from step 0, by the workers' own account. */
function runStarts(workers: WorkerProcess[], job: SweepJob): number {
  const line = `starting a new run in ${job.runDir}`;
  return workers.reduce(
    (n, w) => n + w.stderr.split('\n').filter((l) => l.endsWith(line) || l.includes(`${line} (`)).length,
    0,
  );
}

describe('parseQueueUrl and redaction', () => {
  test('redis:// and rediss:// with host, port, database, user and password', () => {
    const c = parseQueueUrl('rediss://alice:s%40cret@redis.example:6380/3', '--queue', {});
    assert.deepEqual(
      { ...c },
      {
        host: 'redis.example',
        port: 6380,
        db: 3,
        username: 'alice',
        password: 's@cret',
        tls: true,
        display: 'rediss://alice:***@redis.example:6380/3',
      },
    );
    const plain = parseQueueUrl('redis://10.0.0.5', '--queue', {});
    assert.equal(plain.display, 'redis://10.0.0.5:6379/0');
    assert.equal(plain.password, undefined);
    assert.equal(urlWithoutPassword(c), 'rediss://alice@redis.example:6380/3');
  });
  test(`the password from SBN_REDIS_PASSWORD when the URL has none, and never shown`, () => {
    const c = parseQueueUrl('redis://127.0.0.1:7000', '--queue', { SBN_REDIS_PASSWORD: 'from-env' });
    assert.equal(c.password, 'from-env');
    assert.doesNotMatch(c.display, /from-env/);
    assert.equal(scrubSecrets('AUTH from-env failed', c), 'AUTH *** failed');
  });
  test('bad URLs: one message naming the flag, the password redacted', () => {
    for (const [url, pattern] of [
      ['http://u:topsecret@host', /expected redis:\/\/HOST:PORT\[\/DB\]/],
      ['redis://u:topsecret@host/abc', /the database "\/abc" must be a number/],
      ['redis://u:topsecret@host:6379/0?x=1', /has a query or fragment/],
      ['not a url topsecret', /expected redis:\/\//],
    ] as const) {
      assert.throws(
        () => parseQueueUrl(url, '--queue', {}),
        (e: Error) => {
          assert.ok(e instanceof QueueConfigError);
          assert.match(e.message, /^--queue: /);
          assert.match(e.message, pattern);
          if (url.includes('@')) assert.doesNotMatch(e.message, /topsecret/);
          return true;
        },
      );
    }
    assert.equal(
      redactUrl('see redis://:pw@h:1/0 and rediss://u:pw2@h'),
      'see redis://:***@h:1/0 and rediss://u:***@h',
    );
  });
});

const missing = redisMissing();
describe('sweeps on the Redis queue with real workers', { skip: missing }, () => {
  let redis: TestRedis;
  let workers: WorkerProcess[] = [];
  const allWorkers: WorkerProcess[] = [];
  const startWorker = (env: Record<string, string> = {}, url = redis.url) => {
    const w = new WorkerProcess(url, env);
    workers.push(w);
    allWorkers.push(w);
    return w;
  };

  before(async () => {
    redis = await startRedis({ password: PASSWORD });
    // one worker with the password in its URL, one with it in SBN_REDIS_PASSWORD
    const c = parseQueueUrl(redis.url);
    startWorker();
    startWorker({ SBN_REDIS_PASSWORD: PASSWORD }, urlWithoutPassword(c));
    await Promise.all(workers.map((w) => w.ready()));
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await redis?.stop();
    for (const w of allWorkers) assert.ok(!w.stderr.includes(PASSWORD), `a worker printed the password:\n${w.stderr}`);
  });

  test('two workers give every point the final checkpoint of --jobs 1', async () => {
    const jobs = makeSweep('two-workers', grid(4));
    const followed = await follow(redis.url, jobs);
    await assertSameAsReference(jobs, followed);
    const ran = new Set(followed.statuses.filter((s) => s.status === 'running').map((s) => s.detail.worker));
    assert.deepEqual([...ran].sort(), workers.map((w) => w.name).sort(), 'both workers took points');
    for (const job of jobs) assert.equal(runStarts(allWorkers, job), 1, job.pointId);
    assert.ok(!followed.log.join('\n').includes(PASSWORD));
  });

  test('a worker killed (SIGKILL) mid-run: its point is taken again and ends as if uninterrupted', async () => {
    const [job] = makeSweep('killed', [{ id: 'long', overrides: { 'train.epochs': 30 }, seed: 7 }]);
    let victim: WorkerProcess | undefined;
    const followed = await follow(redis.url, [job], FAST, (_id, status, detail) => {
      if (status !== 'running' || victim) return;
      victim = workers.find((w) => w.name === detail.worker);
      assert.ok(victim, `no worker named ${detail.worker}`);
      // kill it once the run has a checkpoint past its start, then start a replacement
      const killer = setInterval(() => {
        let step: number;
        try {
          step = (finalCheckpoint(job.runDir) as { step: number }).step;
        } catch {
          return;
        }
        if (step < 40) return;
        clearInterval(killer);
        victim!.child.kill('SIGKILL');
        workers = workers.filter((w) => w !== victim);
        void startWorker().ready();
      }, 20);
    });
    assert.ok(victim, 'the point never ran');
    assert.equal(victim.child.signalCode, 'SIGKILL');
    await assertSameAsReference([job], followed);
    assert.equal(runStarts(allWorkers, job), 1, 'the run was started from step 0 again');
    const resumedBy = allWorkers.filter((w) => w.stderr.includes(`resuming ${job.runDir}`));
    assert.equal(resumedBy.length, 1, 'exactly one worker resumed the run');
    assert.ok(followed.statuses.some((s) => s.status === 'waiting' && /stopped or died/.test(s.detail.reason ?? '')));
    assert.ok((followed.final.get(job.pointId)?.detail.worker ?? '') !== victim.name);
  });

  test('Redis restarted mid-sweep (its jobs lost): the sweep puts them back and completes', async () => {
    const jobs = makeSweep('redis-restart', grid(6));
    let restarted: Promise<void> | undefined;
    const followed = await follow(redis.url, jobs, FAST, (_id, status) => {
      if (status === 'running' && !restarted) restarted = redis.restart();
    });
    assert.ok(restarted, 'Redis was not restarted');
    await restarted;
    const vanished = followed.statuses.filter((s) => s.status === 'waiting' && /vanished/.test(s.detail.reason ?? ''));
    assert.ok(vanished.length > 0, 'no job was noticed missing and put back');
    await assertSameAsReference(jobs, followed);
    for (const job of jobs) assert.equal(runStarts(allWorkers, job), 1, job.pointId);
  });

  test('a sweep stopped and resumed twice at once: every job re-attached, no point trained twice', async () => {
    const jobs = makeSweep('resume', grid(5));
    // the first `sbn sweep` stops following once a point has finished; its jobs stay on the queue
    const first = await follow(redis.url, jobs, FAST, (_id, status, _d, abort) => {
      if (status === 'finished') abort();
    });
    assert.ok(first.log.some((l) => /stay on the queue/.test(l)));
    // two `sbn sweep --resume` at once, then a third after the end: they follow the same jobs
    const [a, b] = await Promise.all([follow(redis.url, jobs), follow(redis.url, jobs)]);
    const c = await follow(redis.url, jobs);
    for (const f of [a, b, c]) await assertSameAsReference(jobs, f);
    for (const job of jobs) assert.equal(runStarts(allWorkers, job), 1, `${job.pointId} trained more than once`);
  });

  test('a point failing for its own reason fails once, with it; an invisible sweep folder is refused', async () => {
    const [bad] = makeSweep('bad-point', [
      { id: 'bad', overrides: { 'train.estimator': 'no-such-estimator' }, seed: 1 },
    ]);
    const [invisible] = makeSweep('invisible', [{ id: 'far', overrides: {}, seed: 1 }]).map((j) => ({
      ...j,
      sweepDir: path.join(tmp, 'not-mounted-here'),
    }));
    const followed = await follow(redis.url, [bad, invisible], { ...FAST, attempts: 2, backoffMs: 100 });
    const badEnd = followed.final.get('bad');
    assert.equal(badEnd?.status, 'failed');
    assert.match(badEnd?.detail.reason ?? '', /no-such-estimator/);
    const badFailures = allWorkers.reduce((n, w) => n + w.stderr.split(`${bad.jobId}: failed:`).length - 1, 0);
    assert.equal(badFailures, 1, 'the bad point was tried again');
    assert.ok(!fs.existsSync(path.join(bad.runDir, 'run.json')));

    const far = followed.final.get('far');
    assert.equal(far?.status, 'failed');
    assert.match(far?.detail.reason ?? '', /the sweep folder .*not-mounted-here is not visible from/);
    const refusals = allWorkers.reduce((n, w) => n + w.stderr.split(`${invisible.jobId}: not run here:`).length - 1, 0);
    assert.equal(refusals, 2, 'tried as many times as its attempts allow');
  });

  test('sbn worker --concurrency 2: two processes train at once; SIGTERM stops them all, exit 0', async () => {
    await Promise.all(workers.map((w) => w.stop()));
    workers = [];
    const supervisor = new WorkerProcess(redis.url, {}, ['--concurrency', '2']);
    allWorkers.push(supervisor);
    const jobs = makeSweep('concurrency', grid(3));
    const followed = await follow(redis.url, jobs);
    await assertSameAsReference(jobs, followed);
    const ran = new Set(followed.statuses.filter((s) => s.status === 'running').map((s) => s.detail.worker ?? ''));
    assert.equal(ran.size, 2, `expected two worker processes, got ${[...ran].join(', ')}`);
    assert.ok(!ran.has(supervisor.name), 'the supervising process trained itself');
    assert.equal(await supervisor.stop(), 0, supervisor.stderr);
    for (const name of ran) {
      const pid = Number(name.split(':').pop());
      assert.throws(() => process.kill(pid, 0), `worker process ${pid} still runs`);
    }
  });

  test('sbn worker: a wrong password or an unreachable Redis is one line, exit 2, the password not shown', async () => {
    const wrong = new WorkerProcess(`redis://:not-${PASSWORD}@127.0.0.1:${redis.port}/0`);
    assert.equal(await wrong.exited, 2);
    const lines = wrong.stderr.split('\n').filter((l) => l !== '' && !/^sbn: backend /.test(l));
    assert.equal(lines.length, 1, wrong.stderr);
    assert.match(
      lines[0],
      /^sbn: --queue: cannot use Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0: .*(WRONGPASS|invalid)/,
    );
    assert.ok(!wrong.stderr.includes(PASSWORD));
  });
});

after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});
