// test-backends: each
// Recovery (issue 13), what depends on the backend: Stop takes effect within about a second at any moment, even
// during an evaluation or a gradient-diagnostics pass, with a checkpoint that resumes bit for bit; a SIGKILLed run
// resumes to the uninterrupted one; a double Ctrl-C, and Ctrl-C while a resumed run loads its data, leave no
// `running` run and no lock; a resume on another backend is reported. Real `sbn` processes throughout. Damaged
// checkpoints, locks and bad settings: recoveryCheckpoints.test.ts.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunStore, readMetrics, effectiveMetrics } from '../../src/engine/runs';
import { initBackend } from '../../src/engine/backend';
import { parseModelText } from '../../src/engine/spec';
import { buildRunConfig, resumeSession, runSession, startSession } from '../../src/engine/train/session';
import {
  tmp,
  sbn,
  start,
  exited,
  waitFor,
  onlyRun,
  writeModel,
  comparable,
  statusOf,
  assertReleased,
  copyOfStopped,
} from './helpers/recoveryRuns';

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
