// test-backends: one
// Recovery (issue 13), what does not depend on the backend: a damaged checkpoint is reported and resume falls back to
// the newest valid one (or refuses); resuming a run without a checkpoint records it; `--resume --epochs` is
// persisted; a garbage line in metrics.jsonl is reported; a bad SBN_CHECKPOINT_SECONDS leaves no run; a lock from
// another host goes stale without a heartbeat, an open run keeps its heartbeat, an abandoned one is released; NaN
// parameters are named. Real `sbn` processes throughout. Stopping and resuming: recovery.test.ts.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunStore, readMetrics, effectiveMetrics, readConfig, releaseAbandonedRun } from '../../src/engine/runs';
import { describeResume } from '../../src/engine/train/session';
import {
  tmp,
  sbn,
  start,
  exited,
  waitFor,
  onlyRun,
  writeModel,
  statusOf,
  assertReleased,
  copyOfStopped,
} from './helpers/recoveryRuns';

function editCheckpoint(dir: string, edit: (cp: Record<string, unknown>) => void): void {
  const file = path.join(dir, 'checkpoint.json');
  const cp = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(cp);
  fs.writeFileSync(file, JSON.stringify(cp));
}

const firstParam = (cp: Record<string, unknown>) =>
  Object.values(cp.params as Record<string, { base64: string; shape: number[] }>)[0];

const DAMAGES: Array<[string, (dir: string) => void, RegExp]> = [
  [
    'truncated',
    (d) => {
      const f = path.join(d, 'checkpoint.json');
      const t = fs.readFileSync(f, 'utf8');
      fs.writeFileSync(f, t.slice(0, t.length >> 1));
    },
    /not valid JSON/,
  ],
  ['empty', (d) => fs.writeFileSync(path.join(d, 'checkpoint.json'), ''), /not valid JSON/],
  [
    'bad base64',
    (d) =>
      editCheckpoint(d, (cp) => {
        firstParam(cp).base64 = '!!!!';
      }),
    /base64/,
  ],
  [
    'a short tensor',
    (d) =>
      editCheckpoint(d, (cp) => {
        firstParam(cp).base64 = 'AAAAAA==';
      }),
    /needs \d+ bytes/,
  ],
  [
    'step -5',
    (d) =>
      editCheckpoint(d, (cp) => {
        cp.step = -5;
      }),
    /step must be a non-negative integer/,
  ],
  [
    'a wrong format',
    (d) =>
      editCheckpoint(d, (cp) => {
        cp.format = 'other';
      }),
    /not an sbn checkpoint/,
  ],
  [
    'an unknown version',
    (d) =>
      editCheckpoint(d, (cp) => {
        cp.version = 2;
      }),
    /version 2 is not supported/,
  ],
  [
    'step 1e9',
    (d) =>
      editCheckpoint(d, (cp) => {
        cp.step = 1e9;
      }),
    /step 1000000000/,
  ],
  [
    'NaN parameters',
    (d) =>
      editCheckpoint(d, (cp) => {
        const t = firstParam(cp);
        const n = t.shape.reduce((a, b) => a * b, 1);
        t.base64 = Buffer.from(new Float32Array(n).fill(NaN).buffer).toString('base64');
      }),
    /NaN/,
  ],
  [
    'no optimizer state',
    (d) =>
      editCheckpoint(d, (cp) => {
        delete cp.optimizer;
      }),
    /optimizer/,
  ],
];

for (const [what, damage, reason] of DAMAGES) {
  test(`resume with ${what} in checkpoint.json reports it and continues from the newest valid checkpoint`, async () => {
    const dir = await copyOfStopped();
    damage(dir);
    const r = sbn(['train', '--resume', dir, '--no-progress']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /checkpoint\.json/);
    assert.match(r.stderr, reason);
    assert.match(r.stderr, /resuming .* from step 8 \(checkpoints[/\\]epoch-0001\.json/);
    assert.equal(statusOf(dir).status, 'finished');
    const recs = readMetrics(dir).records;
    assert.ok(
      recs.some((x) => x.kind === 'warning' && /checkpoint\.json/.test(String(x.message))),
      'no warning record in metrics.jsonl',
    );
    assert.ok(fs.existsSync(path.join(dir, 'checkpoint.json.damaged')), 'the damaged file is not kept');
  });
}

test('resume with no valid checkpoint refuses (exit 2, one line) unless --start-over is given', async () => {
  const dir = await copyOfStopped();
  fs.writeFileSync(path.join(dir, 'checkpoint.json'), '{');
  fs.writeFileSync(path.join(dir, 'checkpoints', 'epoch-0001.json'), '');
  const r = sbn(['train', '--resume', dir, '--no-progress']);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(
    r.stderr
      .trim()
      .split('\n')
      .filter((l) => /cannot resume/.test(l)).length,
    1,
    r.stderr,
  );
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  assert.match(r.stderr, /checkpoint\.json.*epoch-0001\.json.*--start-over/);
  assertReleased(dir);
  const again = sbn(['train', '--resume', dir, '--start-over', '--no-progress']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /from step 0/);
  assert.equal(statusOf(dir).status, 'finished');
});

test('resuming a run that crashed before its first checkpoint records the resume at step 0', async () => {
  const dir = await copyOfStopped();
  fs.rmSync(path.join(dir, 'checkpoint.json'));
  fs.rmSync(path.join(dir, 'checkpoints'), { recursive: true });
  const r = sbn(['train', '--resume', dir, '--no-progress']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /no checkpoint yet: resume starts from step 0|from step 0/);
  const recs = readMetrics(dir).records;
  assert.ok(
    recs.some((x) => x.kind === 'resume' && x.step === 0),
    'no resume record at step 0',
  );
  const steps = effectiveMetrics(recs)
    .filter((x) => x.kind === 'step')
    .map((x) => x.step);
  assert.deepEqual(steps, [...new Set(steps)], 'a step appears twice');
});

test('--resume --epochs N is written to config.json, so a later plain --resume keeps it', async () => {
  const dir = await copyOfStopped();
  const r = sbn(['train', '--resume', dir, '--epochs', '3', '--no-progress']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((readConfig(dir) as { train: { epochs: number } }).train.epochs, 3);
  assert.equal(RunStore.readCheckpoint(dir, 'latest').step, 24);
});

test('a garbage line in the middle of metrics.jsonl is reported on resume, in the log and the run folder', async () => {
  const dir = await copyOfStopped();
  const file = path.join(dir, 'metrics.jsonl');
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.splice(2, 0, 'garbage');
  fs.writeFileSync(file, lines.join('\n'));
  const r = sbn(['train', '--resume', dir, '--no-progress']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /metrics\.jsonl:3/);
  assert.ok(
    readMetrics(dir, { tolerant: true }).records.some(
      (x) => x.kind === 'warning' && /metrics\.jsonl:3/.test(String(x.message)),
    ),
  );
});

test('SBN_CHECKPOINT_SECONDS=abc exits 2 and leaves no running run', () => {
  const model = writeModel('envbad', {});
  const out = path.join(tmp, 'envbad');
  const r = sbn(['train', model, '--out', out, '--no-progress'], { SBN_CHECKPOINT_SECONDS: 'abc' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /SBN_CHECKPOINT_SECONDS/);
  for (const name of fs.existsSync(out) ? fs.readdirSync(out) : []) assertReleased(path.join(out, name));
});

test('a lock from another host is taken over once its heartbeat is older than the stale timeout, not before', () => {
  const dir = path.join(tmp, 'locks');
  const store = RunStore.create(dir, 'lockrun', {
    modelFileName: 'm.sbn.json',
    modelText: '{}',
    config: {},
    environment: {},
  });
  const run = store.dir;
  store.close();
  const old = new Date(Date.now() - 3600e3).toISOString();
  fs.writeFileSync(
    path.join(run, 'lock'),
    JSON.stringify({ pid: 4242, hostname: 'elsewhere.example', time: old, heartbeat: old }),
  );
  fs.writeFileSync(
    path.join(run, 'status.json'),
    JSON.stringify({ status: 'running', pid: 4242, hostname: 'elsewhere.example', updated: old }),
  );
  assert.equal(RunStore.status(run).status, 'crashed');
  const reopened = RunStore.open(run);
  reopened.close();
  const now = new Date().toISOString();
  fs.writeFileSync(
    path.join(run, 'lock'),
    JSON.stringify({ pid: 4242, hostname: 'elsewhere.example', time: old, heartbeat: now }),
  );
  assert.throws(() => RunStore.open(run), /being written by process 4242 on elsewhere\.example/);
  assert.equal(RunStore.status(run).status, 'running');
});

test('a writer killed by its host: releaseAbandonedRun records the crash and the resume, frees the lock', async () => {
  const model = writeModel('abandoned', {}, { epochs: 400, batchSize: 2 });
  const out = path.join(tmp, 'abandoned');
  const child = start(['train', model, '--out', out, '--no-progress'], { SBN_CHECKPOINT_SECONDS: '0' });
  const dir = await waitFor(
    'a checkpoint',
    () => {
      const d = onlyRun(out);
      return RunStore.readCheckpoint(d, 'latest').step > 0 ? d : undefined;
    },
    child,
    60000,
    10,
  );
  child.kill('SIGKILL');
  await exited(child);
  assert.equal(statusOf(dir).status, 'running');
  assert.ok(fs.existsSync(path.join(dir, 'lock')));
  const note = describeResume(dir);
  const step = RunStore.readCheckpoint(dir, 'latest').step;
  assert.match(
    note,
    new RegExp(`^resume continues from step ${step} \\(checkpoint of \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\)$`),
  );
  assert.equal(releaseAbandonedRun(dir, 999999999, 'not this one'), false, 'another pid changes nothing');
  assert.ok(
    releaseAbandonedRun(dir, child.pid!, `the training worker did not stop within 10 s and was killed; ${note}`),
  );
  assertReleased(dir);
  assert.equal(statusOf(dir).status, 'crashed');
  assert.match(statusOf(dir).detail ?? '', /resume continues from step/);
  const fresh = RunStore.create(path.join(tmp, 'abandoned-none'), 'none', {
    modelFileName: 'm.sbn.json',
    modelText: '{}',
    config: {},
    environment: {},
  });
  assert.equal(describeResume(fresh.dir), 'no checkpoint yet: resume starts from step 0');
  fresh.close();
});

test('an open run refreshes the heartbeat of its lock', async () => {
  const store = RunStore.create(path.join(tmp, 'beat'), 'beat', {
    modelFileName: 'm.sbn.json',
    modelText: '{}',
    config: {},
    environment: {},
  });
  const file = path.join(store.dir, 'lock');
  const before = JSON.parse(fs.readFileSync(file, 'utf8')) as { heartbeat: string; time: string };
  assert.equal(before.heartbeat, before.time);
  await new Promise((r) => setTimeout(r, 20));
  store.heartbeat();
  const after = JSON.parse(fs.readFileSync(file, 'utf8')) as { heartbeat: string; time: string; pid: number };
  assert.ok(Date.parse(after.heartbeat) > Date.parse(before.heartbeat));
  assert.equal(after.time, before.time);
  assert.equal(after.pid, process.pid);
  store.close();
  assert.ok(!fs.existsSync(file));
});

test('sbn eval of a checkpoint with NaN parameters names the file and the tensor (exit 2)', async () => {
  const dir = await copyOfStopped();
  editCheckpoint(dir, (cp) => {
    const t = firstParam(cp);
    t.base64 = Buffer.from(new Float32Array(t.shape.reduce((a, b) => a * b, 1)).fill(NaN).buffer).toString('base64');
  });
  const r = sbn(['eval', dir, '--samples', '2']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /checkpoint\.json: params\.\S+ holds NaN/);
});
