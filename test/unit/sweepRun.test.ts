// test-backends: one
// `sbn sweep` as a user runs it (child processes): --jobs 2 ends with the same per-point final checkpoints as
// --jobs 1, also when a worker is SIGKILLed mid-run (its job is retried and resumes from its checkpoint); resuming a
// finished sweep twice runs nothing; a point that fails for its own reason is marked failed, not retried; bad input
// is one line with exit code 2.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunStore } from '../../src/engine/runs';
import { readSweepState, type SweepState } from '../../src/engine/sweeps';
import { assertUsageError, sbnInProcess } from './helpers/cli';
import { repoRoot } from './helpers/fixtures';

const root = repoRoot();
const SBN = path.join(root, 'bin', 'sbn.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-sweep-run-'));
fs.copyFileSync(path.join(root, 'examples', 'toy2d.sbn.json'), path.join(tmp, 'm.sbn.json'));
// a checkpoint at every log point: a killed worker leaves one to resume from
const env = { ...process.env, SBN_CHECKPOINT_SECONDS: '0', SBN_BACKEND: 'tensorflow' };

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

const sweepFile = write(
  'lr.sbn-sweep.yaml',
  'model: m.sbn.json\ngrid:\n  train.lr: [0.03, 0.1]\nseeds: 2\noverrides:\n  train.epochs: 10\n',
);

function sbn(args: string[]) {
  const r = spawnSync(process.execPath, [SBN, ...args], { encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

/** Per point id: the final checkpoint's step and parameters, and the final metrics. */
function finals(dir: string) {
  const state = readSweepState(dir);
  return Object.fromEntries(
    state.points.map((p) => {
      const cp = RunStore.readCheckpoint(path.join(dir, p.run), 'latest');
      return [p.id, { step: cp.step, params: cp.params, metrics: p.metrics }];
    }),
  );
}

const jobs1 = path.join(tmp, 'jobs1');

test('--jobs 1 runs every point; --jobs 2 with a worker SIGKILLed mid-run ends with equal checkpoints', async (t) => {
  const one = sbn(['sweep', sweepFile, '--out', jobs1, '--jobs', '1']);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /objective validation\.u_loss \(min\), mean ± sd \[95 % CI\] over seeds/);
  const s1 = readSweepState(jobs1);
  assert.deepEqual(
    s1.points.map((p) => p.status),
    ['finished', 'finished', 'finished', 'finished'],
  );
  for (const f of ['sweep-report.json', 'sweep-report.csv', 'sweep-report.html'])
    assert.ok(fs.existsSync(path.join(jobs1, f)), f);

  const jobs2 = path.join(tmp, 'jobs2');
  const child = spawn(process.execPath, [SBN, 'sweep', sweepFile, '--out', jobs2, '--jobs', '2'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // a point whose run has checkpointed past step 20 and is still training: kill its worker
  let killed: { id: string; pid: number; step: number } | undefined;
  const deadline = Date.now() + 120_000;
  while (!killed && child.exitCode === null && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    let state: SweepState;
    try {
      state = readSweepState(jobs2);
    } catch {
      continue;
    }
    for (const p of state.points) {
      if (p.status !== 'running' || !p.worker) continue;
      const run = path.join(jobs2, p.run);
      try {
        const cp = RunStore.readCheckpoint(run, 'latest');
        if (cp.step < 20 || fs.existsSync(path.join(run, 'summary.json'))) continue;
        const pid = Number(p.worker.split(':').pop());
        process.kill(pid, 'SIGKILL');
        killed = { id: p.id, pid, step: cp.step };
        break;
      } catch {
        /* no checkpoint yet */
      }
    }
  }
  assert.ok(killed, `no worker was caught mid-run; stderr:\n${stderr}`);
  t.diagnostic(`killed worker ${killed.pid} at step ${killed.step} of point ${killed.id}`);
  assert.equal(await exited(child), 0, stderr);
  assert.match(stderr, new RegExp(`worker \\S+:${killed.pid} killed by SIGKILL during the run; retrying`));
  const s2 = readSweepState(jobs2);
  const again = s2.points.find((p) => p.id === killed.id)!;
  assert.equal(again.status, 'finished');
  assert.equal(again.attempts, 2);
  assert.equal(again.reason, undefined);
  assert.ok(new Set(s2.points.map((p) => p.worker)).size >= 2, 'two workers ran points');
  // same points (ids from the sweep file) and, bit for bit, the same final checkpoints and metrics
  assert.deepEqual(finals(jobs2), finals(jobs1));
});

test('resuming a finished sweep twice runs nothing and changes nothing', () => {
  const before = fs.readFileSync(path.join(jobs1, 'sweep.json'), 'utf8');
  const state = readSweepState(jobs1);
  const metricsBefore = state.points.map((p) => fs.readFileSync(path.join(jobs1, p.run, 'metrics.jsonl'), 'utf8'));
  for (let i = 0; i < 2; i++) {
    const r = sbn(['sweep', '--resume', jobs1, '--jobs', '2']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /4 of 4 runs done, 0 to run/);
    assert.doesNotMatch(r.stderr, /running on/);
  }
  assert.equal(fs.readFileSync(path.join(jobs1, 'sweep.json'), 'utf8'), before);
  assert.deepEqual(
    state.points.map((p) => fs.readFileSync(path.join(jobs1, p.run, 'metrics.jsonl'), 'utf8')),
    metricsBefore,
  );
});

test('sbn sweep report writes the report where --out says', async () => {
  const out = path.join(tmp, 'report-elsewhere');
  const r = await sbnInProcess('sweep', 'report', jobs1, '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\* +\d+ +train\.lr=/m);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'sweep-report.json'), 'utf8')) as {
    points: { seeds: number[]; metrics: Record<string, { n: number; ci95: unknown }> }[];
  };
  assert.equal(report.points.length, 2);
  for (const p of report.points) {
    assert.deepEqual(p.seeds, [1, 2]);
    assert.equal(p.metrics['validation.u_loss'].n, 2);
    assert.ok(Array.isArray(p.metrics['validation.u_loss'].ci95));
  }
});

test('Ctrl-C stops every worker cleanly with a checkpoint; --resume ends with equal checkpoints', async () => {
  const dir = path.join(tmp, 'stopped');
  const child = spawn(process.execPath, [SBN, 'sweep', sweepFile, '--out', dir, '--jobs', '2'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 120_000;
  let workers: number[] = [];
  for (let caught = false; !caught && child.exitCode === null && Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 20));
    try {
      const running = readSweepState(dir).points.filter((p) => p.status === 'running');
      caught = running.some((p) => RunStore.readCheckpoint(path.join(dir, p.run), 'latest').step >= 10);
      workers = running.map((p) => Number(p.worker!.split(':').pop()));
    } catch {
      /* not yet */
    }
  }
  child.kill('SIGINT');
  assert.equal(await exited(child), 0, stderr);
  assert.match(stderr, /stopped: \d of 4 runs done; continue with sbn sweep --resume /);
  const state = readSweepState(dir);
  const stopped = state.points.filter((p) => p.reason?.startsWith('stopped:'));
  assert.ok(stopped.length >= 1, `no point was stopped mid-run:\n${stderr}`);
  for (const p of stopped) {
    assert.equal(p.status, 'waiting');
    const status = JSON.parse(fs.readFileSync(path.join(dir, p.run, 'status.json'), 'utf8')) as { status: string };
    assert.equal(status.status, 'stopped');
  }
  for (const pid of workers) assert.throws(() => process.kill(pid, 0), 'the worker processes have exited');
  const resumed = sbn(['sweep', '--resume', dir, '--jobs', '2']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(finals(dir), finals(jobs1));
});

test('a point that fails for its own reason is marked failed with the reason and not retried', () => {
  write(
    'r.sbn.json',
    JSON.stringify({
      name: 'toy2d-reinforce',
      input: { shape: [2] },
      layers: [{ type: 'dense', units: 8 }],
      output: { units: 1, loss: 'logistic' },
      data: { dataset: 'toy-2d', validation: 40 },
      train: { estimator: 'reinforce', baseline: 'mean', samples: 2, lr: 0.03, batchSize: 10, epochs: 1 },
    }),
  );
  // each value is valid on its own; samples 1 with the loo baseline is not
  const file = write(
    'fail.sbn-sweep.yaml',
    'model: r.sbn.json\ngrid:\n  train.samples: [1, 2]\n  train.baseline: [mean, loo]\n',
  );
  const dir = path.join(tmp, 'fail');
  const r = sbn(['sweep', file, '--out', dir, '--jobs', '2']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /sbn: sweep .*: 3 finished, 1 failed \(see sweep\.json for the reasons\)$/m);
  const failed = readSweepState(dir).points.filter((p) => p.status === 'failed');
  assert.equal(failed.length, 1);
  assert.deepEqual(failed[0].overrides, { 'train.samples': 1, 'train.baseline': 'loo' });
  assert.match(failed[0].reason ?? '', /train\.samples: baseline "loo" \(leave-one-out\) needs samples ≥ 2, got 1/);
  assert.equal(failed[0].attempts, 1);
});

test('bad input: one line naming the file, field and line, or the flag; exit code 2', async () => {
  const bad = write('bad.sbn-sweep.yaml', 'model: m.sbn.json\ngrid:\n  train.lrr: [0.1]\n');
  assertUsageError(
    await sbnInProcess('sweep', bad, '--out', path.join(tmp, 'never')),
    /bad\.sbn-sweep\.yaml:3:3: grid\["train\.lrr"\]: "train\.lrr" is not a field of a model file; did you mean "train\.lr"\?/,
  );
  assert.ok(!fs.existsSync(path.join(tmp, 'never')), 'no sweep folder for a bad sweep file');
  assertUsageError(await sbnInProcess('sweep', sweepFile, '--jobs', '0'), /^sbn: --jobs: /);
  assertUsageError(await sbnInProcess('sweep', '--resume', tmp), /not a sweep folder \(sweep\.json not found\)/);
  assertUsageError(await sbnInProcess('sweep', '--resume', jobs1, sweepFile), /^sbn: --resume: /);
  assertUsageError(
    await sbnInProcess('sweep', 'missing.sbn-sweep.yaml'),
    /missing\.sbn-sweep\.yaml: cannot read the file/,
  );
  assertUsageError(await sbnInProcess('sweep', sweepFile, '--out', jobs1), /already a sweep folder/);
  assertUsageError(
    await sbnInProcess('sweep', path.join(tmp, 'm.sbn.json')),
    /m\.sbn\.json: a model file; sbn sweep takes a sweep file/,
  );
});
