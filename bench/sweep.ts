// `npm run bench:sweep`: 16 short runs (toy-2d, psa and dste × 8 seeds) trained one after another in this process,
// by the embedded pool (`sbn sweep --jobs 1` and `--jobs 2`, the whole command timed), then through the Redis queue
// (`sbn sweep --queue`) with 1 and 2 `sbn worker` processes: the wall time of each,
// and the queue's overhead per job — the wall time with one worker less the time the worker spent inside the jobs,
// per job (hand-over, Redis round trips, the sweep noticing the end). Needs redis-server (started here on a free
// loopback port, persistence off). Results: bench/results/sweep.json.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import { initBackend } from '../src/engine/backend';
import { runSweepJob, sweepJobId, type SweepJob } from '../src/engine/sweeps/executor';
import { parseQueueUrl, QueueSweepExecutor, queueSettings, SWEEP_QUEUE_NAME } from '../src/engine/sweeps/queue';
import { redisMissing, startRedis } from '../test/unit/helpers/redis';
import { repoRoot, writeResults } from './common';

const RUNS = 16;
const EPOCHS = 3;
const SBN = path.join(repoRoot, 'bin', 'sbn.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-bench-sweep-'));

function sweep(name: string): SweepJob[] {
  const sweepDir = path.join(tmp, name);
  fs.mkdirSync(sweepDir, { recursive: true });
  const modelFile = path.join(sweepDir, 'toy2d.sbn.json');
  fs.copyFileSync(path.join(repoRoot, 'examples', 'toy2d.sbn.json'), modelFile);
  const id = crypto.randomBytes(6).toString('hex');
  return Array.from({ length: RUNS }, (_, i) => {
    const estimator = i % 2 === 0 ? 'psa' : 'dste';
    const seed = 1 + Math.floor(i / 2);
    const pointId = `${estimator}-s${seed}`;
    return {
      sweepDir,
      pointId,
      jobId: sweepJobId(id, pointId),
      runDir: path.join(sweepDir, 'runs', pointId),
      modelFile,
      overrides: { 'train.estimator': estimator, 'train.epochs': EPOCHS },
      seed,
    };
  });
}

/** `sbn sweep` of the same 16 runs on the embedded pool with `jobs` processes: its wall time, or why not. */
function poolWallMs(jobs: number): number | string {
  const dir = path.join(tmp, `pool-${jobs}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(repoRoot, 'examples', 'toy2d.sbn.json'), path.join(dir, 'toy2d.sbn.json'));
  const file = path.join(dir, 'bench.sbn-sweep.json');
  const seeds = Array.from({ length: RUNS / 2 }, (_, i) => i + 1);
  const spec = { model: 'toy2d.sbn.json', grid: { 'train.estimator': ['psa', 'dste'] }, seeds };
  fs.writeFileSync(file, JSON.stringify({ ...spec, overrides: { 'train.epochs': EPOCHS } }));
  const t = Date.now();
  const args = [SBN, 'sweep', file, '--jobs', String(jobs), '--out', path.join(dir, 'sweep')];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) return `sbn sweep --jobs ${jobs} failed: ${r.stderr.trim().split('\n').pop() ?? ''}`;
  return Date.now() - t;
}

function startWorker(url: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [SBN, 'worker', '--queue', url], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('takes jobs from')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`sbn worker exited ${code}:\n${text}`)));
  });
}

async function main(): Promise<void> {
  const missing = redisMissing();
  if (missing) throw new Error(`bench:sweep: ${missing}`);
  const backend = await initBackend(process.env.SBN_BACKEND);
  const env = { backend: backend.name, backendDetail: backend.detail, versions: {} };

  process.stderr.write(`bench:sweep: ${RUNS} runs in this process, one after another …\n`);
  let t = Date.now();
  for (const job of sweep('serial')) {
    const outcome = await runSweepJob(job, { env });
    if (outcome.status !== 'finished') throw new Error(`${job.pointId}: ${JSON.stringify(outcome)}`);
  }
  const serialMs = Date.now() - t;

  const pool = [1, 2].map((jobs) => {
    process.stderr.write(`bench:sweep: ${RUNS} runs on the embedded pool, --jobs ${jobs} …\n`);
    const wall = poolWallMs(jobs);
    return typeof wall === 'number' ? { jobs, wallMs: wall } : { jobs, skipped: wall };
  });

  const redis = await startRedis();
  const connection = parseQueueUrl(redis.url);
  const queueRows = [];
  try {
    for (const workers of [1, 2]) {
      process.stderr.write(`bench:sweep: ${RUNS} runs on the queue, ${workers} worker(s) …\n`);
      const children = await Promise.all(Array.from({ length: workers }, () => startWorker(redis.url)));
      const jobs = sweep(`queue-${workers}`);
      const executor = new QueueSweepExecutor(connection, { settings: { ...queueSettings(), pollMs: 200 } });
      const ended: string[] = [];
      t = Date.now();
      await executor.run(
        jobs,
        { onStatus: (id, status) => (status === 'finished' || status === 'failed' ? ended.push(id) : undefined) },
        new AbortController().signal,
      );
      const wallMs = Date.now() - t;
      if (ended.length !== RUNS) throw new Error(`only ${ended.length} of ${RUNS} jobs ended`);
      // the time each worker spent inside the job (taken → result stored), from the queue's own timestamps
      const queue = new Queue(SWEEP_QUEUE_NAME, { connection: { host: connection.host, port: connection.port } });
      let insideMs = 0;
      for (const job of jobs) {
        const j = await queue.getJob(job.jobId);
        if (!j?.processedOn || !j.finishedOn) throw new Error(`${job.jobId}: no timestamps`);
        insideMs += j.finishedOn - j.processedOn;
      }
      await queue.close();
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              c.once('exit', () => resolve());
              c.kill('SIGTERM');
            }),
        ),
      );
      queueRows.push({
        workers,
        wallMs,
        insideJobsMs: insideMs,
        // with several workers the jobs overlap, so only the one-worker figure isolates the queue's own cost
        overheadMsPerJob: workers === 1 ? (wallMs - insideMs) / RUNS : undefined,
      });
    }
  } finally {
    await redis.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const overhead = queueRows[0].overheadMsPerJob ?? NaN;
  const file = writeResults('sweep.json', {
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown' },
    backend: backend.detail,
    runs: RUNS,
    what: `toy2d.sbn.json, psa and dste × seeds 1..8, ${EPOCHS} epochs each`,
    serialInProcess: { wallMs: serialMs },
    pool,
    queue: queueRows,
    queueOverheadMsPerJob: overhead,
  });
  const walls = queueRows.map((r) => `${r.workers} worker(s) ${r.wallMs} ms`).join(', ');
  process.stderr.write(
    `bench:sweep: serial ${serialMs} ms; queue ${walls}; queue overhead ${overhead.toFixed(1)} ms per job → ${file}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
