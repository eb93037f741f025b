// test-backends: one
// The run folder (src/engine/runs): layout, metrics.jsonl, checkpoints, status, lock, crash tolerance.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  Checkpoint,
  effectiveMetrics,
  listCheckpoints,
  readCheckpoint,
  readMetrics,
  readSummary,
  RunStore,
  tailMetrics,
  sanitizeRunName,
  modelCopyName,
  parseCheckpoint,
  serializeCheckpoint,
  type MetricsRecordInput,
  type RunSummary,
} from '../../src/engine/runs';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-runs-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let counter = 0;
/** A complete step record (the writer checks records against their kind's type). */
function stepRecord(
  step: number,
  more: { elapsed?: number; loss?: number } = {},
): Extract<MetricsRecordInput, { kind: 'step' }> {
  return { kind: 'step', step, epoch: step / 10, loss: 0.5, lr: 0.01, samplesPerSecond: 100, ...more };
}
const evalFields = { epoch: 1, u_loss: 0.3, acc1: 0.9, acc_e: 0.9, entropy: 0.1, examples: 10, samples: 1 };

function freshRoot(): string {
  const d = path.join(tmpRoot, `r${++counter}`);
  fs.mkdirSync(d);
  return d;
}

const MODEL_TEXT = '# toy model\nname: toy\ninput: { shape: [2] }\nstates: "01"\nnoise: logistic\n';
function init(created = new Date(2024, 4, 17, 9, 5, 3)) {
  return {
    modelFileName: '/somewhere/toy.sbn.yaml',
    modelText: MODEL_TEXT,
    config: { name: 'toy', train: { estimator: 'psa', lr: 0.01, epochs: 2 } },
    environment: { backend: 'wasm', tfjs: '4.22.0', node: process.version },
    created,
  };
}

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  assert.equal(r.status, 0);
  return r.pid;
}

test('create writes the folder layout; names are dated, sanitized and never collide', () => {
  const root = freshRoot();
  const a = RunStore.create(root, 'mnist psa/τ=1', init());
  assert.equal(path.basename(a.dir), '20240517-090503-mnist-psa-1');
  assert.equal(a.name, 'mnist-psa-1');
  const files = fs.readdirSync(a.dir).sort();
  assert.deepEqual(files, [
    'config.json',
    'environment.json',
    'lock',
    'metrics.jsonl',
    'model.sbn.yaml',
    'run.json',
    'status.json',
  ]);
  assert.equal(fs.readFileSync(path.join(a.dir, 'model.sbn.yaml'), 'utf8'), MODEL_TEXT);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(a.dir, 'config.json'), 'utf8')), init().config);
  const environment = JSON.parse(fs.readFileSync(path.join(a.dir, 'environment.json'), 'utf8')) as { backend: string };
  assert.equal(environment.backend, 'wasm');
  const run = JSON.parse(fs.readFileSync(path.join(a.dir, 'run.json'), 'utf8')) as unknown;
  assert.deepEqual(run, {
    format: 'sbn-run',
    version: 1,
    name: 'mnist-psa-1',
    created: init().created.toISOString(),
    model: 'model.sbn.yaml',
    source: '/somewhere/toy.sbn.yaml',
  });
  const st = RunStore.status(a.dir);
  assert.equal(st.status, 'running');
  assert.equal(st.pid, process.pid);
  assert.equal(st.hostname, os.hostname());

  const b = RunStore.create(root, 'mnist psa/τ=1', init());
  const c = RunStore.create(root, 'mnist psa/τ=1', init());
  assert.equal(path.basename(b.dir), '20240517-090503-mnist-psa-1-2');
  assert.equal(path.basename(c.dir), '20240517-090503-mnist-psa-1-3');
  for (const s of [a, b, c]) s.close();
  assert.ok(!fs.existsSync(path.join(a.dir, 'lock')), 'close releases the lock');

  assert.equal(sanitizeRunName('  ../../etc/passwd  '), 'etc-passwd');
  assert.equal(sanitizeRunName('***'), 'run');
  assert.equal(sanitizeRunName('x'.repeat(100)).length, 64);
  assert.equal(modelCopyName('a/b/net.sbn.json'), 'model.sbn.json');
  assert.equal(modelCopyName('net.YAML'), 'model.yaml');
  assert.equal(modelCopyName('net.v2.yml'), 'model.yml');
  assert.equal(modelCopyName('Makefile'), 'model.txt');
});

test('open reopens a run; a non-run folder gives a clear error', () => {
  const root = freshRoot();
  const a = RunStore.create(root, 'x', init());
  a.close();
  const b = RunStore.open(a.dir);
  assert.equal(b.name, 'x');
  assert.equal(b.manifest.model, 'model.sbn.yaml');
  b.close();
  b.close(); // idempotent
  assert.throws(() => b.setStatus('finished'), /is closed/);
  assert.throws(() => RunStore.open(path.join(root, 'nope')), /run folder .*nope does not exist/);
  fs.mkdirSync(path.join(root, 'plain'));
  assert.throws(() => RunStore.open(path.join(root, 'plain')), /plain is not an sbn run folder \(no run\.json\)/);
});

test('list: newest first, tolerant of broken folders, with estimator, status, last record and summary', () => {
  const root = freshRoot();
  assert.deepEqual(RunStore.list(path.join(root, 'missing')), []);
  const old = RunStore.create(root, 'old', init(new Date(2024, 0, 1, 12, 0, 0)));
  old.appendMetrics(stepRecord(10));
  old.appendMetrics({ kind: 'eval', step: 10, split: 'validation', ...evalFields });
  // another writer's summary: readers take it as it is
  old.writeSummary({ best: { acc1: 0.9 } } as unknown as RunSummary);
  old.setStatus('finished');
  old.close();
  const newer = RunStore.create(root, 'new', init(new Date(2024, 5, 1, 12, 0, 0)));
  newer.close();
  fs.mkdirSync(path.join(root, 'not-a-run'));
  fs.mkdirSync(path.join(root, '.hidden'));
  fs.writeFileSync(path.join(root, 'notes.txt'), 'x');
  const broken = RunStore.create(root, 'broken', init(new Date(2023, 0, 1)));
  broken.close();
  fs.writeFileSync(path.join(broken.dir, 'status.json'), '{"stat');

  const list = RunStore.list(root);
  assert.deepEqual(
    list.filter((r) => !r.reason).map((r) => r.name),
    ['new', 'old'],
  );
  const byName = Object.fromEntries(list.map((r) => [path.basename(r.dir), r]));
  const o = byName[path.basename(old.dir)];
  assert.equal(o.status, 'finished');
  assert.equal(o.estimator, 'psa');
  assert.equal(o.model, 'model.sbn.yaml');
  assert.equal(o.last?.kind, 'eval');
  assert.equal(o.last?.kind === 'eval' && o.last.acc1, 0.9);
  assert.deepEqual(o.summary, { best: { acc1: 0.9 } });
  assert.equal(
    byName[path.basename(newer.dir)].status,
    'running',
    'no final status, and its process (this one) is alive',
  );
  assert.match(byName['not-a-run'].reason ?? '', /not an sbn run folder \(no run\.json\)/);
  const br = byName[path.basename(broken.dir)];
  assert.equal(br.name, 'broken');
  assert.match(br.reason ?? '', /^status: .*status\.json/);
  assert.equal(br.estimator, 'psa', 'what can be read still is');
  assert.equal(list.length, 4, 'hidden folders and files are skipped');
  assert.equal(list.at(-1)?.dir, broken.dir, 'oldest last');
});

test('metrics: append + read; envelope filled in; truncated last line ignored; corruption elsewhere reported', () => {
  const root = freshRoot();
  const run = RunStore.create(root, 'm', init());
  const w = run.appendMetrics({ kind: 'step', step: 1, epoch: 0.1, loss: 0.7, lr: 0.01, samplesPerSecond: 100 });
  assert.match(w.time, /^\d{4}-\d\d-\d\dT/);
  assert.equal(typeof w.elapsed, 'number');
  const noted = { ...stepRecord(2, { loss: NaN }), note: 'line\nbreak "quoted"' }; // a field readers do not know
  run.appendMetrics(noted);
  run.appendMetrics({
    kind: 'eval',
    step: 2,
    split: 'validation',
    ...evalFields,
    time: '2000-01-01T00:00:00.000Z',
    elapsed: 5,
  });
  assert.throws(() => run.appendMetrics({ step: 3 } as unknown as MetricsRecordInput), /"kind"/);
  assert.throws(() => run.appendMetrics({ kind: 'step' } as unknown as MetricsRecordInput), /"step"/);

  let r = readMetrics(run.dir);
  assert.equal(r.records.length, 3);
  assert.equal(r.droppedTail, null);
  assert.deepEqual(Object.keys(r.records[0]).slice(0, 4), ['kind', 'step', 'time', 'elapsed']);
  assert.equal(r.records[1].kind === 'step' && r.records[1].loss, null, 'NaN is written as null');
  assert.equal((r.records[1] as Record<string, unknown>).note, 'line\nbreak "quoted"');
  assert.equal(r.records[2].time, '2000-01-01T00:00:00.000Z', 'given time and elapsed are kept');
  assert.equal(r.records[2].elapsed, 5);

  const file = path.join(run.dir, 'metrics.jsonl');
  const good = fs.readFileSync(file);
  fs.appendFileSync(file, '{"kind":"step","step":3,"lo');
  r = readMetrics(run.dir);
  assert.equal(r.records.length, 3);
  assert.equal(r.droppedTail, '{"kind":"step","step":3,"lo');

  fs.writeFileSync(file, Buffer.concat([good, Buffer.from('{"kind":"step","ste\u0000\u0000\n')]));
  r = readMetrics(run.dir);
  assert.equal(r.records.length, 3, 'a garbled complete last line is ignored too');
  assert.ok(r.droppedTail);

  const lines = good.toString('utf8').split('\n');
  lines.splice(1, 0, 'garbage');
  fs.writeFileSync(file, lines.join('\n'));
  assert.throws(() => readMetrics(run.dir), /metrics\.jsonl:2: corrupt record: not valid JSON/);
  r = readMetrics(run.dir, { tolerant: true });
  assert.equal(r.records.length, 3);
  assert.equal(r.corrupt.length, 1);
  assert.equal(r.corrupt[0].line, 2);
  assert.equal(r.corrupt[0].byte, Buffer.byteLength(lines[0]) + 1);
  run.close();
  assert.deepEqual(readMetrics(path.join(root, 'nothing')).records, [], 'no file: no records');
});

test('metrics: reopening cuts an interrupted line, continues elapsed; resume records abandon recomputed steps', () => {
  const root = freshRoot();
  const a = RunStore.create(root, 'm', init());
  for (let s = 1; s <= 3; s++) a.appendMetrics(stepRecord(s, { elapsed: 100 + s }));
  a.close();
  const file = path.join(a.dir, 'metrics.jsonl');
  fs.appendFileSync(file, '{"kind":"step","step":4,"elap');
  const b = RunStore.open(a.dir);
  assert.ok(b.elapsed() >= 103 && b.elapsed() < 110, String(b.elapsed()));
  b.appendMetrics({ kind: 'resume', step: 2, epoch: 0.2 });
  const w = b.appendMetrics(stepRecord(3));
  assert.ok(w.elapsed >= 103);
  b.close();
  const r = readMetrics(a.dir);
  assert.equal(r.droppedTail, null);
  assert.deepEqual(
    r.records.map((x) => `${x.kind}${x.step}`),
    ['step1', 'step2', 'step3', 'resume2', 'step3'],
  );
  assert.deepEqual(
    effectiveMetrics(r.records).map((x) => `${x.kind}${x.step}`),
    ['step1', 'step2', 'resume2', 'step3'],
  );
});

test('tailMetrics: complete lines only, offsets continue, reset when the file shrinks', () => {
  const root = freshRoot();
  const run = RunStore.create(root, 't', init());
  let t = tailMetrics(run.dir, 0);
  assert.deepEqual([t.records.length, t.next, t.reset], [0, 0, false]);
  run.appendMetrics(stepRecord(1));
  const unicode = { ...stepRecord(2), text: 'ünïcødé' };
  run.appendMetrics(unicode);
  t = tailMetrics(run.dir, 0);
  assert.deepEqual(
    t.records.map((x) => x.step),
    [1, 2],
  );
  const file = path.join(run.dir, 'metrics.jsonl');
  assert.equal(t.next, fs.statSync(file).size);
  const half =
    '{"kind":"step","step":3,"time":"","elapsed":0,"epoch":0.3,"loss":0.5,"lr":0.01,"samplesPerSecond":100,"text":"ü';
  fs.appendFileSync(file, half);
  const t2 = tailMetrics(run.dir, t.next);
  assert.deepEqual([t2.records.length, t2.next], [0, t.next], 'a partial line waits');
  fs.appendFileSync(file, 'x"}\n');
  const t3 = tailMetrics(run.dir, t2.next);
  assert.deepEqual(
    t3.records.map((x) => [x.step, (x as Record<string, unknown>).text]),
    [[3, 'üx']],
  );
  assert.equal(t3.next, fs.statSync(file).size);
  assert.deepEqual(tailMetrics(run.dir, t3.next).records, []);
  fs.writeFileSync(
    file,
    '{"kind":"step","step":9,"time":"","elapsed":0,"epoch":0.9,"loss":0.5,"lr":0.01,"samplesPerSecond":100}\n',
  );
  const t4 = tailMetrics(run.dir, t3.next);
  assert.equal(t4.reset, true);
  assert.deepEqual(
    t4.records.map((x) => x.step),
    [9],
  );
  run.close();
});

function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function randomFloats(n: number, seed: number): Float32Array {
  const bits = new Uint32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    let b = x;
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0) b &= 0xff7fffff; // no NaN
    bits[i] = b;
  }
  const extremes = [
    0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x00400000, 0x00800000, 0x7f7fffff, 0xff7fffff,
    0x7f800000, 0xff800000, 0x3f800000, 0x33800000,
  ];
  extremes.forEach((b, i) => {
    bits[i] = b;
  });
  return new Float32Array(bits.buffer);
}

function checkpoint(step: number, epoch: number): Checkpoint {
  const w = randomFloats(7 * 5, 12345 + step);
  const big = new Float32Array(100);
  big.set(randomFloats(100, 99));
  return {
    format: 'sbn-checkpoint',
    version: 1,
    step,
    epoch,
    params: {
      'layers.0.w': { shape: [7, 5], data: w },
      'layers.0.b': { shape: [5], data: big.subarray(3, 8) }, // a view with an odd offset into a bigger buffer
      scalar: { shape: [], data: new Float32Array([Math.fround(Math.PI)]) },
      empty: { shape: [0, 3], data: new Float32Array(0) },
    },
    optimizer: {
      type: 'adam',
      state: { 'm/layers.0.w': { shape: [7, 5], data: randomFloats(35, 7) } },
      scalars: { t: step, beta1Power: 0.9 ** step, tiny: 5e-324, third: 1 / 3 },
    },
    rng: { noise: { s: [0xdeadbeef, 1, 2, 0xffffffff] } },
    data: { permutationSeed: 17, index: 640 },
    extra: { lr: 0.001, note: 'ü' },
  };
}

function assertSameCheckpoint(got: Checkpoint, want: Checkpoint): void {
  assert.deepEqual(Object.keys(got.params), Object.keys(want.params));
  for (const map of ['params', 'optimizer'] as const) {
    const g = map === 'params' ? got.params : got.optimizer!.state;
    const w = map === 'params' ? want.params : want.optimizer!.state;
    for (const k of Object.keys(w)) {
      assert.deepEqual(g[k].shape, w[k].shape, k);
      assert.ok(g[k].data instanceof Float32Array, k);
      assert.deepEqual(bitsOf(g[k].data), bitsOf(w[k].data), `${k} bit-for-bit`);
    }
  }
  const strip = (c: Checkpoint) => ({ ...c, params: undefined, optimizer: { ...c.optimizer, state: undefined } });
  assert.deepEqual(strip(got), strip(want));
}

test('checkpoints round-trip bit-for-bit: subnormals, ±0, ±Infinity, extremes, views', () => {
  const root = freshRoot();
  const run = RunStore.create(root, 'c', init());
  assert.throws(() => run.readCheckpoint(), /has no checkpoint yet/);
  const cp1 = checkpoint(100, 1);
  run.writeCheckpoint(cp1, { keep: 'epoch' });
  const cp2 = checkpoint(150, 1.5);
  run.writeCheckpoint(cp2);
  assertSameCheckpoint(run.readCheckpoint(), cp2);
  assertSameCheckpoint(readCheckpoint(run.dir, 1), cp1);
  assert.throws(
    () => readCheckpoint(run.dir, 2),
    /no checkpoint for epoch 2 \(checkpoints\/epoch-0002\.json is missing\)/,
  );
  assert.deepEqual(listCheckpoints(run.dir), { latest: true, epochs: [1] });
  assert.ok(fs.existsSync(path.join(run.dir, 'checkpoints', 'epoch-0001.json')));
  assert.throws(() => run.writeCheckpoint(cp2, { keep: 'epoch' }), /needs a whole epoch/);

  // NaN payloads survive too (the bytes are copied, never read as numbers).
  const nan = new Float32Array(new Uint32Array([0x7fc00000, 0x7f800001, 0xffc00123]).buffer);
  const back = parseCheckpoint(
    serializeCheckpoint({
      format: 'sbn-checkpoint',
      version: 1,
      step: 0,
      epoch: 0,
      params: { n: { shape: [3], data: nan } },
    }),
  );
  assert.deepEqual(bitsOf(back.params.n.data), bitsOf(nan));

  // The documented on-disk form: {shape, dtype, base64 of little-endian float32}.
  const onDisk = JSON.parse(fs.readFileSync(path.join(run.dir, 'checkpoint.json'), 'utf8')) as {
    params: Record<string, { shape: number[]; dtype: string; base64: string }>;
  };
  const t = onDisk.params.scalar;
  assert.deepEqual(Object.keys(t), ['shape', 'dtype', 'base64']);
  assert.equal(t.dtype, 'float32');
  assert.equal(Buffer.from(t.base64, 'base64').readFloatLE(0), Math.fround(Math.PI));
  assert.deepEqual(Object.keys(onDisk), [
    'format',
    'version',
    'step',
    'epoch',
    'params',
    'optimizer',
    'rng',
    'data',
    'extra',
  ]);
  run.close();
});

test('checkpoints: invalid input is refused with the tensor named', () => {
  const root = freshRoot();
  const run = RunStore.create(root, 'c', init());
  const base = checkpoint(1, 0);
  assert.throws(
    () => run.writeCheckpoint({ ...base, params: { w: { shape: [2, 2], data: new Float32Array(3) } } }),
    /params\.w: shape \[2, 2\] holds 4 values but data has 3/,
  );
  assert.throws(
    () =>
      run.writeCheckpoint({
        ...base,
        params: { w: { shape: [1], data: new Float64Array(1) as unknown as Float32Array } },
      }),
    /params\.w: data must be a Float32Array/,
  );
  assert.throws(
    () => run.writeCheckpoint({ ...base, optimizer: { type: 'adam', state: {}, scalars: { t: NaN } } }),
    /optimizer\.scalars\.t: NaN cannot be stored/,
  );
  assert.throws(
    () => run.writeCheckpoint({ ...base, extra: { x: new Float32Array(2) } }),
    /extra\.x: a Float32Array cannot be stored/,
  );
  assert.throws(() => run.writeCheckpoint({ ...base, step: 1.5 }), /step must be a non-negative integer/);
  assert.ok(!fs.existsSync(path.join(run.dir, 'checkpoint.json')), 'nothing written');
  const bad = (o: unknown) => () => parseCheckpoint(JSON.stringify(o), 'f.json');
  assert.throws(bad({ format: 'other' }), /f\.json: not an sbn checkpoint/);
  assert.throws(bad({ format: 'sbn-checkpoint', version: 2 }), /version 2 is not supported/);
  assert.throws(
    bad({
      format: 'sbn-checkpoint',
      version: 1,
      step: 0,
      epoch: 0,
      params: { w: { shape: [2], dtype: 'float32', base64: 'AAAAAA==' } },
    }),
    /params\.w: shape \[2\] needs 8 bytes but base64 holds 4/,
  );
  assert.throws(
    bad({
      format: 'sbn-checkpoint',
      version: 1,
      step: 0,
      epoch: 0,
      params: { w: { shape: [1], dtype: 'float64', base64: 'AAAAAA==' } },
    }),
    /dtype must be "float32"/,
  );
  run.close();
});

test('atomic writes: a leftover temporary file (a crash before rename) does not break reading; open removes it', () => {
  const root = freshRoot();
  const run = RunStore.create(root, 'a', init());
  const cp = checkpoint(10, 1);
  run.writeCheckpoint(cp, { keep: 'epoch' });
  // The crash: a half-written temporary file that never got renamed over checkpoint.json.
  const full = serializeCheckpoint(checkpoint(20, 2));
  const tmpLatest = path.join(run.dir, '.checkpoint.json.999999.tmp');
  const tmpEpoch = path.join(run.dir, 'checkpoints', '.epoch-0002.json.999999.tmp');
  fs.writeFileSync(tmpLatest, full.slice(0, full.length >> 1));
  fs.writeFileSync(tmpEpoch, full.slice(0, 100));
  fs.writeFileSync(path.join(run.dir, '.status.json.999999.tmp'), '{');
  assertSameCheckpoint(readCheckpoint(run.dir), cp);
  assert.deepEqual(listCheckpoints(run.dir), { latest: true, epochs: [1] });
  assert.equal(RunStore.status(run.dir).status, 'running');
  assert.equal(RunStore.list(root)[0].reason, undefined);
  run.close();
  const again = RunStore.open(run.dir);
  assert.ok(!fs.existsSync(tmpLatest) && !fs.existsSync(tmpEpoch), 'temporary files removed on open');
  again.writeCheckpoint(checkpoint(20, 2), { keep: 'epoch' });
  assert.deepEqual(listCheckpoints(run.dir), { latest: true, epochs: [1, 2] });
  assert.equal(readCheckpoint(run.dir).step, 20);
  assert.deepEqual(
    fs.readdirSync(run.dir).filter((n) => n.endsWith('.tmp')),
    [],
    'no temporary files after writes',
  );
  again.close();
});

test('status: set, read, summary; a running run whose process is gone reads as crashed', () => {
  const root = freshRoot();
  const run = RunStore.create(root, 's', init());
  run.setStatus('diverged', 'loss is NaN at step 40');
  let st = RunStore.status(run.dir);
  assert.deepEqual([st.status, st.detail, st.recorded], ['diverged', 'loss is NaN at step 40', 'diverged']);
  assert.throws(() => run.setStatus('paused' as never), /unknown run status "paused"/);
  assert.equal(readSummary(run.dir), null);
  run.writeSummary({ steps: 40, best: null } as unknown as RunSummary);
  assert.deepEqual(readSummary(run.dir), { steps: 40, best: null });
  run.setStatus('running', 'epoch 3');
  assert.equal(RunStore.status(run.dir).status, 'running', 'our own process is alive');
  run.close();

  const file = path.join(run.dir, 'status.json');
  const pid = deadPid();
  const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(file, JSON.stringify({ ...rec, pid }));
  st = RunStore.status(run.dir);
  assert.equal(st.status, 'crashed');
  assert.equal(st.recorded, 'running');
  assert.match(
    st.detail ?? '',
    new RegExp(`process ${pid} ended without recording a final status \\(last: epoch 3\\)`),
  );
  fs.writeFileSync(file, JSON.stringify({ ...rec, pid, hostname: 'some-other-machine' }));
  const lockFile = path.join(run.dir, 'lock');
  fs.writeFileSync(
    lockFile,
    JSON.stringify({ pid, hostname: 'some-other-machine', time: rec.updated, heartbeat: new Date().toISOString() }),
  );
  assert.equal(RunStore.status(run.dir).status, 'running', 'another machine with a fresh heartbeat in its lock');
  fs.rmSync(lockFile);
  assert.equal(RunStore.status(run.dir).status, 'crashed', 'another machine that left no lock');
  fs.writeFileSync(file, JSON.stringify({ ...rec, pid, status: 'finished' }));
  assert.equal(RunStore.status(run.dir).status, 'finished');
  fs.rmSync(file);
  assert.throws(() => RunStore.status(run.dir), /has no status\.json/);
});

test('lock: one writer per run; a stale lock is taken over; a live one is a clear error', async () => {
  const root = freshRoot();
  const run = RunStore.create(root, 'l', init());
  assert.throws(
    () => RunStore.open(run.dir),
    new RegExp(
      `^Error: run ${run.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is being written by process ${process.pid} \\(`,
    ),
  );
  run.close();

  const lock = path.join(run.dir, 'lock');
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    fs.writeFileSync(lock, JSON.stringify({ pid: child.pid, hostname: os.hostname(), time: new Date().toISOString() }));
    assert.throws(() => RunStore.open(run.dir), new RegExp(`is being written by process ${child.pid} `));
    fs.writeFileSync(lock, JSON.stringify({ pid: 12345, hostname: 'elsewhere', time: new Date().toISOString() }));
    assert.throws(() => RunStore.open(run.dir), /is being written by process 12345 on elsewhere/);
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  fs.writeFileSync(lock, JSON.stringify({ pid: child.pid, hostname: os.hostname(), time: new Date().toISOString() }));
  const taken = RunStore.open(run.dir);
  const lockRecord = JSON.parse(fs.readFileSync(lock, 'utf8')) as { pid: number };
  assert.equal(lockRecord.pid, process.pid, 'stale lock taken over');
  taken.close();
  fs.writeFileSync(lock, '');
  fs.utimesSync(lock, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  RunStore.open(run.dir).close(); // an old, empty lock (crash while creating it) is stale too
  assert.ok(!fs.existsSync(lock));
});

test('a writer SIGKILLed mid-append leaves a readable metrics.jsonl that the next writer continues', async () => {
  const root = freshRoot();
  const run = RunStore.create(root, 'k', init());
  run.appendMetrics(stepRecord(0));
  run.close();
  const file = path.join(run.dir, 'metrics.jsonl');
  // Each record goes out in two flushed halves, so the kill often lands inside a line.
  const code = `
    const fs = require('fs');
    const fd = fs.openSync(${JSON.stringify(file)}, 'a');
    for (let step = 1; ; step++) {
      const line = JSON.stringify({
        kind: 'step', step, time: new Date().toISOString(), elapsed: step, epoch: step / 10, loss: 1 / step,
        lr: 0.01, samplesPerSecond: 100, pad: 'x'.repeat(step % 97),
      }) + '\\n';
      const cut = 1 + (step * 7919) % (line.length - 1);
      fs.appendFileSync(fd, line.slice(0, cut)); fs.fsyncSync(fd);
      fs.appendFileSync(fd, line.slice(cut)); fs.fsyncSync(fd);
      if (step === 50) process.stdout.write('ready\\n');
    }`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.once('exit', (c) => reject(new Error(`writer exited early (${c})`)));
  });
  await new Promise((r) => setTimeout(r, 20 + Math.random() * 30));
  child.kill('SIGKILL');
  const [, signal] = await new Promise<[number | null, string | null]>((r) => child.once('exit', (c, s) => r([c, s])));
  assert.equal(signal, 'SIGKILL');

  const r = readMetrics(run.dir);
  assert.ok(r.records.length > 50, String(r.records.length));
  assert.deepEqual(
    r.records.map((x) => x.step),
    r.records.map((_, i) => i),
    'every committed record, in order',
  );
  const t = tailMetrics(run.dir, 0);
  assert.equal(t.records.length, r.records.length);
  assert.equal(t.corrupt.length, 0);

  const again = RunStore.open(run.dir);
  assert.ok(again.elapsed() >= r.records.length - 1);
  again.appendMetrics({ kind: 'resume', step: r.records.length - 1, epoch: 0 });
  again.close();
  const after = readMetrics(run.dir);
  assert.equal(after.droppedTail, null);
  assert.equal(after.records.length, r.records.length + 1);
  assert.equal(after.records.at(-1)?.kind, 'resume');
});
