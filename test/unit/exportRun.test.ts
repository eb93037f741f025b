// test-backends: one
// `sbn export safetensors` and `sbn inspect`, and the provenance every run records: the safetensors file is read
// here per the format's public definition (8-byte little-endian header length, JSON header with dtype, shape and
// data_offsets, then the bytes), without SBN Studio's code, and compared with the checkpoint's base64 tensors.
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../src/engine/backend';
import { assertUsageError, sbnInProcess } from './helpers/cli';
import { repoRoot } from './helpers/fixtures';

before(async () => {
  await initBackend();
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-export-'));
const modelFile = path.join(tmp, 'exp.sbn.json');
const modelText = JSON.stringify(
  {
    name: 'exp',
    input: { shape: [2] },
    states: 'pm1',
    layers: [
      { type: 'dense', units: 5 },
      { type: 'dense', units: 3 },
    ],
    output: { units: 1, loss: 'logistic' },
    data: { dataset: 'toy-2d', validation: 40 },
    train: { estimator: 'dste', lr: 0.02, batchSize: 20, epochs: 2, evalSamples: 2, seed: 7 },
  },
  null,
  2,
);
fs.writeFileSync(modelFile, modelText);
let run = '';

async function trained(): Promise<string> {
  if (run) return run;
  const out = path.join(tmp, 'runs');
  const r = await sbnInProcess('train', modelFile, '--out', out, '--no-progress');
  assert.equal(r.code, 0, r.stderr);
  run = path.join(out, fs.readdirSync(out)[0]);
  return run;
}

interface StoredTensor {
  shape: number[];
  base64: string;
}
function checkpointParams(file: string): Record<string, StoredTensor> {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { params: Record<string, StoredTensor> }).params;
}
function floatsLE(bytes: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += 4) out.push(bytes.readFloatLE(i));
  return out;
}

test('sbn export safetensors: the parameters with their names and shapes, the model file as metadata', async () => {
  const dir = await trained();
  const file = path.join(tmp, 'exp.safetensors');
  const r = await sbnInProcess('export', 'safetensors', dir, '--out', file);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /exp\.safetensors: 6 tensors \(dense1\.weight \[5, 2\], dense1\.bias \[5\]/);

  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0, 'the data starts 8-byte aligned');
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  const data = bytes.subarray(8 + n);
  const meta = header.__metadata__ as Record<string, unknown>;
  assert.ok(
    Object.values(meta).every((v) => typeof v === 'string'),
    'metadata values are strings',
  );
  assert.equal(meta.model, modelText);
  assert.equal(meta.model_file, 'model.sbn.json');
  const params = checkpointParams(path.join(dir, 'checkpoint.json'));
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  assert.deepEqual(names.sort(), Object.keys(params).sort());
  assert.equal(
    meta.step,
    String((JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint.json'), 'utf8')) as { step: number }).step),
  );
  // offsets cover the byte buffer exactly, without holes or overlaps
  const spans = names
    .map((k) => (header[k] as { data_offsets: [number, number] }).data_offsets)
    .sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [b, e] of spans) {
    assert.equal(b, at);
    at = e;
  }
  assert.equal(at, data.length);
  for (const k of names) {
    const h = header[k] as { dtype: string; shape: number[]; data_offsets: [number, number] };
    assert.equal(h.dtype, 'F32');
    assert.deepEqual(h.shape, params[k].shape);
    const got = floatsLE(data.subarray(h.data_offsets[0], h.data_offsets[1]));
    assert.deepEqual(got, floatsLE(Buffer.from(params[k].base64, 'base64')), k);
    assert.equal(
      got.length,
      h.shape.reduce((a, b) => a * b, 1),
    );
  }
});

const hasSafetensors = spawnSync('python3', ['-c', 'import safetensors.numpy'], { encoding: 'utf8' }).status === 0;

test(
  'the safetensors package (Python, numpy) loads the export',
  { skip: hasSafetensors ? false : 'the safetensors Python package is not installed (pip install safetensors numpy)' },
  async () => {
    const dir = await trained();
    const file = path.join(tmp, 'py.safetensors');
    assert.equal((await sbnInProcess('export', 'safetensors', dir, '--out', file)).code, 0);
    const script =
      'import json, sys\nfrom safetensors.numpy import load_file\nfrom safetensors import safe_open\n' +
      't = load_file(sys.argv[1])\nm = safe_open(sys.argv[1], "np").metadata()\n' +
      'print(json.dumps({"t": {k: [list(v.shape), v.astype(float).ravel().tolist()] for k, v in t.items()}, "m": m}))';
    const r = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { t: Record<string, [number[], number[]]>; m: Record<string, string> };
    const params = checkpointParams(path.join(dir, 'checkpoint.json'));
    for (const [k, t] of Object.entries(params)) {
      assert.deepEqual(got.t[k][0], t.shape);
      assert.deepEqual(got.t[k][1], floatsLE(Buffer.from(t.base64, 'base64')));
    }
    assert.equal(got.m.model, modelText);
  },
);

test('sbn inspect: layers, shapes, statistics, step, RNG, what it was trained with, provenance', async () => {
  const dir = await trained();
  const r = await sbnInProcess('inspect', dir);
  assert.equal(r.code, 0, r.stderr);
  const text = r.stdout;
  const cp = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint.json'), 'utf8')) as {
    step: number;
    rng: Record<string, { s: number[] }>;
  };
  assert.match(text, new RegExp(`step ${cp.step}, epoch 2`));
  assert.match(text, /dense1\.weight +\[5, 2\]/);
  assert.match(text, /output\.bias +\[1\]/);
  assert.match(text, /trained with: estimator "?dste"?.*seed 7/);
  assert.match(text, /random generators: noise \{"s":\[/);
  assert.match(text, /optimizer: /);
  assert.match(text, /started by: sbn train .*exp\.sbn\.json --out .* --no-progress \(in /);
  const json = JSON.parse((await sbnInProcess('inspect', dir, '--json')).stdout) as {
    params: Array<{ name: string; mean: number; std: number; count: number; norm: number }>;
    rng: Record<string, { s: number[] }>;
    provenance: { version: string; commit: string | null; startedBy: string };
  };
  assert.deepEqual(json.rng.noise, cp.rng.noise);
  const w = checkpointParams(path.join(dir, 'checkpoint.json'))['dense1.weight'];
  const values = floatsLE(Buffer.from(w.base64, 'base64'));
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const stats = json.params.find((p) => p.name === 'dense1.weight')!;
  assert.equal(stats.count, 10);
  assert.ok(Math.abs(stats.mean - mean) < 1e-12);
  assert.ok(Math.abs(stats.norm - Math.hypot(...values)) < 1e-9);
  // provenance: the package's version, and the commit of this checkout (when it is one)
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version: string };
  assert.equal(json.provenance.version, pkg.version);
  const head = spawnSync('git', ['-C', repoRoot(), 'rev-parse', 'HEAD'], { encoding: 'utf8' });
  if (head.status === 0) assert.equal(json.provenance.commit, head.stdout.trim());
  // a checkpoint file inside the run is inspected with its run
  const byFile = await sbnInProcess('inspect', path.join(dir, 'checkpoints', 'epoch-0001.json'));
  if (fs.existsSync(path.join(dir, 'checkpoints', 'epoch-0001.json'))) {
    assert.equal(byFile.code, 0, byFile.stderr);
    assert.match(byFile.stdout, /epoch 1\b/);
    assert.match(byFile.stdout, /provenance: SBN Studio/);
  }
});

test('a command line recorded as provenance hides URL passwords', async () => {
  const { commandLine } = await import('../../src/engine/provenance');
  assert.equal(
    commandLine(['sbn', 'worker', '--queue', 'redis://:hunter2@box:6379/0', 'a b']),
    "sbn worker --queue redis://:***@box:6379/0 'a b'",
  );
});

test('sbn inspect and sbn export safetensors: bad input is one line and exit code 2', async () => {
  const dir = await trained();
  assertUsageError(
    await sbnInProcess('inspect', path.join(tmp, 'missing')),
    /missing: no such run folder or checkpoint/,
  );
  assertUsageError(await sbnInProcess('inspect', tmp), /not an sbn run folder/);
  assertUsageError(await sbnInProcess('inspect', dir, '--checkpoint', '99'), /epoch 99 was not kept/);
  assertUsageError(await sbnInProcess('inspect', dir, '--checkpoint', 'x'), /--checkpoint/);
  const damaged = path.join(tmp, 'damaged.json');
  fs.writeFileSync(damaged, '{"format":"sbn-checkpoint"');
  assertUsageError(await sbnInProcess('inspect', damaged), /damaged\.json: not valid JSON/);
  assertUsageError(
    await sbnInProcess('export', 'safetensors', dir, '--out', path.join(tmp, 'no', 'such', 'x.safetensors')),
    /--out: the folder .* does not exist/,
  );
  assertUsageError(await sbnInProcess('export', 'safetensors', dir), /--out/);
});
