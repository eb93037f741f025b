// test-backends: one
// The `sbn grad` / `sbn gradeval` contract, run as a user runs it: a child process per call.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { authorsCheckpointsFile, gradevalData, repoRoot } from './helpers/fixtures';

const root = repoRoot();
const model = path.join(root, 'examples', 'toy2d-gradeval.sbn.json');
const checkpoints = authorsCheckpointsFile();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-cli-'));

function sbn(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'sbn.js'), ...args], {
    encoding: 'utf8',
    env: process.env,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function write(name: string, content: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, content);
  return file;
}

const base = ['--params', `${checkpoints}#chk-100`, '--data', checkpoints];

/** What `sbn grad` prints on stdout (docs/cli.md). */
interface GradOutput {
  estimator: string;
  draws: number;
  backend: string;
  loss: number;
  layers: { name: string; mean: number[]; std: number[] }[];
}

function gradOutput(stdout: string): GradOutput {
  return JSON.parse(stdout) as GradOutput;
}

test('grad prints one JSON object with the contract fields', () => {
  const r = sbn('grad', model, ...base, '--estimator', 'psa', '--draws', '40', '--seed', '3');
  assert.equal(r.code, 0, r.stderr);
  const out = gradOutput(r.stdout);
  assert.deepEqual(Object.keys(out).sort(), ['backend', 'draws', 'estimator', 'layers', 'loss']);
  assert.equal(out.estimator, 'psa');
  assert.equal(out.draws, 40);
  assert.match(out.backend, /^(tensorflow|wasm|cpu)$/);
  assert.deepEqual(
    out.layers.map((l) => l.name),
    ['dense1', 'dense2', 'dense3', 'output'],
  );
  assert.deepEqual(
    out.layers.map((l) => l.mean.length),
    [15, 30, 30, 6],
  );
  assert.ok(out.layers.every((l) => l.std.length === l.std.length && l.std.some((s) => s > 0)));
  assert.match(r.stderr, /backend (tensorflow|wasm|cpu)/);
  assert.ok(Math.abs(out.loss - 0.6839) < 0.02);
});

test('grad --estimator exact gives the exact gradient with zero spread', () => {
  const r = sbn('grad', model, ...base, '--estimator', 'exact', '--draws', '3');
  assert.equal(r.code, 0, r.stderr);
  const out = gradOutput(r.stdout);
  const ref = gradevalData().checkpoints['chk-100'];
  assert.ok(Math.abs(out.loss - ref.exact_expected_loss) < 1e-9);
  out.layers.forEach((l, k) => {
    l.mean.forEach((v, i) => assert.ok(Math.abs(v - ref.exact_grad[k][i]) < 1e-7));
    assert.ok(l.std.every((s) => s === 0));
  });
});

test('grad reads YAML model files and the same draws repeat with the same seed', () => {
  const yaml = write(
    'm.sbn.yaml',
    'name: y\ninput: {shape: [2]}\nstates: "01"\nlayers:\n' +
      '  - {type: dense, units: 5}\n  - {type: dense, units: 5}\n  - {type: dense, units: 5}\n' +
      'output: {units: 1, loss: logistic}\n',
  );
  const a = sbn('grad', yaml, ...base, '--estimator', 'concrete', '--tau', '0.5', '--draws', '5', '--seed', '9');
  const b = sbn('grad', model, ...base, '--estimator', 'concrete', '--tau', '0.5', '--draws', '5', '--seed', '9');
  assert.equal(a.code, 0, a.stderr);
  assert.deepEqual(gradOutput(a.stdout).layers, gradOutput(b.stdout).layers);
});

function expectBadInput(args: string[], ...patterns: RegExp[]) {
  const r = sbn(...args);
  assert.equal(r.code, 2, `exit code ${r.code}; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !/^sbn: backend /.test(l));
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'stack trace printed');
  for (const p of patterns) assert.match(lines[0], p);
}

test('bad input: unreadable model file', () => {
  expectBadInput(
    ['grad', path.join(tmp, 'missing.sbn.json'), ...base, '--estimator', 'psa'],
    /missing\.sbn\.json/,
    /not found|cannot read|no such/i,
  );
});

test('bad input: schema error in the model file names the field and line', () => {
  const bad = write(
    'bad.sbn.json',
    '{\n  "name": "x",\n  "input": {"shape": [2]},\n  "layers": [{"type": "dense", "units": 0}],\n' +
      '  "output": {"units": 1, "loss": "logistic"}\n}\n',
  );
  expectBadInput(['grad', bad, ...base, '--estimator', 'psa'], /bad\.sbn\.json:4:\d+/, /layers\[0\]\.units/);
});

test('bad input: parameters that do not fit the model', () => {
  const ref = gradevalData().checkpoints['chk-100'];
  const layers = JSON.parse(JSON.stringify(ref.layers)) as { weight: number[][]; bias: number[] }[];
  layers[1].weight[2].pop();
  const params = write('params.json', JSON.stringify({ layers }));
  expectBadInput(
    ['grad', model, '--params', params, '--data', checkpoints, '--estimator', 'psa'],
    /params\.json/,
    /layers\[1\]\.weight\[2\]/,
    /expected 5/,
  );
  const three = write('params3.json', JSON.stringify({ layers: layers.slice(0, 3) }));
  expectBadInput(
    ['grad', model, '--params', three, '--data', checkpoints, '--estimator', 'psa'],
    /params3\.json: layers: expected 4 layers/,
  );
});

test('bad input: unknown checkpoint key, missing params file, invalid JSON', () => {
  expectBadInput(
    ['grad', model, '--params', `${checkpoints}#chk-9`, '--data', checkpoints, '--estimator', 'psa'],
    /checkpoints\.chk-9/,
    /available: chk-1, chk-100/,
  );
  expectBadInput(
    ['grad', model, '--params', path.join(tmp, 'nope.json'), '--data', checkpoints, '--estimator', 'psa'],
    /nope\.json: file not found/,
  );
  const broken = write('broken.json', '{"layers": [');
  expectBadInput(
    ['grad', model, '--params', broken, '--data', checkpoints, '--estimator', 'psa'],
    /broken\.json:1:13: invalid JSON/,
  );
});

test('bad input: data that does not fit the model', () => {
  const wide = write('wide.json', JSON.stringify({ X: [[1, 2, 3]], Y: [1] }));
  expectBadInput(
    ['grad', model, ...base.slice(0, 2), '--data', wide, '--estimator', 'psa'],
    /wide\.json: X\[0\]: expected 2 numbers/,
  );
  const label = write(
    'label.json',
    JSON.stringify({
      X: [
        [1, 2],
        [3, 4],
      ],
      Y: [1, 0],
    }),
  );
  expectBadInput(
    ['grad', model, ...base.slice(0, 2), '--data', label, '--estimator', 'psa'],
    /label\.json: Y\[1\]: expected a label −1 or \+1/,
  );
  const short = write(
    'short.json',
    JSON.stringify({
      X: [
        [1, 2],
        [3, 4],
      ],
      Y: [1],
    }),
  );
  expectBadInput(
    ['grad', model, ...base.slice(0, 2), '--data', short, '--estimator', 'psa'],
    /short\.json: Y: expected an array of 2 labels/,
  );
});

test('bad input: unknown estimator, bad numbers, unknown option', () => {
  expectBadInput(['grad', model, ...base, '--estimator', 'magic'], /--estimator: unknown estimator "magic"/);
  expectBadInput(
    ['grad', model, ...base, '--estimator', 'psa', '--draws', '0'],
    /--draws: expected a positive whole number in decimal digits/,
  );
  expectBadInput(
    ['grad', model, ...base, '--estimator', 'concrete', '--tau', '-1'],
    /--tau: expected a positive number/,
  );
  expectBadInput(['grad', model, ...base, '--estimator', 'psa', '--frobnicate'], /unknown option/);
  expectBadInput(['grad', model, ...base, '--estimator', 'psa', '--backend', 'quantum'], /quantum/);
});

test('bad input: exact enumeration too large names the file, the field and the limit', () => {
  const big = write(
    'big.sbn.json',
    JSON.stringify({
      name: 'big',
      input: { shape: [2] },
      layers: [{ type: 'dense', units: 30 }],
      output: { units: 1, loss: 'logistic' },
    }),
  );
  expectBadInput(
    ['grad', big, ...base, '--estimator', 'exact'],
    /big\.sbn\.json: layers: exact enumeration/,
    /limits are/,
  );
});

test('gradeval beyond enumeration compares with the local-expectation reference and states its error per layer', () => {
  const wide = write(
    'wide.sbn.json',
    JSON.stringify({
      name: 'wide',
      input: { shape: [2] },
      layers: [{ type: 'dense', units: 30 }],
      output: { units: 1, loss: 'logistic' },
    }),
  );
  // fixed, varied weights (a sine sequence), so the net has a gradient worth comparing
  const w = (n: number, phase: number) => Array.from({ length: n }, (_, i) => Math.sin(1.7 * i + phase));
  const params = write(
    'wide-params.json',
    JSON.stringify({
      layers: [
        { weight: Array.from({ length: 30 }, (_, j) => w(2, j)), bias: w(30, 0.3) },
        { weight: [w(30, 2).map((v) => v / 3)], bias: [0.1] },
      ],
    }),
  );
  const out = path.join(tmp, 'ge-wide.json');
  const args = ['gradeval', wide, '--params', params, '--data', checkpoints, '--estimators', 'psa,reinforce'];
  const r = sbn(...args, '--draws', '40', '--m', '1,40', '--reference-draws', '200', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /reference: exact enumeration does not fit; the mean of \d+ local expectation draws/);
  assert.match(r.stdout, /relative standard error per layer dense1 \d\.\d+, output \d\.\d+/);
  const json = JSON.parse(fs.readFileSync(out, 'utf8')) as {
    exactLoss: number | null;
    referenceGradient: { kind: string; draws: number; relativeError: number[] };
    estimators: { label: string; layers: { cos: number[] }[] }[];
  };
  assert.equal(json.exactLoss, null);
  assert.equal(json.referenceGradient.kind, 'local-expectation');
  assert.ok(json.referenceGradient.draws >= 8 && json.referenceGradient.draws <= 200);
  assert.equal(json.referenceGradient.relativeError.length, 2);
  // PSA is unbiased for one hidden layer: 40 of its draws point where the reference points
  const psa = json.estimators.find((e) => e.label === 'psa')!;
  assert.ok(psa.layers[0].cos[1] > 0.8, `psa cos ${psa.layers[0].cos[1]}`);
  expectBadInput([...args, '--reference-error', '0'], /--reference-error: expected/);
  expectBadInput([...args, '--reference-draws', '1'], /--reference-draws: expected at least 2/);
});

test('gradeval prints the table and writes the JSON', () => {
  const out = path.join(tmp, 'ge.json');
  const r = sbn(
    'gradeval',
    model,
    ...base,
    '--estimators',
    'psa,dste,concrete:0.5,reinforce:loo',
    '--draws',
    '60',
    '--m',
    '1,10',
    '--out',
    out,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /layer dense1/);
  assert.match(r.stdout, /concrete\(tau=0\.5\)/);
  const json = JSON.parse(fs.readFileSync(out, 'utf8')) as {
    M: number[];
    estimators: { label: string; layers: { trials: number[] }[] }[];
  };
  assert.deepEqual(json.M, [1, 10]);
  assert.deepEqual(
    json.estimators.map((e) => e.label),
    ['psa', 'dste', 'concrete(tau=0.5)', 'reinforce(loo)'],
  );
  assert.equal(json.estimators[0].layers[0].trials[1], 6);
});

test('grad accepts the estimators that came after the paper, with --k for gumbel-rao and --baseline input', () => {
  for (const [estimator, ...extra] of [
    ['disarm'],
    ['muprop'],
    ['local-expectation'],
    ['gumbel-st', '--tau', '0.5'],
    ['gumbel-rao', '--k', '4'],
    ['reinmax'],
    ['reinforce', '--baseline', 'input'],
  ]) {
    const r = sbn('grad', model, ...base, '--estimator', estimator, '--draws', '6', ...extra);
    assert.equal(r.code, 0, `${estimator}: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as { estimator: string; layers: { mean: number[]; std: number[] }[] };
    assert.equal(out.estimator, estimator);
    assert.ok(
      out.layers.every((l) => l.std.some((s) => s > 0)),
      `${estimator} varies between draws`,
    );
  }
  expectBadInput(['grad', model, ...base, '--estimator', 'gumbel-rao', '--k', '0'], /--k: expected a positive whole/);
  expectBadInput(['grad', model, ...base, '--estimator', 'reinforce', '--baseline', 'nvil'], /--baseline: expected/);
});

test('gradeval takes gumbel-st:<tau> and gumbel-rao:<k> and labels them', () => {
  const out = path.join(tmp, 'ge-new.json');
  const r = sbn(
    'gradeval',
    model,
    ...base,
    '--estimators',
    'disarm,local-expectation,gumbel-st:0.5,gumbel-rao:3,reinmax,reinforce:input',
    '--draws',
    '20',
    '--m',
    '1,10',
    '--out',
    out,
  );
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(fs.readFileSync(out, 'utf8')) as { estimators: { label: string }[] };
  assert.deepEqual(
    json.estimators.map((e) => e.label),
    ['disarm', 'local-expectation', 'gumbel-st(tau=0.5)', 'gumbel-rao(k=3)', 'reinmax', 'reinforce(input)'],
  );
  expectBadInput(['gradeval', model, ...base, '--estimators', 'reinmax:2'], /"reinmax" takes no option/);
});
