// test-backends: each
// Recovery (issue 13): Stop takes effect within about a second at any moment, even during an evaluation pass, with a
// checkpoint that resumes bit for bit; a damaged checkpoint is reported and resume falls back to the newest valid
// one (or refuses); resuming a run without a checkpoint records it; `--resume --epochs` is persisted; Ctrl-C during
// start-up and a double Ctrl-C leave no `running` run and no lock; a bad SBN_CHECKPOINT_SECONDS leaves no run; a lock
// from another host goes stale without a heartbeat; nonsense values are reported. Real `sbn` processes throughout.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  RunStore,
  readMetrics,
  effectiveMetrics,
  readConfig,
  releaseAbandonedRun,
  type MetricsRecord,
} from '../../src/engine/runs';
import { initBackend } from '../../src/engine/backend';
import { parseModelText } from '../../src/engine/spec';
import {
  buildRunConfig,
  describeResume,
  resumeSession,
  runSession,
  startSession,
} from '../../src/engine/train/session';
import { repoRoot } from './helpers/fixtures';

const root = repoRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-recovery-'));
const SBN = path.join(root, 'bin', 'sbn.js');

function sbn(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [SBN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

function start(args: string[], env: Record<string, string> = {}): ChildProcess & { stderrText: () => string } {
  const child = spawn(process.execPath, [SBN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  child.stdout.resume();
  return Object.assign(child, { stderrText: () => err });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
}

async function waitFor<T>(
  what: string,
  probe: () => T | undefined,
  child?: ChildProcess,
  ms = 90000,
  every = 10,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = (() => {
      try {
        return probe();
      } catch {
        return undefined;
      }
    })();
    if (v !== undefined) return v;
    if (Date.now() > deadline) {
      child?.kill('SIGKILL');
      assert.fail(`${what}: not within ${ms / 1000} s`);
    }
    if (child && (child.exitCode !== null || child.signalCode !== null))
      assert.fail(`${what}: the process ended first`);
    await new Promise((r) => setTimeout(r, every));
  }
}

function onlyRun(out: string): string {
  const runs = fs.existsSync(out) ? fs.readdirSync(out) : [];
  if (runs.length !== 1) throw new Error(`expected one run under ${out}, got ${runs.length}`);
  return path.join(out, runs[0]);
}

function writeModel(name: string, spec: Record<string, unknown>, trainExtra: Record<string, unknown> = {}): string {
  const file = path.join(tmp, `${name}.sbn.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({
      name,
      input: { shape: [2] },
      states: 'pm1',
      layers: [{ type: 'dense', units: 16 }],
      output: { units: 1, loss: 'logistic' },
      data: { dataset: 'toy-2d', validation: 40 },
      ...spec,
      train: {
        estimator: 'psa',
        optimizer: { type: 'adam' },
        lr: 0.01,
        batchSize: 20,
        epochs: 2,
        evalSamples: 4,
        logInterval: 4,
        ...trainExtra,
      },
    }),
  );
  return file;
}

const VOLATILE = new Set(['time', 'elapsed', 'samplesPerSecond', 'seconds']);
function comparable(records: MetricsRecord[]): unknown[] {
  return effectiveMetrics(records)
    .filter((r) => ['step', 'eval', 'epoch'].includes(r.kind as string))
    .map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !VOLATILE.has(k))));
}

function statusOf(dir: string) {
  return JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as { status: string; detail?: string };
}

/** A run that must be left neither `running` (as recorded) nor locked. */
function assertReleased(dir: string): void {
  assert.notEqual(statusOf(dir).status, 'running', `${dir}: status.json still says running`);
  assert.ok(!fs.existsSync(path.join(dir, 'lock')), `${dir}: the lock is still there`);
}

// An evaluation pass that takes seconds: 160 training examples × 3000 samples through 64 units.
// evalSamples stays within the schema's limit (1024); the width makes the evaluation last
const slowEval = () =>
  writeModel(
    'sloweval',
    { layers: [{ type: 'dense', units: 192 }] },
    { evalSamples: 1000, batchSize: 20, epochs: 2, logInterval: 4 },
  );

test('Stop in the end-of-epoch evaluation: within ~1 s, checkpoints its last step, resumes bit for bit', async (t) => {
  const model = slowEval();
  const out = path.join(tmp, 'stop-eval');
  const child = start(['train', model, '--out', out, '--no-progress']);
  // the step record of step 8 is the end of epoch 1; its evaluation follows
  const dir = await waitFor(
    'end of epoch 1',
    () => {
      const d = onlyRun(out);
      return readMetrics(d).records.some((r) => r.kind === 'step' && r.step === 8) ? d : undefined;
    },
    child,
    120000,
    5,
  );
  await new Promise((r) => setTimeout(r, 200)); // well inside the evaluation
  assert.ok(
    !readMetrics(dir).records.some((r) => r.kind === 'epoch'),
    'the evaluation had already ended: make it slower',
  );
  const asked = Date.now();
  child.kill('SIGINT');
  const { code } = await exited(child);
  const took = Date.now() - asked;
  assert.equal(code, 0, child.stderrText());
  assert.ok(took < 1500, `Stop took ${took} ms`);
  t.diagnostic(`Stop during the evaluation: ${took} ms from SIGINT to exit`);
  assertReleased(dir);
  assert.equal(statusOf(dir).status, 'stopped');
  assert.equal(RunStore.readCheckpoint(dir, 'latest').step, 8);
  assert.match(child.stderrText(), /resume continues from step 8 \(checkpoint of /);

  const resumed = sbn(['train', '--resume', dir, '--no-progress']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /from step 8/);
  const straight = sbn(['train', model, '--out', path.join(tmp, 'stop-eval-straight'), '--no-progress']);
  assert.equal(straight.status, 0, straight.stderr);
  assert.deepEqual(
    comparable(readMetrics(dir).records),
    comparable(readMetrics(onlyRun(path.join(tmp, 'stop-eval-straight'))).records),
  );
});

test('a double Ctrl-C during an evaluation leaves the run stopped and unlocked', async () => {
  const model = slowEval();
  const out = path.join(tmp, 'double');
  const child = start(['train', model, '--out', out, '--no-progress']);
  const dir = await waitFor(
    'end of epoch 1',
    () => {
      const d = onlyRun(out);
      return readMetrics(d).records.some((r) => r.kind === 'step' && r.step === 8) ? d : undefined;
    },
    child,
    120000,
    5,
  );
  await new Promise((r) => setTimeout(r, 200));
  child.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 30));
  if (child.exitCode === null) child.kill('SIGINT');
  await exited(child);
  assertReleased(dir);
});

test('SIGKILL, checkpoint at step 60 (evalInterval 6, logInterval 3): resumes to the uninterrupted run', async () => {
  const model = writeModel(
    'evalorder',
    { layers: [{ type: 'dense', units: 32 }], data: { dataset: 'toy-2d' } },
    { batchSize: 4, epochs: 2, evalInterval: 6, logInterval: 3, evalSamples: 600 },
  );
  const out = path.join(tmp, 'evalorder');
  const child = start(['train', model, '--out', out, '--no-progress'], { SBN_CHECKPOINT_SECONDS: '0' });
  const dir = await waitFor(
    'a checkpoint at step ≥ 60',
    () => {
      const d = onlyRun(out);
      return RunStore.readCheckpoint(d, 'latest').step >= 60 ? d : undefined;
    },
    child,
    120000,
    2,
  );
  child.kill('SIGKILL');
  await exited(child);
  const resumed = sbn(['train', '--resume', dir, '--no-progress']);
  assert.equal(resumed.status, 0, resumed.stderr);
  const straight = sbn(['train', model, '--out', path.join(tmp, 'evalorder-straight'), '--no-progress']);
  assert.equal(straight.status, 0, straight.stderr);
  const a = comparable(readMetrics(onlyRun(path.join(tmp, 'evalorder-straight'))).records);
  assert.ok(a.filter((r) => (r as { kind: string }).kind === 'eval').length >= 16);
  assert.deepEqual(comparable(readMetrics(dir).records), a);
});

// A stopped run in the middle of epoch 2 (toy-2d, 8 steps per epoch): checkpoint.json at step 12,
// epoch-0001.json at step 8.
let baseRun: string | undefined;
async function stoppedRun(): Promise<string> {
  if (baseRun) return baseRun;
  const backend = await initBackend();
  const model = writeModel('base', {}, { epochs: 2 });
  const text = fs.readFileSync(model, 'utf8');
  const parsed = parseModelText(text, model);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const session = startSession(model, text, parsed.model, {}, path.join(tmp, 'base'), {
    backend: backend.name,
    backendDetail: backend.detail,
    versions: {},
  });
  let steps = 0;
  const { result } = await runSession(session, backend.name, {
    events: {
      step: (e) => {
        steps = e.step;
      },
    },
    shouldStop: () => steps >= 12,
  });
  assert.equal(result.status, 'stopped');
  assert.equal(RunStore.readCheckpoint(session.store.dir, 'latest').step, 12);
  baseRun = session.store.dir;
  return baseRun;
}

let copies = 0;
async function copyOfStopped(): Promise<string> {
  const src = await stoppedRun();
  const dst = path.join(tmp, 'copies', `run-${++copies}`);
  fs.cpSync(src, dst, { recursive: true });
  return dst;
}

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

test('a resume on another backend is reported, in the log and the run folder', async () => {
  const dir = await copyOfStopped();
  const env = JSON.parse(fs.readFileSync(path.join(dir, 'environment.json'), 'utf8')) as { backend: string };
  const other = env.backend === 'wasm' ? 'cpu' : 'wasm';
  const r = sbn(['train', '--resume', dir, '--backend', other, '--no-progress']);
  assert.equal(r.status, 0, r.stderr);
  const said = new RegExp(`trained on ${env.backend}.*${other}`);
  assert.match(r.stderr, said);
  assert.ok(readMetrics(dir).records.some((x) => x.kind === 'warning' && said.test(String(x.message))));
});

test('SBN_CHECKPOINT_SECONDS=abc exits 2 and leaves no running run', () => {
  const model = writeModel('envbad', {});
  const out = path.join(tmp, 'envbad');
  const r = sbn(['train', model, '--out', out, '--no-progress'], { SBN_CHECKPOINT_SECONDS: 'abc' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /SBN_CHECKPOINT_SECONDS/);
  for (const name of fs.existsSync(out) ? fs.readdirSync(out) : []) assertReleased(path.join(out, name));
});

test('Ctrl-C while a resumed run loads its data leaves it stopped (or as it was) and unlocked', async () => {
  // a run folder of an MNIST model (loading MNIST takes a moment) without a checkpoint
  const model = path.join(tmp, 'mnist-start.sbn.json');
  fs.writeFileSync(
    model,
    JSON.stringify({
      name: 'mnist-start',
      input: { shape: [784] },
      layers: [{ type: 'dense', units: 8 }],
      output: { units: 10, loss: 'nll' },
      data: { dataset: 'mnist', validation: 1000, scale: 'unit' },
      train: { estimator: 'dste', lr: 0.01, epochs: 1, batchSize: 64 },
    }),
  );
  const parsed = parseModelText(fs.readFileSync(model, 'utf8'), model);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const store = RunStore.create(path.join(tmp, 'startup'), 'mnist-start', {
    modelFileName: model,
    modelText: '',
    config: buildRunConfig(parsed.model, model),
    environment: {},
  });
  const dir = store.dir;
  store.setStatus('crashed', 'killed before its first checkpoint');
  store.close();
  const child = start(['train', '--resume', dir, '--no-progress']);
  await waitFor(
    'the lock of the resuming process',
    () => {
      const lock = JSON.parse(fs.readFileSync(path.join(dir, 'lock'), 'utf8')) as { pid: number };
      return lock.pid === child.pid ? true : undefined;
    },
    child,
    60000,
    2,
  );
  child.kill('SIGINT');
  await exited(child);
  assertReleased(dir);
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

test('Stop in a gradient-diagnostics pass: within 1 s; the resume redoes it, as the uninterrupted run', async (t) => {
  const backend = await initBackend();
  const model = writeModel(
    'diagstop',
    { diagnostics: { interval: 4, estimators: ['psa', 'reinforce'], draws: 20000, budgetSeconds: 3, batch: 16 } },
    { epochs: 1 },
  );
  const text = fs.readFileSync(model, 'utf8');
  const parsed = parseModelText(text, model);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const env = { backend: backend.name, backendDetail: backend.detail, versions: {} };
  const session = startSession(model, text, parsed.model, {}, path.join(tmp, 'diagstop'), env);
  let stop = false;
  let asked = 0;
  const { result } = await runSession(session, backend.name, {
    events: {
      step: (e) => {
        if (e.step === 4 && !asked)
          setTimeout(() => {
            asked = Date.now();
            stop = true;
          }, 300);
      },
    },
    shouldStop: () => stop,
  });
  const took = Date.now() - asked;
  t.diagnostic(`Stop during the diagnostics pass: ${took} ms`);
  assert.equal(result.status, 'stopped');
  assert.ok(asked > 0 && took < 1000, `Stop took ${took} ms`);
  const dir = session.store.dir;
  const cp = RunStore.readCheckpoint(dir, 'latest');
  assert.equal(cp.step, 4);
  assert.equal((cp.extra as { pending?: { diagnostics: boolean } }).pending?.diagnostics, true);
  assert.ok(!readMetrics(dir).records.some((r) => r.kind === 'diagnostics'));
  assertReleased(dir);

  const resumed = resumeSession(dir, { backend: backend.name });
  assert.equal((await runSession(resumed, backend.name, {})).result.status, 'finished');
  const straight = startSession(model, text, parsed.model, {}, path.join(tmp, 'diagstop-straight'), env);
  assert.equal((await runSession(straight, backend.name, {})).result.status, 'finished');
  const records = effectiveMetrics(readMetrics(dir).records);
  assert.deepEqual(
    records.filter((r) => r.kind === 'diagnostics').map((r) => r.step),
    [4, 8],
  );
  assert.deepEqual(comparable(readMetrics(dir).records), comparable(readMetrics(straight.store.dir).records));
});
