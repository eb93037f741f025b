// test-backends: one
// The host ↔ worker protocol (src/protocol.ts) end to end: real worker processes (dist/worker.js, forked as the run
// manager forks them) answer every request type with the events the protocol names, each event checked by the
// protocol's own parser; a stopped training run acknowledges the stop, records it and resumes; malformed requests
// get an error naming the field instead of a crash. The parsers themselves are checked on hand-made messages.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseWorkerEvent, parseWorkerRequest, type WorkerEvent, type WorkerRequest } from '../../src/protocol';
import { repoRoot } from './helpers/fixtures';

const WORKER = path.join(repoRoot(), 'dist', 'worker.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-worker-protocol-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

type EventOf<T extends WorkerEvent['type']> = Extract<WorkerEvent, { type: T }>;

/** A worker process as the run manager starts one, with every event it sent (each checked by parseWorkerEvent). */
class Worker {
  readonly child: ChildProcess;
  readonly events: WorkerEvent[] = [];
  readonly exited: Promise<number | null>;
  private stderr = '';
  private waiters: (() => void)[] = [];

  constructor() {
    this.child = fork(WORKER, [], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      cwd: path.dirname(WORKER),
    });
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    this.child.on('message', (m: unknown) => {
      const parsed = parseWorkerEvent(m);
      assert.ok(parsed.ok, `the worker sent a malformed event: ${parsed.ok ? '' : parsed.error}`);
      this.events.push(parsed.message);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    void this.exited.then(() => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** A request, or anything else (the malformed-request tests). */
  send(request: unknown): void {
    this.child.send(request as object);
  }

  /** The first event of this type for which `accept` holds (waits for it; fails when the worker exits first). */
  async next<T extends WorkerEvent['type']>(
    type: T,
    accept: (e: EventOf<T>) => boolean = () => true,
    timeoutMs = 120_000,
  ): Promise<EventOf<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e): e is EventOf<T> => e.type === type && accept(e as EventOf<T>));
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        assert.fail(`the worker exited without a "${type}" event; events: ${this.types().join(', ')}; ${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`no "${type}" event within ${timeoutMs} ms; events: ${this.types().join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  types(): string[] {
    return this.events.map((e) => e.type);
  }

  /** Waits for the worker to exit; its exit code. */
  finish(): Promise<number | null> {
    return this.exited;
  }
}

function modelFile(name: string, train: Record<string, unknown>): { file: string; text: string } {
  const file = path.join(tmp, `${name}.sbn.json`);
  const text = JSON.stringify(
    {
      name,
      input: { shape: [2] },
      states: 'pm1',
      layers: [{ type: 'dense', units: 8 }],
      output: { units: 1, loss: 'logistic' },
      data: { dataset: 'toy-2d', validation: 40 },
      train: { estimator: 'psa', lr: 0.01, batchSize: 4, evalSamples: 4, logInterval: 1, ...train },
    },
    null,
    2,
  );
  fs.writeFileSync(file, text);
  return { file, text };
}

function statusOf(runDir: string): { status: string } {
  return JSON.parse(fs.readFileSync(path.join(runDir, 'status.json'), 'utf8')) as { status: string };
}

test('train, stop, resume, evaluate: events in order, the stop acknowledged, the run folder resumable', async () => {
  const { file, text } = modelFile('stopped', { epochs: 100 });
  const runsRoot = path.join(tmp, 'runs');
  const train = new Worker();
  train.send({ type: 'train', modelFile: file, modelText: text, overrides: {}, runsRoot, backend: 'auto' });
  // a whole epoch first, so that eval and epoch events have been seen; then a malformed request, which must not
  // disturb the job, and the stop
  const epoch = await train.next('epoch');
  await train.next('eval');
  train.send({ type: 'frobnicate' });
  await train.next('message', (m) => m.text.startsWith('warning: ignored a request'));
  train.send({ type: 'stop' });
  const done = await train.next('done');
  assert.equal(await train.finish(), 0);

  const started = train.events.find((e): e is EventOf<'started'> => e.type === 'started');
  assert.ok(started, train.types().join(', '));
  assert.equal(started.job, 'train');
  assert.equal(started.estimator, 'psa');
  assert.ok(started.runDir && fs.existsSync(started.runDir), `run folder ${started.runDir}`);
  if (process.env.SBN_BACKEND) assert.equal(started.backend, process.env.SBN_BACKEND);
  const types = train.types();
  assert.match(
    (train.events[0] as EventOf<'message'>).text ?? '',
    /^backend /,
    'the backend line comes before anything else',
  );
  assert.ok(types.indexOf('started') < types.indexOf('step'), types.join(', '));
  assert.equal(types[types.length - 1], 'done', 'nothing after done');
  const steps = train.events.filter((e): e is EventOf<'step'> => e.type === 'step').map((e) => e.step);
  assert.deepEqual(
    steps,
    [...steps].sort((a, b) => a - b),
    'steps increase',
  );
  assert.ok(epoch.epoch >= 1 && epoch.step >= 1);
  const warning = train.events.find((e) => e.type === 'message' && e.text.startsWith('warning: ignored'));
  assert.match(
    (warning as EventOf<'message'>).text,
    /worker request: unknown type "frobnicate" \(expected one of "train", .*"stop"\)/,
  );

  assert.equal(done.status, 'stopped', JSON.stringify(done));
  assert.equal(done.runDir, started.runDir);
  assert.equal(statusOf(started.runDir).status, 'stopped');
  const last = train.events.filter((e): e is EventOf<'step'> => e.type === 'step').pop();
  assert.ok(last && last.step < last.totalSteps, `stopped before the end (step ${last?.step})`);

  // resume the stopped run: same folder, steps go on from the checkpoint; stop it again
  const resume = new Worker();
  resume.send({ type: 'resume', runDir: started.runDir, backend: 'auto' });
  const resumed = await resume.next('started');
  assert.equal(resumed.job, 'resume');
  assert.equal(resumed.runDir, started.runDir);
  await resume.next('message', (m) => m.text.startsWith('resuming '));
  const firstStep = await resume.next('step');
  assert.ok(firstStep.step > epoch.step, `resumed at step ${firstStep.step}, after the epoch at ${epoch.step}`);
  resume.send({ type: 'stop' });
  assert.equal((await resume.next('done')).status, 'stopped');
  assert.equal(await resume.finish(), 0);

  // evaluate the checkpoint
  const evaluate = new Worker();
  evaluate.send({ type: 'evaluate', runDir: started.runDir, samples: 4, split: 'auto', backend: 'auto' });
  const evaluating = await evaluate.next('started');
  assert.equal(evaluating.job, 'evaluate');
  const { view: evaluation } = await evaluate.next('runEvaluation');
  assert.equal(evaluation.ensemble.length, 4);
  assert.equal(evaluation.run, path.basename(started.runDir));
  assert.match(evaluation.markdown, /^# Evaluation of /);
  assert.match(evaluation.markdown, /\| samples \| accuracy \|/);
  assert.equal((await evaluate.next('done')).status, 'finished');
  assert.equal(await evaluate.finish(), 0);
});

test('compare and preview: started, then the report or the gradient statistics, then done', async () => {
  const { file, text } = modelFile('compared', { epochs: 1 });
  const compare = new Worker();
  compare.send({
    type: 'compare',
    modelFile: file,
    modelText: text,
    estimators: ['psa', 'dste', 'exact'],
    draws: 8,
    backend: 'auto',
  });
  assert.equal((await compare.next('started')).job, 'compare');
  const { view: compared } = await compare.next('estimatorComparison');
  // 8 draws: of 1, 2, 5, 10 … those with at least two groups of M (diagnosticsMGrid); exact is no sampler
  assert.deepEqual(compared.M, [1, 2]);
  assert.deepEqual(
    compared.estimators.map((e) => e.estimator),
    ['psa', 'dste'],
  );
  assert.match(compared.markdown, /Estimator comparison: compared/);
  assert.equal((await compare.next('done')).status, 'finished');
  assert.equal(await compare.finish(), 0);

  const preview = new Worker();
  preview.send({
    type: 'preview',
    modelFile: file,
    modelText: text,
    estimators: ['psa', 'dste'],
    draws: 8,
    backend: 'auto',
  });
  assert.equal((await preview.next('started')).job, 'preview');
  const { result } = await preview.next('preview');
  assert.deepEqual(
    result.estimators.map((e) => e.estimator),
    ['psa', 'dste'],
  );
  assert.equal(result.draws, 8);
  assert.ok(result.layers.length >= 2, result.layers.join(', '));
  for (const e of result.estimators) assert.equal(e.layers.length, result.layers.length);
  assert.equal((await preview.next('done')).status, 'finished');
  assert.deepEqual(preview.types().slice(-2), ['preview', 'done']);
  assert.equal(await preview.finish(), 0);
});

test('environment: the report, then done', async () => {
  const env = new Worker();
  env.send({ type: 'environment', sbnVersion: '0.0.0-test', backend: 'auto', runsFolders: [tmp] });
  const { report } = await env.next('environment');
  assert.equal(report.sbnVersion, '0.0.0-test');
  assert.ok(report.backends.some((b) => b.name === 'cpu' && b.loads));
  assert.equal((await env.next('done')).status, 'finished');
  assert.equal(await env.finish(), 0);
});

test('errors: a bad model file is a user error (exit 2); a malformed request names the field (exit 1)', async () => {
  const bad = new Worker();
  bad.send({
    type: 'train',
    modelFile: path.join(tmp, 'bad.sbn.json'),
    modelText: '{ "name": "bad" }',
    overrides: {},
    runsRoot: path.join(tmp, 'runs'),
    backend: 'auto',
  });
  const userError = await bad.next('error');
  assert.equal(userError.userError, true);
  assert.match(userError.message, /bad\.sbn\.json/);
  assert.equal(await bad.finish(), 2);

  const cases: [unknown, RegExp][] = [
    [{ type: 'train' }, /^worker request "train": "modelFile" is missing \(a string\)$/],
    [
      { type: 'evaluate', runDir: tmp, samples: '4', split: 'auto', backend: 'auto' },
      /^worker request "evaluate": "samples" must be a finite number, got "4"$/,
    ],
    [{ type: 'resume', runDir: tmp, backend: 'gpu' }, /"backend" must be one of "auto", "tensorflow", "wasm", "cpu"/],
    ['train', /^worker request: expected an object with a string "type", got "train"$/],
  ];
  for (const [request, expected] of cases) {
    const w = new Worker();
    w.send(request);
    const error = await w.next('error');
    assert.match(error.message, expected);
    assert.equal(error.userError, false);
    assert.equal(await w.finish(), 1);
    assert.deepEqual(w.types(), ['error'], 'no job started');
  }
});

test('parseWorkerRequest / parseWorkerEvent: every message type, malformed ones named by field', () => {
  const requests: WorkerRequest[] = [
    {
      type: 'train',
      modelFile: 'm',
      modelText: '',
      overrides: { lr: 'search', epochs: 2 },
      runsRoot: 'r',
      backend: 'cpu',
    },
    { type: 'resume', runDir: 'r', backend: 'auto' },
    { type: 'compare', modelFile: 'm', modelText: '', estimators: ['psa'], draws: 1, backend: 'wasm' },
    { type: 'evaluate', runDir: 'r', samples: 1, split: 'test', backend: 'tensorflow' },
    { type: 'preview', modelFile: 'm', modelText: '', estimators: [], draws: 1, backend: 'auto' },
    { type: 'environment', sbnVersion: '1', backend: 'auto', runsFolders: [] },
    { type: 'stop' },
  ];
  for (const r of requests) assert.deepEqual(parseWorkerRequest(r), { ok: true, message: r });
  assert.deepEqual(parseWorkerRequest({ ...requests[0], overrides: { lr: 'fast' } }), {
    ok: false,
    error: 'worker request "train": "overrides.lr" must be a finite number or "search"',
  });
  assert.deepEqual(parseWorkerRequest({ ...requests[2], estimators: ['psa', 3] }), {
    ok: false,
    error: 'worker request "compare": "estimators[1]" must be a string, got 3',
  });
  assert.deepEqual(parseWorkerRequest(null), {
    ok: false,
    error: 'worker request: expected an object with a string "type", got null',
  });

  const events: WorkerEvent[] = [
    { type: 'started', job: 'train', backend: 'cpu', description: 'd' },
    { type: 'step', step: 1, epoch: 0.1, loss: 1, lr: 0.1, samplesPerSecond: 9, totalSteps: 9, stepsPerEpoch: 9 },
    { type: 'eval', split: 'test', step: 1, epoch: 1, u_loss: 1, acc1: 0.5, acc_e: 0.5, entropy: 1 },
    { type: 'epoch', step: 9, epoch: 1, loss: 1, seconds: 1 },
    { type: 'message', text: 't' },
    { type: 'done', status: 'diverged', message: 'm' },
    { type: 'error', message: 'e', userError: true },
    {
      type: 'preview',
      result: {
        reference: 'exact',
        layers: ['a'],
        draws: 1,
        note: 'n',
        seconds: 1,
        estimators: [{ estimator: 'psa', seconds: 1, layers: [{ name: 'a', variance: 1, snr: 1, bias: 0, cos1: 1 }] }],
      },
    },
  ];
  for (const e of events) assert.deepEqual(parseWorkerEvent(e), { ok: true, message: e });
  // NaN and ±∞ cross the IPC channel as null (JSON): a diverged step's loss is still a step
  assert.equal(parseWorkerEvent({ ...events[1], loss: null }).ok, true);
  assert.deepEqual(parseWorkerEvent({ ...events[1], step: null }), {
    ok: false,
    error: 'worker event "step": "step" must be a finite number, got null',
  });
  assert.deepEqual(parseWorkerEvent({ type: 'done', status: 'crashed' }), {
    ok: false,
    error: 'worker event "done": "status" must be one of "finished", "stopped", "diverged", got "crashed"',
  });
  assert.deepEqual(parseWorkerEvent({ type: 'environment', report: { schema: 'other/1' } }), {
    ok: false,
    error: 'worker event "environment": "report.schema" must be one of "sbn-environment/1", got "other/1"',
  });
});
