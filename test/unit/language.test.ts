// test-backends: one
// Model-file language features without vscode: analysis (problems, ranges, quick fixes, data-set availability,
// exact-enumeration note), hovers and code lenses; a property test that analysis never throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { parseModelText } from '../../src/engine/spec';
import {
  analyzeModel,
  nearestInRange,
  nearestKernel,
  parsePath,
  type AnalysisEnv,
  type ModelAnalysis,
  type Problem,
  type Range,
  type TextEdit,
} from '../../src/extension/language/analysis';
import { codeLenses } from '../../src/extension/language/codeLens';
import { hoverAt, hoverInfoAt } from '../../src/extension/language/hover';
import { jsonEditorSchema } from '../../src/extension/language/jsonEditorSchema';
import { modelSchema } from '../../src/engine/spec/validate';

const ROOT = join(__dirname, '..', '..', '..');

/** A machine with everything installed and every path present. */
const EVERYTHING: AnalysisEnv = { fileExists: () => true, fashionMnistAvailable: () => true };

/** 0-based range of the `nth` occurrence of `needle` (from `shift` characters into it, `length` long). */
function rangeOf(text: string, needle: string, nth = 0, shift = 0, length = needle.length - shift): Range {
  let i = -1;
  for (let k = 0; k <= nth; k++) {
    i = text.indexOf(needle, i + 1);
    assert.ok(i >= 0, `fixture lacks ${JSON.stringify(needle)} #${nth}`);
  }
  const pos = (offset: number) => {
    const before = text.slice(0, offset).split(/\r\n|\r|\n/);
    return { line: before.length - 1, character: before[before.length - 1].length };
  };
  return { start: pos(i + shift), end: pos(i + shift + length) };
}

/** Line contents (without terminators), split as editors split them. */
function linesOf(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

function offsetAt(text: string, p: { line: number; character: number }): number {
  const re = /\r\n|\r|\n/g;
  let start = 0;
  for (let line = 0; line < p.line; line++) {
    const m = re.exec(text);
    assert.ok(m, `line ${p.line} is past the end`);
    start = m.index + m[0].length;
  }
  return start + p.character;
}

function applyEdits(text: string, edits: TextEdit[]): string {
  const spans = edits
    .map((e) => ({ start: offsetAt(text, e.range.start), end: offsetAt(text, e.range.end), newText: e.newText }))
    .sort((a, b) => b.start - a.start);
  let out = text;
  let limit = Infinity;
  for (const s of spans) {
    assert.ok(s.end <= limit, 'edits overlap');
    out = out.slice(0, s.start) + s.newText + out.slice(s.end);
    limit = s.start;
  }
  return out;
}

const summary = (p: Problem) => [p.code, p.severity, p.path, p.range];
const notExact = (p: Problem) => p.code !== 'exact-too-large';
const withFix = (a: ModelAnalysis) => [...a.problems, ...a.deferred].filter((p) => p.fix);

// ---------------------------------------------------------------- problems and ranges

const BAD_YAML = `# a model with problems
name: bad
input: { shape: [1, 8, 8] }
states: pm2
layers:
  - { type: conv, filters: 4, kernel: 2 }
  - type: dense
    unit: 5
output: { units: 3, loss: logistic }
data:
  dataset: fashion-mnist
`;

const BAD_JSON = `{
  "name": "bad",
  "input": { "shape": [1, 8, 8] },
  "states": "pm2",
  "layers": [
    { "type": "conv", "filters": 4, "kernel": 2 },
    { "type": "dense", "unit": 5 }
  ],
  "output": { "units": 3, "loss": "logistic" },
  "data": { "dataset": "fashion-mnist" }
}
`;

const NO_FASHION: AnalysisEnv = { fileExists: () => true, fashionMnistAvailable: () => false };

test('YAML: every problem, at the offending text, sorted by position', () => {
  const a = analyzeModel(BAD_YAML, '/w/bad.sbn.yaml', NO_FASHION);
  assert.deepEqual(a.problems.map(summary), [
    ['schema', 'error', 'states', rangeOf(BAD_YAML, 'pm2')],
    ['schema', 'error', 'layers[0].kernel', rangeOf(BAD_YAML, 'kernel: 2', 0, 8)],
    ['schema', 'error', 'layers[1].unit', rangeOf(BAD_YAML, 'unit')],
    ['semantic', 'error', 'output.units', rangeOf(BAD_YAML, 'units: 3', 0, 7)],
    ['dataset-unavailable', 'warning', 'data.dataset', rangeOf(BAD_YAML, 'fashion-mnist')],
  ]);
  assert.deepEqual(a.deferred, []);
  assert.equal(a.model, undefined);
  assert.match(a.problems[1].message, /expected one of 1, 3 or 5, got 2/);
  assert.match(a.problems[4].message, /sudo apt-get install dataset-fashion-mnist/);
  assert.match(a.problems[4].message, /SBN_FASHION_MNIST_DIR/);
});

test('JSON: the same problems, messages and fixes as YAML; only syntax problems are deferred to VS Code', () => {
  const a = analyzeModel(BAD_JSON, '/w/bad.sbn.json', NO_FASHION);
  assert.deepEqual(a.problems.map(summary), [
    ['schema', 'error', 'states', rangeOf(BAD_JSON, '"pm2"')],
    ['schema', 'error', 'layers[0].kernel', rangeOf(BAD_JSON, '"kernel": 2', 0, 10)],
    ['schema', 'error', 'layers[1].unit', rangeOf(BAD_JSON, '"unit"')],
    ['semantic', 'error', 'output.units', rangeOf(BAD_JSON, '"units": 3', 0, 9)],
    ['dataset-unavailable', 'warning', 'data.dataset', rangeOf(BAD_JSON, '"fashion-mnist"')],
  ]);
  assert.deepEqual(a.deferred, []);
  const yaml = analyzeModel(BAD_YAML, '/w/bad.sbn.yaml', NO_FASHION);
  const said = (x: ModelAnalysis) => x.problems.map((p) => [p.code, p.path, p.message, p.fix?.title]);
  assert.deepEqual(said(a), said(yaml));
  assert.match(a.problems[2].message, /^unknown key "unit"; did you mean "units"\?$/);

  const broken = BAD_JSON.replace('"pm2",', '"pm2",,');
  const b = analyzeModel(broken, '/w/bad.sbn.json', NO_FASHION);
  assert.deepEqual(b.problems, []);
  assert.ok(b.deferred.length >= 1 && b.deferred.every((p) => p.code === 'syntax'));
});

test('SpecError.kind tells the stage: syntax, schema, semantic', () => {
  const kinds = (text: string, file: string) => {
    const r = parseModelText(text, file);
    return r.ok ? [] : r.errors.map((e) => [e.path, e.kind]);
  };
  assert.deepEqual(kinds('{"name": "x",}', 'm.sbn.json'), [['', 'syntax']]);
  assert.deepEqual(
    kinds('name: a\nname: b\n', 'm.sbn.yaml').find(([p]) => p === 'name'),
    ['name', 'syntax'],
  );
  assert.deepEqual(kinds(BAD_YAML, 'm.sbn.yaml'), [
    ['states', 'schema'],
    ['layers[0].kernel', 'schema'],
    ['layers[1].unit', 'schema'],
    ['output.units', 'semantic'],
  ]);
  assert.deepEqual(kinds('', 'm.sbn.yaml'), [['', 'syntax']]);
});

test('CRLF line ends and a BOM keep ranges exact', () => {
  const crlf = '\uFEFF' + BAD_YAML.replace(/\n/g, '\r\n');
  const a = analyzeModel(crlf, '/w/bad.sbn.yaml', NO_FASHION);
  const plain = analyzeModel(BAD_YAML, '/w/bad.sbn.yaml', NO_FASHION);
  assert.deepEqual(a.problems.map(summary), plain.problems.map(summary));
  const json = analyzeModel('\uFEFF{"name": 1}', '/w/m.sbn.json', EVERYTHING);
  const named = json.problems.filter((d) => d.path === 'name');
  assert.equal(named.length, 1);
  assert.deepEqual(named[0].range, rangeOf('\uFEFF{"name": 1}', '1'));
});

test('an unsaved file: relative data paths are noted as unchecked', () => {
  const text =
    'name: x\ninput: {shape: [2]}\nlayers: [{type: dense, units: 2}]\noutput: {units: 1, loss: logistic}\n' +
    'data: {dataset: file, path: d.csv}\n';
  const a = analyzeModel(text, 'Untitled-1', {
    fileExists: () => assert.fail('must not probe'),
    fashionMnistAvailable: () => true,
  });
  assert.deepEqual(a.problems.map(summary), [['path-unchecked', 'information', 'data.path', rangeOf(text, 'd.csv')]]);
});

// ---------------------------------------------------------------- quick fixes

const GOOD_YAML = `name: m
input: { shape: [1, 8, 8] }
states: pm1
noise: logistic
layers:
  - { type: conv, filters: 4, kernel: 3 }
  - type: dense
    units: 5
output: { units: 1, loss: logistic }
`;
const GOOD_JSON = `{
  "name": "m",
  "input": { "shape": [1, 8, 8] },
  "states": "pm1",
  "noise": "logistic",
  "layers": [
    { "type": "conv", "filters": 4, "kernel": 3 },
    { "type": "dense", "units": 5 }
  ],
  "output": { "units": 1, "loss": "logistic" }
}
`;

const MNIST_YAML = `name: m
input: { shape: [784] }
layers:
  - { type: dense, units: 16 }
output: { units: 10, loss: nll }
data: { dataset: mnist }
`;
const MNIST_JSON = `{
  "name": "m",
  "input": { "shape": [784] },
  "layers": [{ "type": "dense", "units": 16 }],
  "output": { "units": 10, "loss": "nll" },
  "data": { "dataset": "mnist" }
}
`;

/** [name, file, broken text, title of its one fix, the fix's new text] */
const FIX_CASES: [string, string, string, RegExp, string][] = [
  ['YAML unknown key', 'm.sbn.yaml', GOOD_YAML.replace('units: 5', 'unit: 5'), /^Rename to "units"$/, 'units'],
  [
    'YAML quoted unknown key',
    'm.sbn.yaml',
    GOOD_YAML.replace('units: 5', "'unit': 5"),
    /^Rename to "units"$/,
    "'units'",
  ],
  ['YAML unknown top-level key', 'm.sbn.yaml', GOOD_YAML.replace('noise:', 'nois:'), /^Rename to "noise"$/, 'noise'],
  [
    'YAML bad enum value',
    'm.sbn.yaml',
    GOOD_YAML.replace('noise: logistic', 'noise: logistc'),
    /^Change to "logistic"$/,
    'logistic',
  ],
  [
    'YAML quoted bad enum value',
    'm.sbn.yaml',
    GOOD_YAML.replace('noise: logistic', 'noise: "normall"'),
    /^Change to "normal"$/,
    '"normal"',
  ],
  ['YAML unquoted 01', 'm.sbn.yaml', GOOD_YAML.replace('states: pm1', 'states: 01'), /^Write "01" in quotes$/, '"01"'],
  [
    'YAML logistic with 3 units',
    'm.sbn.yaml',
    GOOD_YAML.replace('units: 1,', 'units: 3,'),
    /^Set output.units to 1$/,
    '1',
  ],
  [
    'YAML nll with 1 unit',
    'm.sbn.yaml',
    GOOD_YAML.replace('loss: logistic', 'loss: nll'),
    /^Set output.units to 2$/,
    '2',
  ],
  [
    'YAML nll with 1 unit on mnist',
    'm.sbn.yaml',
    MNIST_YAML.replace('units: 10', 'units: 1'),
    /^Set output.units to 10 \(the classes of mnist\)$/,
    '10',
  ],
  ['YAML kernel 2', 'm.sbn.yaml', GOOD_YAML.replace('kernel: 3', 'kernel: 2'), /^Change the kernel to 3$/, '3'],
  ['YAML kernel 4', 'm.sbn.yaml', GOOD_YAML.replace('kernel: 3', 'kernel: 4'), /^Change the kernel to 3$/, '3'],
  ['YAML kernel 6', 'm.sbn.yaml', GOOD_YAML.replace('kernel: 3', 'kernel: 6'), /^Change the kernel to 5$/, '5'],
  ['YAML mnist input shape', 'm.sbn.yaml', MNIST_YAML.replace('[784]', '[2]'), /^Set input.shape to \[784\]$/, '[784]'],
  [
    'YAML mnist image input shape',
    'm.sbn.yaml',
    MNIST_YAML.replace('[784]', '[1, 27, 29]'),
    /^Set input.shape to \[1, 28, 28\]$/,
    '[1, 28, 28]',
  ],
  [
    'YAML mnist nll with 5 units',
    'm.sbn.yaml',
    MNIST_YAML.replace('units: 10', 'units: 5'),
    /^Set output.units to 10$/,
    '10',
  ],
  ['JSON unknown key', 'm.sbn.json', GOOD_JSON.replace('"units": 5', '"unit": 5'), /^Rename to "units"$/, '"units"'],
  [
    'JSON bad enum value',
    'm.sbn.json',
    GOOD_JSON.replace('"states": "pm1"', '"states": "pm2"'),
    /^Change to "pm1"$/,
    '"pm1"',
  ],
  [
    'JSON logistic with 3 units',
    'm.sbn.json',
    GOOD_JSON.replace('"units": 1', '"units": 3'),
    /^Set output.units to 1$/,
    '1',
  ],
  [
    'JSON nll with 1 unit on mnist',
    'm.sbn.json',
    MNIST_JSON.replace('"units": 10', '"units": 1'),
    /^Set output.units to 10 /,
    '10',
  ],
  ['JSON kernel 2', 'm.sbn.json', GOOD_JSON.replace('"kernel": 3', '"kernel": 2'), /^Change the kernel to 3$/, '3'],
  [
    'YAML units below the minimum',
    'm.sbn.yaml',
    GOOD_YAML.replace('units: 5', 'units: 0'),
    /^Change to 1 \(the minimum\)$/,
    '1',
  ],
  [
    'JSON units below the minimum',
    'm.sbn.json',
    GOOD_JSON.replace('"units": 5', '"units": -3'),
    /^Change to 1 \(the minimum\)$/,
    '1',
  ],
  [
    'YAML samples above the maximum',
    'm.sbn.yaml',
    GOOD_YAML + 'train: { estimator: psa, lr: 0.1, samples: 5000 }\n',
    /^Change to 1024 \(the maximum\)$/,
    '1024',
  ],
  [
    'JSON epochs above the maximum',
    'm.sbn.json',
    GOOD_JSON.replace(/\n}\n$/, ',\n  "train": { "estimator": "psa", "lr": 0.1, "epochs": 1e7 }\n}\n'),
    /^Change to 1000000 \(the maximum\)$/,
    '1000000',
  ],
  [
    'YAML gamma above its maximum of 1',
    'm.sbn.yaml',
    GOOD_YAML + 'train: { estimator: psa, lr: { schedule: step, base: 0.1, stepEpochs: 2, gamma: 1.5 } }\n',
    /^Change to 1 \(the maximum\)$/,
    '1',
  ],
  [
    'JSON mnist nll with 5 units',
    'm.sbn.json',
    MNIST_JSON.replace('"units": 10', '"units": 5'),
    /^Set output.units to 10$/,
    '10',
  ],
];

test('the fixture models are valid and draw no problems', () => {
  for (const [text, file] of [
    [GOOD_YAML, 'm.sbn.yaml'],
    [GOOD_JSON, 'm.sbn.json'],
    [MNIST_YAML, 'm.sbn.yaml'],
    [MNIST_JSON, 'm.sbn.json'],
  ]) {
    const a = analyzeModel(text, `/w/${file}`, EVERYTHING);
    assert.ok(a.model, file);
    assert.deepEqual([...a.problems.filter((p) => p.code !== 'exact-too-large'), ...a.deferred], [], file);
  }
});

for (const [name, file, text, title, newText] of FIX_CASES) {
  test(`quick fix: ${name}`, () => {
    const a = analyzeModel(text, `/w/${file}`, EVERYTHING);
    const fixable = withFix(a);
    assert.equal(fixable.length, 1, JSON.stringify([...a.problems, ...a.deferred].map((p) => p.message)));
    const { fix } = fixable[0];
    assert.match(fix!.title, title);
    assert.deepEqual(
      fix!.edits.map((e) => e.newText),
      [newText],
    );
    const fixed = applyEdits(text, fix!.edits);
    const parsed = parseModelText(fixed, file);
    assert.ok(parsed.ok, `${fixed}\n${JSON.stringify(parsed)}`);
    const after = analyzeModel(fixed, `/w/${file}`, EVERYTHING);
    assert.deepEqual(
      after.problems.filter((p) => p.severity !== 'information'),
      [],
      fixed,
    );
  });
}

test('out-of-range numbers: the nearest allowed value, none where an exclusive bound leaves no nearest one', () => {
  assert.deepEqual(nearestInRange(true, '≥ 1 and ≤ 64', 0), { value: '1', bound: 'minimum' });
  assert.deepEqual(nearestInRange(true, '≥ 1 and ≤ 64', 65), { value: '64', bound: 'maximum' });
  assert.deepEqual(nearestInRange(true, '> 0', -2), { value: '1', bound: 'minimum' });
  assert.deepEqual(nearestInRange(true, '≥ 0.5', 0), { value: '1', bound: 'minimum' });
  assert.deepEqual(nearestInRange(false, '> 0 and ≤ 1', 1.5), { value: '1', bound: 'maximum' });
  assert.equal(nearestInRange(false, '> 0 and ≤ 1', 0), undefined);
  assert.equal(nearestInRange(false, '≥ 0 and < 1', 1), undefined);
  assert.equal(nearestInRange(true, '≥ 1 and ≤ 64', 3), undefined);
  // a momentum of 1 (exclusive maximum): a message, no fix
  const a = analyzeModel(
    GOOD_YAML + 'train: { estimator: psa, lr: 0.1, optimizer: { type: sgd, momentum: 1 } }\n',
    '/w/m.sbn.yaml',
    EVERYTHING,
  );
  const p = a.problems.find((x) => x.path === 'train.optimizer.momentum');
  assert.ok(p, JSON.stringify(a.problems));
  assert.match(p.message, /^expected a number ≥ 0 and < 1, got 1$/);
  assert.equal(p.fix, undefined);
});

test('quick fix: logistic on a 10-class data set switches to nll with 10 units (two edits)', () => {
  for (const [text, file] of [
    [MNIST_YAML, 'm.sbn.yaml'],
    [MNIST_JSON, 'm.sbn.json'],
  ]) {
    const broken = text.replace(/units"?: 10, "?loss"?: "?nll"?/, (m) =>
      m.replace('10', '1').replace('nll', 'logistic'),
    );
    assert.notEqual(broken, text);
    const a = analyzeModel(broken, `/w/${file}`, EVERYTHING);
    const [p] = a.problems.filter((q) => q.code === 'data-mismatch');
    assert.equal(p.path, 'output.loss');
    assert.equal(p.fix!.edits.length, 2);
    const fixed = applyEdits(broken, p.fix!.edits);
    assert.equal(fixed, text);
  }
});

test('quick fixes of several problems applied together give a valid file', () => {
  for (const [text, file] of [
    [BAD_YAML, 'bad.sbn.yaml'],
    [BAD_JSON, 'bad.sbn.json'],
  ]) {
    const a = analyzeModel(text, `/w/${file}`, EVERYTHING);
    const fixes = withFix(a);
    assert.equal(fixes.length, 4, file);
    const fixed = applyEdits(
      text,
      fixes.flatMap((p) => p.fix!.edits),
    );
    assert.ok(parseModelText(fixed, file).ok, fixed);
  }
});

test('YAML block values: the fix replaces the value, not the line break after it', () => {
  const text = GOOD_YAML.replace('noise: logistic', 'noise: |\n  logistc');
  const a = analyzeModel(text, '/w/m.sbn.yaml', EVERYTHING);
  const [p] = withFix(a);
  assert.equal(p.fix!.title, 'Change to "logistic"');
  assert.ok(parseModelText(applyEdits(text, p.fix!.edits), 'm.sbn.yaml').ok);
});

test('no rename when the suggested key is already there; helpers', () => {
  const text = GOOD_YAML.replace('units: 5', 'units: 5\n    unit: 5');
  const a = analyzeModel(text, '/w/m.sbn.yaml', EVERYTHING);
  assert.equal(a.problems.length, 1);
  assert.equal(a.problems[0].fix, undefined);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 9, -2].map(nearestKernel), [1, 1, 3, 3, 3, 5, 5, 5, 5, 1]);
  assert.deepEqual(parsePath('layers[2].units'), ['layers', 2, 'units']);
  assert.deepEqual(parsePath('output["my key"].x'), ['output', 'my key', 'x']);
  assert.deepEqual(parsePath(''), []);
});

// ---------------------------------------------------------------- data sets on this machine

const CIFAR_YAML = `name: c
input: { shape: [3, 32, 32] }
layers: [{ type: conv, filters: 2, kernel: 3 }]
output: { units: 10, loss: nll }
data:
  dataset: cifar10
  path: ../data/cifar
`;

/** A fake machine holding exactly these paths; it records every probe. */
function machine(paths: string[], fashion = true, mayProbe?: (p: string) => boolean) {
  const probes: string[] = [];
  const env: AnalysisEnv = {
    fileExists: (p) => (probes.push(p), paths.includes(p)),
    fashionMnistAvailable: () => fashion,
    ...(mayProbe ? { mayProbe } : {}),
  };
  return { env, probes };
}

test('fashion-mnist: a warning at data.dataset when missing, nothing when installed', () => {
  const text = MNIST_YAML.replace('dataset: mnist', 'dataset: fashion-mnist');
  const missing = analyzeModel(text, '/w/m.sbn.yaml', machine([], false).env);
  assert.deepEqual(missing.problems.map(summary), [
    ['dataset-unavailable', 'warning', 'data.dataset', rangeOf(text, 'fashion-mnist')],
  ]);
  assert.equal(
    missing.problems[0].message,
    'fashion-mnist is not on this machine: Train Model offers to download it ' +
      '(or run `sbn data fetch fashion-mnist`), ' +
      'install it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu) ' +
      'or set SBN_FASHION_MNIST_DIR to a folder holding its ' +
      '4 IDX files; SBN: Show Environment lists where it was looked for',
  );
  assert.deepEqual(analyzeModel(text, '/w/m.sbn.yaml', machine([], true).env).problems, []);
  // An explicit data.path is checked instead of the installed copy.
  const withPath = text.replace('fashion-mnist }', 'fashion-mnist, path: fm }');
  const m = machine(['/w/fm'], false);
  assert.deepEqual(analyzeModel(withPath, '/w/m.sbn.yaml', m.env).problems, []);
  assert.deepEqual(m.probes, ['/w/fm']);
  const mnistMissing = analyzeModel(MNIST_YAML, '/w/m.sbn.yaml', { ...EVERYTHING, mnistAvailable: () => false });
  assert.deepEqual(
    mnistMissing.problems.map((p) => p.code),
    ['dataset-unavailable'],
  );
  assert.match(mnistMissing.problems[0].message, /^mnist is not on this machine: Train Model offers to download it/);
  // cifar10 without data.path: looked for in the data-set stores
  const cifar = MNIST_YAML.replace('dataset: mnist', 'dataset: cifar10');
  const cifarMissing = analyzeModel(cifar, '/w/m.sbn.yaml', { ...EVERYTHING, cifar10Available: () => false });
  assert.deepEqual(
    cifarMissing.problems.map((p) => [p.code, p.message.split(':')[0]]).filter(([c]) => c === 'dataset-unavailable'),
    [['dataset-unavailable', 'cifar10 is not on this machine']],
  );
});

test('cifar10 and file: data.path resolved relative to the model file, probed for existence only', () => {
  const file = '/w/models/c.sbn.yaml';
  const missing = machine([]);
  const a = analyzeModel(CIFAR_YAML, file, missing.env);
  assert.deepEqual(a.problems.filter(notExact).map(summary), [
    ['path-missing', 'warning', 'data.path', rangeOf(CIFAR_YAML, '../data/cifar')],
  ]);
  assert.equal(
    a.problems.filter(notExact)[0].message,
    'data.path "../data/cifar" resolves to /w/data/cifar, which does not exist',
  );
  assert.deepEqual(missing.probes, ['/w/data/cifar']);

  const empty = analyzeModel(CIFAR_YAML, file, machine(['/w/data/cifar']).env);
  assert.deepEqual(
    empty.problems.filter(notExact).map((p) => p.code),
    ['path-missing'],
  );
  assert.match(empty.problems.filter(notExact)[0].message, /which has no data_batch_1\.bin/);
  assert.deepEqual(
    analyzeModel(CIFAR_YAML, file, machine(['/w/data/cifar', '/w/data/cifar/data_batch_1.bin']).env).problems.filter(
      notExact,
    ),
    [],
  );
  const nested = machine(['/w/data/cifar', '/w/data/cifar/cifar-10-batches-bin/data_batch_1.bin']);
  assert.deepEqual(analyzeModel(CIFAR_YAML, file, nested.env).problems.filter(notExact), []);

  const csv = MNIST_JSON.replace('"input": { "shape": [784] }', '"input": { "shape": [2] }').replace(
    '{ "dataset": "mnist" }',
    '{ "dataset": "file", "path": "/data/points.csv" }',
  );
  const b = analyzeModel(csv, '/w/m.sbn.json', machine([]).env);
  assert.deepEqual(b.problems.map(summary), [
    ['path-missing', 'warning', 'data.path', rangeOf(csv, '"/data/points.csv"')],
  ]);
  assert.deepEqual(analyzeModel(csv, '/w/m.sbn.json', machine(['/data/points.csv']).env).problems, []);
});

test('Restricted Mode: paths outside the workspace are not probed, and say so', () => {
  const m = machine([], true, (p) => p.startsWith('/w/'));
  const a = analyzeModel(CIFAR_YAML.replace('../data/cifar', '/elsewhere/cifar'), '/w/c.sbn.yaml', m.env);
  assert.deepEqual(
    a.problems.filter(notExact).map((p) => [p.code, p.severity, p.path]),
    [['path-unchecked', 'information', 'data.path']],
  );
  assert.match(
    a.problems.filter(notExact)[0].message,
    /resolves to \/elsewhere\/cifar, outside the workspace: not checked in Restricted Mode/,
  );
  assert.deepEqual(m.probes, []);
  const inside = analyzeModel(CIFAR_YAML, '/w/models/c.sbn.yaml', m.env);
  assert.deepEqual(
    inside.problems.filter(notExact).map((p) => p.code),
    ['path-missing'],
  );
  assert.deepEqual(m.probes, ['/w/data/cifar']);
});

test('exact enumeration: an information note at the layers key when the model is too large', () => {
  const wide = MNIST_YAML.replace('units: 16', 'units: 64');
  const a = analyzeModel(wide, '/w/m.sbn.yaml', EVERYTHING);
  assert.deepEqual(a.problems.map(summary), [['exact-too-large', 'information', 'layers', rangeOf(wide, 'layers')]]);
  assert.match(
    a.problems[0].message,
    /^exact enumeration is not possible for this model \(64 binary units in layer "dense1": 2\^64 states\): /,
  );
  // 16 units: 2^16 states for one data point is within reach.
  assert.deepEqual(analyzeModel(MNIST_YAML, '/w/m.sbn.yaml', EVERYTHING).problems, []);
  const toy = readFileSync(join(ROOT, 'examples', 'toy2d-gradeval.sbn.json'), 'utf8');
  assert.deepEqual(analyzeModel(toy, join(ROOT, 'examples', 'toy2d-gradeval.sbn.json'), EVERYTHING).problems, []);
  const conv = analyzeModel(GOOD_YAML, '/w/m.sbn.yaml', EVERYTHING);
  assert.match(conv.problems[0].message, /144 binary units in layer "conv1"/);
});

// ---------------------------------------------------------------- hover and code lenses

const CONV_YAML = `# a conv model
name: fashion-conv
input: { shape: [1, 28, 28] }
layers:
  - { type: conv, filters: 16, kernel: 3, stride: 2, padding: 1 }
  - { type: conv, filters: 32, kernel: 3, stride: 2, padding: 1 }
  - { type: flatten }
  - type: dense
    units: 256
output:
  units: 10
  loss: nll
data: { dataset: toy-2d }
`;

/** A YAML hover without the key's schema description before it (the last part: our shapes and counts). */
const shapesOf = (markdown: string | undefined) => markdown?.split('\n\n---\n\n').at(-1);

test('hover: conv, flatten, dense and output layers show shapes, parameters and binary units', () => {
  const a = analyzeModel(CONV_YAML, '/w/c.sbn.yaml', EVERYTHING);
  const conv2 = rangeOf(CONV_YAML, 'filters: 32');
  assert.equal(
    shapesOf(hoverAt(a, conv2.start.line, conv2.start.character)),
    '**conv2** (layers[1]) · conv 3×3, 32 filters, stride 2, padding 1\n\n`[16, 14, 14]` → `[32, 7, 7]`\n\n' +
      '4,640 parameters · 1,568 binary units',
  );
  const conv1 = rangeOf(CONV_YAML, '{ type: conv');
  assert.match(
    shapesOf(hoverAt(a, conv1.start.line, conv1.start.character)) ?? '',
    /^\*\*conv1\*\* .*\n\n`\[1, 28, 28\]` → `\[16, 14, 14\]`\n\n160 parameters · 3,136 binary units$/,
  );
  const flatten = rangeOf(CONV_YAML, 'flatten');
  assert.match(
    shapesOf(hoverAt(a, flatten.start.line, flatten.start.character)) ?? '',
    /`\[32, 7, 7\]` → `\[1568\]`\n\n0 parameters · 0 binary units$/,
  );
  // Anywhere in a block-style layer, `type` line or `units` line.
  for (const needle of ['type: dense', '256']) {
    const at = rangeOf(CONV_YAML, needle);
    assert.equal(
      shapesOf(hoverAt(a, at.start.line, at.start.character + 1)),
      '**dense4** (layers[3]) · dense, 256 units\n\n`[1568]` → `[256]`\n\n401,664 parameters · 256 binary units',
    );
  }
  for (const needle of ['output', 'loss: nll']) {
    const at = rangeOf(CONV_YAML, needle);
    assert.equal(
      shapesOf(hoverAt(a, at.start.line, at.start.character)),
      '**output** · linear output, loss nll (softmax over 10 classes)\n\n' +
        '`[256]` → `[10]`\n\n2,570 parameters · 0 binary units',
    );
  }
  const name = rangeOf(CONV_YAML, 'name');
  const info = hoverInfoAt(a, name.start.line, name.start.character + 2)!;
  assert.equal(
    shapesOf(info.markdown),
    '**fashion-conv** · 4 hidden layers\n\n`[1, 28, 28]` → `[10]`\n\n409,034 parameters · 4,960 binary units',
  );
  assert.deepEqual(info.range, rangeOf(CONV_YAML, 'name: fashion-conv'));
  const data = rangeOf(CONV_YAML, 'toy-2d');
  assert.doesNotMatch(hoverAt(a, data.start.line, data.start.character) ?? '', /parameters|binary units/);
  assert.equal(hoverAt(a, 0, 3), undefined);
});

type SchemaNode = Record<string, unknown>;
/** The schema node at a `/`-separated path of keys, following local $refs on the way. */
function schemaNode(schema: SchemaNode, path: string): SchemaNode {
  const deref = (s: SchemaNode): SchemaNode =>
    typeof s.$ref === 'string'
      ? deref(
          s.$ref
            .slice(2)
            .split('/')
            .reduce<SchemaNode>((o, k) => o[k] as SchemaNode, schema),
        )
      : s;
  return path.split('/').reduce<SchemaNode>((o, k) => deref(o[k] as SchemaNode), schema);
}
const described = (s: SchemaNode) => (s.markdownDescription ?? s.description) as string;

test("hover: YAML keys show the schema's description (what VS Code's JSON service shows in JSON files)", () => {
  const text = GOOD_YAML + 'train: { estimator: psa, lr: 0.1, optimizer: { type: adam, beta1: 0.8 } }\n';
  const a = analyzeModel(text, '/w/m.sbn.yaml', EVERYTHING);
  const at = (needle: string, nth = 0) => {
    const r = rangeOf(text, needle, nth);
    return hoverAt(a, r.start.line, r.start.character + 1) ?? '';
  };
  // a top-level key; a key of a layer chosen by its type; a value the schema lists, with what it means
  const states = schemaNode(modelSchema, 'properties/states');
  const pm1 = (states.markdownEnumDescriptions as string[])[0];
  assert.equal(at('states'), `${described(states)}\n\n\`pm1\`: ${pm1}`);
  const kernel = described(schemaNode(modelSchema, `definitions/convLayer/properties/kernel`));
  assert.ok(at('kernel').startsWith(`${kernel}\n\n\`3\`: `), at('kernel'));
  assert.match(at('kernel'), /\n\n---\n\n\*\*conv1\*\* \(layers\[0\]\)/);
  const estimator = schemaNode(modelSchema, `definitions/train/properties/estimator`);
  const psa = (estimator.markdownEnumDescriptions ?? estimator.enumDescriptions) as string[];
  assert.equal(at('estimator'), `${described(estimator)}\n\n\`psa\`: ${psa[0]}`);
  // the optimiser's branch follows its type: adam's beta1, not sgd's keys
  assert.equal(at('beta1'), described(schemaNode(modelSchema, `definitions/adamOptimizer/properties/beta1`)));
  // JSON files: the JSON service shows the descriptions; ours only the shapes
  const json = analyzeModel(GOOD_JSON, '/w/m.sbn.json', EVERYTHING);
  const key = rangeOf(GOOD_JSON, '"states"');
  assert.equal(hoverAt(json, key.start.line, key.start.character + 1), undefined);
});

test('the JSON service gets a schema that completes and describes but never fails', () => {
  const editor = jsonEditorSchema(modelSchema);
  const text = JSON.stringify(editor);
  for (const keyword of ['"minimum"', '"maximum"', '"enum"', '"pattern"', '"oneOf"', '"errorMessage"', '"minItems"'])
    assert.ok(!text.includes(keyword), keyword);
  // "type" survives only as a key in properties (a layer's or an optimiser's), never as a constraint; `required` and
  // `const` only inside an `if`
  const walk = (node: unknown, inProperties: boolean): void => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, false));
    if (node === null || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === 'type' && !inProperties) assert.fail(`a "type" constraint survived: ${JSON.stringify(node)}`);
      if (k === 'additionalProperties') assert.notEqual(v, false);
      if (k === 'required' || k === 'const') assert.fail(`"${k}" outside an "if": ${JSON.stringify(node)}`);
      if (k !== 'if') walk(v, k === 'properties');
    }
  };
  walk(editor, false);
  const ifs = text.match(/"if"/g)?.length ?? 0;
  const layerIf = schemaNode(editor, 'definitions/layer') as { allOf: { if: unknown; then: { $ref: string } }[] };
  assert.deepEqual(
    layerIf.allOf.map((p) => [p.if, p.then.$ref]),
    ['dense', 'conv', 'flatten'].map((t) => [
      { properties: { type: { const: t } }, required: ['type'] },
      `#/definitions/${t}Layer`,
    ]),
  );
  assert.ok(ifs >= 3);
  assert.notEqual(editor.$id, modelSchema.$id);
  // descriptions stay; enum values become proposals with their descriptions
  const original = schemaNode(modelSchema, 'definitions/train/properties/estimator');
  const derived = schemaNode(editor, 'definitions/train/properties/estimator');
  assert.equal(derived.markdownDescription ?? derived.description, described(original));
  const snippets = derived.defaultSnippets as { body: unknown; description?: string }[];
  assert.deepEqual(
    snippets.map((p) => p.body),
    original.enum,
  );
  assert.equal(snippets[0].description, (original.enumDescriptions as string[])[0]);
});

test('hover: JSON dense model, and layers before a broken one', () => {
  const a = analyzeModel(MNIST_JSON, '/w/m.sbn.json', EVERYTHING);
  const dense = rangeOf(MNIST_JSON, '"units": 16');
  assert.equal(
    hoverAt(a, dense.start.line, dense.start.character),
    '**dense1** (layers[0]) · dense, 16 units\n\n`[784]` → `[16]`\n\n12,560 parameters · 16 binary units',
  );
  const broken = GOOD_YAML.replace('units: 5', 'units: 0');
  const b = analyzeModel(broken, '/w/m.sbn.yaml', EVERYTHING);
  const conv = rangeOf(broken, 'kernel');
  assert.match(hoverAt(b, conv.start.line, conv.start.character)!, /`\[1, 8, 8\]` → `\[4, 6, 6\]`/);
  assert.equal(b.totals, undefined);
  // no totals on the name of a model with a broken layer: only the key's description
  const n = rangeOf(broken, 'name');
  assert.doesNotMatch(hoverAt(b, n.start.line, n.start.character)!, /parameters|binary units/);
});

test('code lenses: Train, Compare estimators and the totals on the name line', () => {
  const a = analyzeModel(`${CONV_YAML}train: { estimator: psa, epochs: 1, lr: 0.01 }\n`, '/w/c.sbn.yaml', EVERYTHING);
  const lenses = codeLenses(a);
  const line1 = { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } };
  assert.deepEqual(
    lenses.map((l) => [l.title, l.command, l.range]),
    [
      ['▶ Train', 'sbn.trainModel', line1],
      ['Compare estimators', 'sbn.compareEstimators', line1],
      ['409,034 params · 4,960 binary units', undefined, line1],
    ],
  );
  assert.deepEqual(
    codeLenses(a, { commands: false }).map((l) => l.title),
    ['409,034 params · 4,960 binary units'],
  );
  const noName = analyzeModel('input: {shape: [2]}\n', '/w/x.sbn.yaml', EVERYTHING);
  assert.deepEqual(
    codeLenses(noName).map((l) => [l.title, l.range.start.line]),
    [
      ['▶ Train', 0],
      ['Compare estimators', 0],
    ],
  );
});

test('code lenses: no Train for a file without a train section (gradient evaluation), Compare estimators stays', () => {
  const a = analyzeModel(CONV_YAML, '/w/c.sbn.yaml', EVERYTHING);
  assert.ok(a.model, 'the file parses');
  assert.deepEqual(
    codeLenses(a).map((l) => l.title),
    ['Compare estimators', '409,034 params · 4,960 binary units'],
  );
  const toyFile = join(ROOT, 'examples', 'toy2d-gradeval.sbn.json');
  const toy = analyzeModel(readFileSync(toyFile, 'utf8'), toyFile, EVERYTHING);
  assert.deepEqual(
    codeLenses(toy).map((l) => l.command),
    ['sbn.compareEstimators', undefined],
  );
  const trainable = join(ROOT, 'examples', 'toy2d.sbn.json');
  assert.equal(codeLenses(analyzeModel(readFileSync(trainable, 'utf8'), trainable, EVERYTHING))[0].title, '▶ Train');
});

test('exact enumeration: no note on a file that trains (only gradient evaluation asks for exact gradients)', () => {
  const wide = MNIST_YAML.replace('units: 16', 'units: 64');
  assert.equal(analyzeModel(wide, '/w/m.sbn.yaml', EVERYTHING).problems.length, 1);
  const training = `${wide}train: { estimator: psa, epochs: 1, lr: 0.01 }\n`;
  assert.deepEqual(analyzeModel(training, '/w/m.sbn.yaml', EVERYTHING).problems, []);
  for (const f of readdirSync(join(ROOT, 'examples')).filter((f) => /\.sbn\.(json|yaml)$/.test(f))) {
    const file = join(ROOT, 'examples', f);
    const codes = analyzeModel(readFileSync(file, 'utf8'), file, EVERYTHING).problems.map((p) => p.code);
    assert.ok(!codes.includes('exact-too-large'), `${f}: ${codes.join(', ')}`);
  }
});

// ---------------------------------------------------------------- never throws, ranges inside the document

function checkInside(text: string, a: ModelAnalysis): void {
  const lines = linesOf(text.replace(/^\uFEFF/, ' '));
  const inside = (r: Range, what: string) => {
    for (const p of [r.start, r.end]) {
      assert.ok(
        Number.isInteger(p.line) && p.line >= 0 && p.line < lines.length,
        `${what}: line ${p.line} of ${lines.length}`,
      );
      assert.ok(
        Number.isInteger(p.character) && p.character >= 0 && p.character <= lines[p.line].length,
        `${what}: character ${p.character} of ${lines[p.line].length}`,
      );
    }
    assert.ok(
      r.start.line < r.end.line || (r.start.line === r.end.line && r.start.character <= r.end.character),
      `${what}: reversed`,
    );
  };
  for (const p of [...a.problems, ...a.deferred]) {
    assert.equal(typeof p.message, 'string');
    inside(p.range, p.message);
    for (const e of p.fix?.edits ?? []) inside(e.range, `fix of ${p.message}`);
  }
  for (const l of a.layers ?? []) inside(l.range, `layer ${l.geometry.name}`);
  if (a.nameRange) inside(a.nameRange, 'name');
}

const SEEDS: [string, string][] = [
  [BAD_YAML, 'bad.sbn.yaml'],
  [BAD_JSON, 'bad.sbn.json'],
  [GOOD_YAML, 'm.sbn.yaml'],
  [GOOD_JSON, 'm.sbn.json'],
  [CONV_YAML, 'c.sbn.yaml'],
  [CIFAR_YAML, 'c.sbn.yaml'],
  [MNIST_JSON, 'm.sbn.json'],
  ...['cifar10-s1.sbn.yaml', 'fashion-conv-psa.sbn.yaml', 'mnist-mlp-psa.sbn.yaml', 'toy2d.sbn.json'].map(
    (f): [string, string] => [readFileSync(join(ROOT, 'examples', f), 'utf8'), f],
  ),
];

const PIECES = [
  '\n',
  '\r\n',
  '\r',
  ' ',
  '  ',
  '\t',
  ':',
  ': ',
  '- ',
  '{',
  '}',
  '[',
  ']',
  ',',
  '"',
  "'",
  '#',
  '&a',
  '*a',
  '!!str ',
  '---\n',
  '01',
  '-1',
  '1e999',
  'null',
  '~',
  '\\',
  '\uFEFF',
  '\u2028',
  '😀',
  'units',
  'kernel: 2',
  'type: conv',
  'unit:',
  'loss: nll',
  'dataset: cifar10',
  'path: ../x',
  '"path": "/x"',
  '? ',
  '|\n',
  '>-\n',
];

const mutation = fc.oneof(
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 8 })),
  }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({
    op: fc.constant('duplicate' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 80 }),
    to: fc.nat(),
  }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(text: string, ms: Mutation[]): string {
  let t = text;
  for (const m of ms) {
    const at = t.length === 0 ? 0 : m.at % (t.length + 1);
    if (m.op === 'insert') t = t.slice(0, at) + m.text + t.slice(at);
    else if (m.op === 'delete') t = t.slice(0, at) + t.slice(at + m.length);
    else {
      const piece = t.slice(at, at + m.length);
      const to = t.length === 0 ? 0 : m.to % (t.length + 1);
      t = t.slice(0, to) + piece + t.slice(to);
    }
  }
  return t;
}

const PROPERTY_ENV: AnalysisEnv = {
  fileExists: (p) => p.length % 2 === 0,
  fashionMnistAvailable: () => false,
  mayProbe: (p) => !p.includes('x'),
};

function exercise(text: string, file: string): void {
  let a: ModelAnalysis | undefined;
  assert.doesNotThrow(() => {
    a = analyzeModel(text, file, PROPERTY_ENV);
  });
  checkInside(text, a!);
  const lines = linesOf(text);
  for (const line of [0, lines.length >> 1, lines.length - 1]) {
    for (const character of [0, 3, (lines[line] ?? '').length]) assert.doesNotThrow(() => hoverAt(a!, line, character));
  }
  assert.ok(codeLenses(a!).length >= 2);
  // Every fix applies (valid, non-overlapping edits) and removes its problem (a duplicate key may leave its twin).
  for (const p of [...a!.problems, ...a!.deferred]) {
    if (!p.fix) continue;
    const fixed = applyEdits(text, p.fix.edits);
    let after: ModelAnalysis | undefined;
    assert.doesNotThrow(() => {
      after = analyzeModel(fixed, file, PROPERTY_ENV);
    });
    const same = [...after!.problems, ...after!.deferred].filter(
      (q) => q.path === p.path && q.message === p.message && q.range.start.line === p.range.start.line,
    );
    assert.deepEqual(same, [], `${p.fix.title} left "${p.message}" in\n${fixed}`);
  }
}

test('property: analyzeModel never throws on random text, and every range lies inside the document', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }).map((a) => a.join('')),
      ),
      fc.constantFrom('/w/m.sbn.yaml', '/w/m.sbn.json', 'Untitled-1', ''),
      (text, file) => exercise(text, file),
    ),
    { numRuns: 2000 },
  );
});

test('property: analyzeModel never throws on mutated model files (both formats)', () => {
  fc.assert(
    fc.property(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 6 }), ([seed, name], ms) =>
      exercise(mutate(seed, ms), `/w/models/${name}`),
    ),
    { numRuns: 3000 },
  );
});

test('analyzeModel survives non-string input and a throwing machine', () => {
  const throwing: AnalysisEnv = {
    fileExists: () => {
      throw new Error('boom');
    },
    fashionMnistAvailable: () => {
      throw new Error('boom');
    },
  };
  const a = analyzeModel(CIFAR_YAML, '/w/c.sbn.yaml', throwing);
  assert.deepEqual(
    a.problems.map((p) => [p.code, p.range]),
    [['internal', { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }]],
  );
  assert.match(a.problems[0].message, /internal error: boom/);
  assert.doesNotThrow(() => analyzeModel(undefined as unknown as string, undefined as unknown as string, EVERYTHING));
});

test('the editor analysis loads no TensorFlow.js (its module graph: spec, data table, cost model)', () => {
  // The extension host runs it on every keystroke; TensorFlow.js belongs to the worker processes only.
  type Esbuild = {
    buildSync(o: object): { metafile: { inputs: Record<string, { imports: { path: string }[] }> } };
  };
  const esbuild = createRequire(__filename)('esbuild') as Esbuild;
  const { metafile } = esbuild.buildSync({
    absWorkingDir: ROOT,
    entryPoints: ['src/extension/language/hover.ts', 'src/extension/language/codeLens.ts'],
    bundle: true,
    platform: 'node',
    external: ['@tensorflow/*', 'vscode'],
    write: false,
    metafile: true,
    outdir: 'unused',
    logLevel: 'silent',
  });
  const inputs = Object.keys(metafile.inputs);
  assert.ok(inputs.includes('src/extension/language/analysis/index.ts'), inputs.join(', '));
  const modules = [...inputs, ...Object.values(metafile.inputs).flatMap((m) => m.imports.map((i) => i.path))];
  const heavy = modules.filter((f) =>
    /@tensorflow|^vscode$|src\/engine\/(backend|kernels|network|train|estimators\/(?!exactCost))/.test(f),
  );
  assert.deepEqual([...new Set(heavy)], []);
});
