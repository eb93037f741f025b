// test-backends: one
// Model files (*.sbn.json / *.sbn.yaml): parsing, schema and semantic validation, error positions and messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import {
  binaryUnitCount,
  CONV_DEFAULTS,
  DATA_DEFAULTS,
  DEFAULT_NOISE,
  DEFAULT_STATES,
  DEFAULT_TAU,
  DEFAULT_TANH_ACTIVATION,
  DEFAULT_GUMBEL_RAO_K,
  formatSpecError,
  hiddenLayerNames,
  layerGeometry,
  loadModelFile,
  LR_GRID_DEFAULTS,
  LR_SEARCH_DEFAULTS,
  modelSchema,
  OPTIMIZER_DEFAULTS,
  parameterCount,
  parseModelText,
  TRAIN_DEFAULTS,
  withDiagnosticsDefault,
  type ModelSpec,
  type ParseResult,
  type SpecError,
} from '../../src/engine/spec';

const MINIMAL =
  '{"name": "gradeval-5-5-5", "input": {"shape": [2]}, "states": "01", "noise": "logistic", ' +
  '"layers": [{"type": "dense", "units": 5}, {"type": "dense", "units": 5}, {"type": "dense", "units": 5}], ' +
  '"output": {"units": 1, "loss": "logistic"}}';

const EXPECTED: ModelSpec = {
  name: 'gradeval-5-5-5',
  input: { shape: [2] },
  states: '01',
  noise: 'logistic',
  layers: [
    { type: 'dense', units: 5 },
    { type: 'dense', units: 5 },
    { type: 'dense', units: 5 },
  ],
  output: { units: 1, loss: 'logistic' },
};

// The same model, one value per line, so that positions are easy to check.
const JSON_TEXT = `{
  "name": "gradeval-5-5-5",
  "input": { "shape": [2] },
  "states": "01",
  "noise": "logistic",
  "layers": [
    { "type": "dense", "units": 5 },
    { "type": "dense", "units": 5 },
    { "type": "dense", "units": 5 }
  ],
  "output": { "units": 1, "loss": "logistic" }
}
`;
const YAML_TEXT = `name: gradeval-5-5-5
input:
  shape: [2]
states: "01"
noise: logistic
layers:
  - type: dense
    units: 5
  - type: dense
    units: 5
  - type: dense
    units: 5
output:
  units: 1
  loss: logistic
`;

/** 1-based position of `needle` (plus `shift` characters) in `text`. */
function at(text: string, needle: string, shift = 0): { line: number; column: number } {
  const i = text.indexOf(needle);
  assert.ok(i >= 0, `fixture lacks ${JSON.stringify(needle)}`);
  const before = text.slice(0, i + shift).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

/** Replaces one occurrence (the `nth`, from 0) of `from` in `text`. */
function edit(text: string, from: string, to: string, nth = 0): string {
  let i = -1;
  for (let k = 0; k <= nth; k++) {
    i = text.indexOf(from, i + 1);
    assert.ok(i >= 0, `fixture lacks ${JSON.stringify(from)} #${nth}`);
  }
  return text.slice(0, i) + to + text.slice(i + from.length);
}

function errorsOf(result: ParseResult): SpecError[] {
  assert.equal(result.ok, false, 'expected errors, got a model');
  return result.ok ? [] : result.errors;
}

/** Parses `text` and checks that it gives exactly one error, with this path, position and message. */
function expectOne(
  text: string,
  file: string,
  path: string,
  where: { line: number; column: number },
  message: string | RegExp,
): SpecError {
  const errors = errorsOf(parseModelText(text, file));
  assert.equal(errors.length, 1, errors.map(formatSpecError).join('\n'));
  const [e] = errors;
  assert.equal(e.file, file);
  assert.equal(e.path, path);
  assert.deepEqual({ line: e.line, column: e.column }, where, formatSpecError(e));
  if (typeof message === 'string') assert.equal(e.message, message);
  else assert.match(e.message, message);
  return e;
}

// ---------------------------------------------------------------- valid files

test('the minimal JSON file parses to the expected ModelSpec', () => {
  assert.deepEqual(parseModelText(MINIMAL, 'gradeval.sbn.json'), { ok: true, model: EXPECTED });
  assert.deepEqual(parseModelText(JSON_TEXT, 'gradeval.sbn.json'), { ok: true, model: EXPECTED });
});

test('the same model in YAML parses to the same ModelSpec (.yaml and .yml)', () => {
  assert.deepEqual(parseModelText(YAML_TEXT, 'gradeval.sbn.yaml'), { ok: true, model: EXPECTED });
  assert.deepEqual(parseModelText(YAML_TEXT, 'gradeval.sbn.yml'), { ok: true, model: EXPECTED });
});

test('defaults: states pm1 and noise logistic, as the schema says; $schema is accepted and dropped', () => {
  const text = edit(
    edit(JSON_TEXT, '"states": "01",', '"$schema": "../schemas/sbn-model.schema.json",'),
    '"noise": "logistic",',
    '',
  );
  const result = parseModelText(text, 'm.sbn.json');
  assert.deepEqual(result, { ok: true, model: { ...EXPECTED, states: 'pm1', noise: 'logistic' } });
  const props = modelSchema.properties as Record<string, { default?: unknown }>;
  assert.equal(props.states.default, DEFAULT_STATES);
  assert.equal(props.noise.default, DEFAULT_NOISE);
});

test('layer names, nll output, CRLF line ends and a BOM are fine', () => {
  const yaml =
    '\uFEFF' +
    edit(
      edit(YAML_TEXT, '  - type: dense\n    units: 5', '  - type: dense\n    units: 5\n    name: first'),
      'units: 1\n  loss: logistic',
      'units: 10\n  loss: nll',
    );
  const result = parseModelText(yaml.replace(/\n/g, '\r\n'), 'm.sbn.yaml');
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(result.model.layers[0], { type: 'dense', units: 5, name: 'first' });
  assert.deepEqual(result.model.output, { units: 10, loss: 'nll' });
  assert.deepEqual(hiddenLayerNames(result.model), ['first', 'dense2', 'dense3']);
});

test('YAML anchors and aliases are resolved', () => {
  const yaml = edit(
    YAML_TEXT,
    '  - type: dense\n    units: 5\n  - type: dense\n    units: 5\n  - type: dense\n    units: 5',
    '  - &hidden {type: dense, units: 5}\n  - *hidden\n  - *hidden',
  );
  assert.deepEqual(parseModelText(yaml, 'm.sbn.yaml'), { ok: true, model: EXPECTED });
});

test('other file names: the format is sniffed from the text', () => {
  assert.deepEqual(parseModelText(JSON_TEXT, 'untitled-1'), { ok: true, model: EXPECTED });
  assert.deepEqual(parseModelText(YAML_TEXT, 'untitled-2'), { ok: true, model: EXPECTED });
});

test('helpers: hiddenLayerNames, parameterCount, binaryUnitCount', () => {
  assert.deepEqual(hiddenLayerNames(EXPECTED), ['dense1', 'dense2', 'dense3']);
  assert.equal(parameterCount(EXPECTED), 3 * 5 + 6 * 5 + 6 * 5 + 6 * 1);
  assert.equal(binaryUnitCount(EXPECTED), 15);
  const mnist: ModelSpec = {
    ...EXPECTED,
    input: { shape: [784] },
    layers: [{ type: 'dense', units: 100, name: 'h' }],
    output: { units: 10, loss: 'nll' },
  };
  assert.equal(parameterCount(mnist), 785 * 100 + 101 * 10);
  assert.equal(binaryUnitCount(mnist), 100);
  assert.deepEqual(hiddenLayerNames(mnist), ['h']);
});

test('withDiagnosticsDefault: the setting applies only to a model file without a diagnostics section', () => {
  assert.deepEqual(withDiagnosticsDefault(EXPECTED, 25).diagnostics, { interval: 25 });
  assert.equal(EXPECTED.diagnostics, undefined, 'the model is not changed in place');
  assert.equal(withDiagnosticsDefault(EXPECTED, 0), EXPECTED);
  assert.equal(withDiagnosticsDefault(EXPECTED, undefined), EXPECTED);
  assert.equal(withDiagnosticsDefault(EXPECTED, 2.5), EXPECTED);
  const own: ModelSpec = { ...EXPECTED, diagnostics: { interval: 0 } };
  assert.equal(withDiagnosticsDefault(own, 25), own, "the model file's own section wins, even interval 0");
  const some: ModelSpec = { ...EXPECTED, diagnostics: { interval: 7, draws: 20 } };
  assert.equal(withDiagnosticsDefault(some, 25), some);
});

// ---------------------------------------------------------------- errors, in both formats

test('wrong type', () => {
  const json = edit(JSON_TEXT, '"units": 5', '"units": "five"', 2);
  expectOne(json, 'm.sbn.json', 'layers[2].units', at(json, '"five"'), 'expected an integer ≥ 1, got "five"');
  const yaml = edit(YAML_TEXT, 'units: 5', 'units: five', 2);
  expectOne(yaml, 'm.sbn.yaml', 'layers[2].units', at(yaml, 'five'), 'expected an integer ≥ 1, got "five"');
  const frac = edit(JSON_TEXT, '"units": 5', '"units": 2.5');
  expectOne(frac, 'm.sbn.json', 'layers[0].units', at(frac, '2.5'), 'expected an integer ≥ 1, got 2.5');
});

test('bad enum value lists the allowed values and suggests a close one', () => {
  const json = edit(JSON_TEXT, '"noise": "logistic"', '"noise": "gauss"');
  expectOne(json, 'm.sbn.json', 'noise', at(json, '"gauss"'), 'expected one of "logistic" or "normal", got "gauss"');
  const yaml = edit(YAML_TEXT, 'noise: logistic', 'noise: Normal');
  expectOne(
    yaml,
    'm.sbn.yaml',
    'noise',
    at(yaml, 'Normal'),
    'expected one of "logistic" or "normal", got "Normal"; did you mean "normal"?',
  );
});

test('YAML reads an unquoted 01 as a number: the message says to quote it', () => {
  const yaml = edit(YAML_TEXT, 'states: "01"', 'states: 01');
  expectOne(
    yaml,
    'm.sbn.yaml',
    'states',
    at(yaml, '01'),
    'expected one of "pm1" or "01", got 1 (01 is read as a number here; write it in quotes: "01")',
  );
});

test('unknown layer type', () => {
  const json = edit(JSON_TEXT, '"type": "dense"', '"type": "pool"', 1);
  expectOne(
    json,
    'm.sbn.json',
    'layers[1].type',
    at(json, '"pool"'),
    'expected one of "dense", "conv" or "flatten", got "pool"',
  );
  const yaml = edit(YAML_TEXT, 'type: dense', 'type: Conv', 2);
  expectOne(
    yaml,
    'm.sbn.yaml',
    'layers[2].type',
    at(yaml, 'Conv'),
    'expected one of "dense", "conv" or "flatten", got "Conv"; did you mean "conv"?',
  );
});

test('missing field: reported at the parent object', () => {
  const json = edit(JSON_TEXT, ', "loss": "logistic"', '');
  expectOne(
    json,
    'm.sbn.json',
    'output.loss',
    at(json, '{ "units": 1 }'),
    'missing required key "loss" (expected one of "logistic" or "nll")',
  );
  const yaml = edit(YAML_TEXT, '\n  loss: logistic', '');
  expectOne(
    yaml,
    'm.sbn.yaml',
    'output.loss',
    at(yaml, 'units: 1'),
    'missing required key "loss" (expected one of "logistic" or "nll")',
  );
  const noName = edit(YAML_TEXT, 'name: gradeval-5-5-5\n', '');
  expectOne(
    noName,
    'm.sbn.yaml',
    'name',
    { line: 1, column: 1 },
    'missing required key "name" (expected a non-empty string of at most 200 characters)',
  );
  const noInput = edit(JSON_TEXT, '"input": { "shape": [2] },', '');
  expectOne(
    noInput,
    'm.sbn.json',
    'input',
    { line: 1, column: 1 },
    'missing required key "input" (expected an object with "shape")',
  );
});

test('unknown key: named, positioned at the key, with the closest allowed key', () => {
  const json = edit(JSON_TEXT, '"units": 5', '"unit": 5');
  expectOne(json, 'm.sbn.json', 'layers[0].unit', at(json, '"unit"'), 'unknown key "unit"; did you mean "units"?');
  const yaml = edit(YAML_TEXT, 'units: 5', 'unit: 5', 1);
  expectOne(yaml, 'm.sbn.yaml', 'layers[1].unit', at(yaml, 'unit: 5'), 'unknown key "unit"; did you mean "units"?');
  const far = edit(YAML_TEXT, 'noise: logistic', 'noise: logistic\ncomment: adam');
  // A misspelt required key is one error (the unknown key), not two.
  const misspelt = edit(YAML_TEXT, 'name: gradeval-5-5-5', 'nam: gradeval-5-5-5');
  expectOne(misspelt, 'm.sbn.yaml', 'nam', { line: 1, column: 1 }, 'unknown key "nam"; did you mean "name"?');
  expectOne(
    far,
    'm.sbn.yaml',
    'comment',
    at(far, 'comment'),
    'unknown key "comment"; allowed keys are "$schema", "name", "input", "states", "noise", "layers", "output", ' +
      '"data", "train" and "diagnostics"',
  );
  // A key of the train or data section at the top level: say where it belongs.
  const misplaced = edit(YAML_TEXT, 'noise: logistic', 'noise: logistic\noptimizer: adam');
  expectOne(
    misplaced,
    'm.sbn.yaml',
    'optimizer',
    at(misplaced, 'optimizer'),
    'unknown key "optimizer"; "optimizer" belongs in the "train" section',
  );
});

test('units 0', () => {
  const json = edit(JSON_TEXT, '"units": 5', '"units": 0', 1);
  expectOne(json, 'm.sbn.json', 'layers[1].units', at(json, '0 }'), 'expected an integer ≥ 1, got 0');
  const yaml = edit(YAML_TEXT, 'units: 5', 'units: 0', 1);
  expectOne(yaml, 'm.sbn.yaml', 'layers[1].units', at(yaml, 'units: 0', 7), 'expected an integer ≥ 1, got 0');
});

test('input shape: one or three positive dimensions', () => {
  const json = edit(JSON_TEXT, '[2]', '[28, 28]');
  expectOne(
    json,
    'm.sbn.json',
    'input.shape',
    at(json, '[28'),
    'expected 1 dimension [features] or 3 dimensions [channels, height, width], got 2 items',
  );
  const four = edit(YAML_TEXT, '[2]', '[1, 1, 28, 28]');
  expectOne(
    four,
    'm.sbn.yaml',
    'input.shape',
    at(four, '[1, 1'),
    'expected 1 dimension [features] or 3 dimensions [channels, height, width], got 4 items',
  );
  const image = parseModelText(edit(JSON_TEXT, '[2]', '[1, 2, 1]'), 'm.sbn.json');
  assert.ok(image.ok, JSON.stringify(image));
  assert.deepEqual(image.model.input.shape, [1, 2, 1]);
  assert.equal(parameterCount(image.model), parameterCount(EXPECTED)); // dense flattens [1, 2, 1] to 2 features
  const yaml = edit(YAML_TEXT, '[2]', '[-2]');
  expectOne(yaml, 'm.sbn.yaml', 'input.shape[0]', at(yaml, '-2'), 'expected an integer ≥ 1, got -2');
  const none = edit(
    JSON_TEXT,
    '"layers": [\n    { "type": "dense", "units": 5 },\n    { "type": "dense", "units": 5 },\n' +
      '    { "type": "dense", "units": 5 }\n  ]',
    '"layers": []',
  );
  expectOne(
    none,
    'm.sbn.json',
    'layers',
    at(none, '[]'),
    'expected a non-empty array of at most 1000 items, got 0 items',
  );
});

test('loss logistic needs 1 unit, loss nll at least 2', () => {
  const json = edit(JSON_TEXT, '"units": 1', '"units": 2');
  expectOne(
    json,
    'm.sbn.json',
    'output.units',
    at(json, '2, "loss"'),
    'expected 1 unit for loss "logistic" (labels ±1), got 2; use loss "nll" for 2 classes',
  );
  const yaml = edit(YAML_TEXT, 'units: 1', 'units: 2');
  expectOne(yaml, 'm.sbn.yaml', 'output.units', at(yaml, 'units: 2', 7), /^expected 1 unit for loss "logistic"/);
  const nll = edit(YAML_TEXT, 'loss: logistic', 'loss: nll');
  expectOne(nll, 'm.sbn.yaml', 'output.units', at(nll, 'units: 1', 7), /^expected at least 2 units for loss "nll"/);
});

test('layer names must be unique, default names included', () => {
  const yaml = edit(
    edit(YAML_TEXT, 'units: 5', 'units: 5\n    name: h', 1),
    'units: 5',
    'units: 5\n    name: dense1',
    2,
  );
  const errors = errorsOf(parseModelText(yaml, 'm.sbn.yaml'));
  assert.deepEqual(
    errors.map((e) => [e.path, e.line, e.message]),
    [['layers[2].name', at(yaml, 'name: dense1').line, 'duplicate layer name "dense1" (already used by layers[0])']],
  );
  const badName = edit(JSON_TEXT, '"units": 5 }', '"units": 5, "name": "my layer" }');
  expectOne(
    badName,
    'm.sbn.json',
    'layers[0].name',
    at(badName, '"my layer"'),
    "expected a letter followed by letters, digits, '_' or '-', got \"my layer\"",
  );
});

test('all problems are reported, sorted by position', () => {
  const json = edit(
    edit(edit(JSON_TEXT, '"name": "gradeval-5-5-5"', '"name": 7'), '"units": 5', '"units": 0', 2),
    '"units": 1',
    '"units": 3',
  );
  const errors = errorsOf(parseModelText(json, 'm.sbn.json'));
  assert.deepEqual(
    errors.map((e) => e.path),
    ['name', 'layers[2].units', 'output.units'],
  );
  assert.ok(errors.every((e, i) => i === 0 || e.line! >= errors[i - 1].line!));
});

test('JSON syntax errors: line and column, strict JSON (no comments, no trailing commas)', () => {
  const missingComma = edit(JSON_TEXT, '"states": "01",', '"states": "01"');
  expectOne(
    missingComma,
    'm.sbn.json',
    '',
    at(missingComma, '"noise"'),
    'JSON syntax error: expected "," between items',
  );
  const trailing = edit(JSON_TEXT, '"units": 5 }\n  ]', '"units": 5 },\n  ]');
  expectOne(
    trailing,
    'm.sbn.json',
    '',
    at(trailing, '},\n  ]', 1),
    'JSON syntax error: trailing commas are not allowed in JSON',
  );
  const comment = edit(JSON_TEXT, '"noise": "logistic",', '"noise": "logistic", // the default');
  expectOne(comment, 'm.sbn.json', '', at(comment, '// the'), /^JSON syntax error: comments are not allowed in JSON/);
  const truncated = JSON_TEXT.slice(0, JSON_TEXT.indexOf('"output"'));
  const errors = errorsOf(parseModelText(truncated, 'm.sbn.json'));
  assert.ok(
    errors.length >= 1 && errors.every((e) => e.message.startsWith('JSON syntax error: ')),
    JSON.stringify(errors),
  );
});

test('YAML syntax errors: line and column', () => {
  const yaml = edit(YAML_TEXT, 'shape: [2]', 'shape: [2');
  const e = expectOne(yaml, 'm.sbn.yaml', '', { line: 4, column: 1 }, /^YAML syntax error: /);
  assert.ok(!e.message.includes('\n'));
  const tab = edit(YAML_TEXT, '  loss: logistic', '\tloss: logistic');
  const errors = errorsOf(parseModelText(tab, 'm.sbn.yaml'));
  assert.equal(errors[0].line, at(tab, '\tloss').line);
  assert.match(errors[0].message, /^YAML syntax error: /);
  const twoDocs = YAML_TEXT + '---\nname: other\n';
  expectOne(twoDocs, 'm.sbn.yaml', '', at(twoDocs, '---'), /single YAML document/);
});

test('duplicate keys are errors, at the second key (YAML and JSON)', () => {
  const yaml = edit(YAML_TEXT, 'units: 5', 'units: 5\n    units: 6');
  expectOne(yaml, 'm.sbn.yaml', 'layers[0].units', at(yaml, 'units: 6'), 'duplicate key "units"');
  const json = edit(JSON_TEXT, '"noise": "logistic",', '"noise": "logistic", "noise": "normal",');
  expectOne(json, 'm.sbn.json', 'noise', at(json, '"noise": "normal"'), 'duplicate key "noise"');
});

test('an empty file (or only whitespace, or a YAML comment) is one error', () => {
  const message = 'the file is empty; expected a model object with "name", "input", "layers" and "output"';
  for (const [text, file] of [
    ['', 'm.sbn.json'],
    ['  \n', 'm.sbn.json'],
    ['', 'm.sbn.yaml'],
    ['# nothing yet\n', 'm.sbn.yaml'],
  ]) {
    expectOne(text, file, '', { line: 1, column: 1 }, message);
  }
});

test('a file holding an array or a scalar is one type error at the root', () => {
  const expected = 'expected an object with "name", "input", "layers" and "output", got an array';
  expectOne('[1, 2]', 'm.sbn.json', '', { line: 1, column: 1 }, expected);
  expectOne('\n- 1\n- 2\n', 'm.sbn.yaml', '', { line: 2, column: 1 }, expected);
  expectOne('42', 'm.sbn.json', '', { line: 1, column: 1 }, /got 42$/);
  expectOne('hello', 'm.sbn.yaml', '', { line: 1, column: 1 }, /got "hello"$/);
});

test('YAML: unknown alias is an error at the alias', () => {
  const yaml = edit(YAML_TEXT, 'noise: logistic', 'noise: *kind');
  expectOne(yaml, 'm.sbn.yaml', 'noise', at(yaml, '*kind'), /unknown alias \*kind/);
});

test('loadModelFile: reads files; an unreadable path is one error with path ""', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sbn-spec-'));
  try {
    writeFileSync(join(dir, 'a.sbn.json'), JSON_TEXT);
    writeFileSync(join(dir, 'a.sbn.yaml'), YAML_TEXT);
    assert.deepEqual(loadModelFile(join(dir, 'a.sbn.json')), { ok: true, model: EXPECTED });
    assert.deepEqual(loadModelFile(join(dir, 'a.sbn.yaml')), { ok: true, model: EXPECTED });
    for (const path of [join(dir, 'missing.sbn.json'), dir]) {
      const errors = errorsOf(loadModelFile(path));
      assert.equal(errors.length, 1);
      assert.equal(errors[0].path, '');
      assert.equal(errors[0].file, path);
      assert.equal(errors[0].line, undefined);
      assert.match(errors[0].message, /^(cannot read the file: file not found|expected a file, got a folder)$/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('formatSpecError: file:line:col: path: message, missing parts left out, one line', () => {
  const full: SpecError = {
    file: 'm.sbn.json',
    path: 'layers[2].units',
    line: 9,
    column: 33,
    message: 'expected an integer ≥ 1, got 0',
  };
  assert.equal(formatSpecError(full), 'm.sbn.json:9:33: layers[2].units: expected an integer ≥ 1, got 0');
  assert.equal(formatSpecError({ ...full, file: undefined }), '9:33: layers[2].units: expected an integer ≥ 1, got 0');
  assert.equal(
    formatSpecError({ ...full, line: undefined, column: undefined }),
    'm.sbn.json: layers[2].units: expected an integer ≥ 1, got 0',
  );
  assert.equal(formatSpecError({ ...full, path: '' }), 'm.sbn.json:9:33: expected an integer ≥ 1, got 0');
  assert.equal(formatSpecError({ path: '', message: 'a\nb\r\n  c' }), 'a b c');
  const [e] = errorsOf(parseModelText(edit(JSON_TEXT, '"units": 5', '"units": 0', 2), 'm.sbn.json'));
  assert.equal(formatSpecError(e), 'm.sbn.json:9:33: layers[2].units: expected an integer ≥ 1, got 0');
});

test('schema: every enum has editor descriptions of the same length', () => {
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const s = node as Record<string, unknown>;
    if (Array.isArray(s.enum) && s.enum.length > 1) {
      assert.equal((s.enumDescriptions as unknown[] | undefined)?.length, s.enum.length, JSON.stringify(s.enum));
    }
    Object.values(s).forEach(visit);
  };
  visit(modelSchema);
  assert.equal(modelSchema.$schema, 'http://json-schema.org/draft-07/schema#');
});

// ---------------------------------------------------------------- conv layers, data and train sections

// The paper's CIFAR_S1 (docs/math.md §4.2): eight binary conv layers without padding, then a dense 768 → 10 output.
const CIFAR_S1_YAML = `# CIFAR_S1, docs/math.md §4.2
name: CIFAR_S1
input:
  shape: [3, 32, 32]
layers:
  - { type: conv, filters: 96, kernel: 3 }
  - { type: conv, filters: 96, kernel: 3 }
  - { type: conv, filters: 96, kernel: 3, stride: 2 }
  - { type: conv, filters: 192, kernel: 3 }
  - { type: conv, filters: 192, kernel: 3 }
  - { type: conv, filters: 192, kernel: 3, stride: 2 }
  - { type: conv, filters: 192, kernel: 3, stride: 1, padding: 0 }
  - { type: conv, filters: 192, kernel: 1 }
output:
  units: 10
  loss: nll
data:
  dataset: cifar10
  path: data/cifar-10-batches-bin
  validation: 5000
  augment: flipcrop
train:
  estimator: psa
  lr: search
  epochs: 2000
`;

// A small MNIST conv model with data and train sections, one value per line, in both formats.
const CONV_JSON = `{
  "name": "mnist-conv",
  "input": { "shape": [1, 28, 28] },
  "layers": [
    { "type": "conv", "filters": 16, "kernel": 5, "stride": 2, "padding": 2 },
    { "type": "conv", "filters": 32, "kernel": 3, "stride": 2 },
    { "type": "flatten" },
    { "type": "dense", "units": 100 }
  ],
  "output": { "units": 10, "loss": "nll" },
  "data": {
    "dataset": "mnist",
    "validation": 0.1
  },
  "train": {
    "estimator": "psa",
    "lr": 0.01,
    "epochs": 5
  }
}
`;
const CONV_YAML = `name: mnist-conv
input:
  shape: [1, 28, 28]
layers:
  - type: conv
    filters: 16
    kernel: 5
    stride: 2
    padding: 2
  - type: conv
    filters: 32
    kernel: 3
    stride: 2
  - type: flatten
  - type: dense
    units: 100
output:
  units: 10
  loss: nll
data:
  dataset: mnist
  validation: 0.1
train:
  estimator: psa
  lr: 0.01
  epochs: 5
`;

const CONV_EXPECTED: ModelSpec = {
  name: 'mnist-conv',
  input: { shape: [1, 28, 28] },
  states: 'pm1',
  noise: 'logistic',
  layers: [
    { type: 'conv', filters: 16, kernel: 5, stride: 2, padding: 2 },
    { type: 'conv', filters: 32, kernel: 3, stride: 2, padding: 0 },
    { type: 'flatten' },
    { type: 'dense', units: 100 },
  ],
  output: { units: 10, loss: 'nll' },
  data: { dataset: 'mnist', validation: 0.1, splitSeed: 1, augment: 'none', scale: 'unit' },
  train: {
    estimator: 'psa',
    samples: 1,
    optimizer: { type: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 0 },
    lr: 0.01,
    batchSize: 64,
    epochs: 5,
    seed: 1,
    clip: 1000,
    init: 'data-dependent',
    evalInterval: 0,
    evalSamples: 10,
    logInterval: 10,
  },
};

function parsed(text: string, file: string): ModelSpec {
  const result = parseModelText(text, file);
  assert.ok(result.ok, result.ok ? '' : result.errors.map(formatSpecError).join('\n'));
  return result.model;
}

test('CIFAR_S1 (docs/math.md §4.2) parses; its geometry gives 1 375 498 parameters, 221 280 binary units', () => {
  const model = parsed(CIFAR_S1_YAML, 'cifar_s1.sbn.yaml');
  assert.equal(model.layers.length, 8);
  assert.ok(model.layers.every((l) => l.type === 'conv' && l.padding === 0 && (l.stride === 1 || l.stride === 2)));
  const geometry = layerGeometry(model);
  // Output channels × H × W per row of the table, then the dense classifier on the flattened 192×2×2 = 768 values.
  assert.deepEqual(
    geometry.map((g) => g.outShape),
    [[96, 30, 30], [96, 28, 28], [96, 13, 13], [192, 11, 11], [192, 9, 9], [192, 4, 4], [192, 2, 2], [192, 2, 2], [10]],
  );
  assert.deepEqual(geometry[0].inShape, [3, 32, 32]);
  assert.deepEqual(
    geometry.map((g) => g.name),
    ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'conv6', 'conv7', 'conv8', 'output'],
  );
  assert.deepEqual(
    geometry.map((g) => g.index),
    [0, 1, 2, 3, 4, 5, 6, 7, -1],
  );
  assert.deepEqual(geometry[8], {
    name: 'output',
    type: 'output',
    index: -1,
    inShape: [192, 2, 2],
    outShape: [10],
    params: 769 * 10,
    binaryUnits: 0,
  });
  assert.equal(geometry[0].params, 96 * (3 * 9 + 1));
  assert.equal(geometry[7].params, 192 * (192 + 1));
  assert.equal(parameterCount(model), 1_375_498);
  assert.equal(binaryUnitCount(model), 221_280);
  // An explicit flatten before the output changes nothing but the layer list.
  const flat = parsed(CIFAR_S1_YAML.replace('output:', '  - type: flatten\noutput:'), 'cifar_s1.sbn.yaml');
  const g2 = layerGeometry(flat);
  assert.deepEqual(g2[8], {
    name: 'flatten9',
    type: 'flatten',
    index: 8,
    inShape: [192, 2, 2],
    outShape: [768],
    params: 0,
    binaryUnits: 0,
  });
  assert.deepEqual(g2[9].inShape, [768]);
  assert.equal(parameterCount(flat), 1_375_498);
  assert.equal(binaryUnitCount(flat), 221_280);
  // The same in JSON.
  const json = JSON.stringify({ ...model, train: undefined, data: undefined }, null, 2);
  assert.equal(parameterCount(parsed(json, 'cifar_s1.sbn.json')), 1_375_498);
  assert.deepEqual(model.data, {
    dataset: 'cifar10',
    path: 'data/cifar-10-batches-bin',
    validation: 5000,
    splitSeed: 1,
    augment: 'flipcrop',
    scale: 'unit',
  });
  assert.equal(model.train?.lr, 'search');
  assert.equal(model.train?.epochs, 2000);
});

test('a small MNIST conv model: JSON and YAML give the same ModelSpec, defaults filled; geometry', () => {
  assert.deepEqual(parsed(CONV_JSON, 'mnist.sbn.json'), CONV_EXPECTED);
  assert.deepEqual(parsed(CONV_YAML, 'mnist.sbn.yaml'), CONV_EXPECTED);
  const g = layerGeometry(CONV_EXPECTED);
  assert.deepEqual(
    g.map((x) => [x.name, x.type, x.inShape, x.outShape, x.params, x.binaryUnits]),
    [
      ['conv1', 'conv', [1, 28, 28], [16, 14, 14], 16 * 26, 16 * 14 * 14],
      ['conv2', 'conv', [16, 14, 14], [32, 6, 6], 32 * (16 * 9 + 1), 32 * 36],
      ['flatten3', 'flatten', [32, 6, 6], [1152], 0, 0],
      ['dense4', 'dense', [1152], [100], 1153 * 100, 100],
      ['output', 'output', [100], [10], 101 * 10, 0],
    ],
  );
  assert.equal(parameterCount(CONV_EXPECTED), 416 + 4640 + 115_300 + 1010);
  assert.equal(binaryUnitCount(CONV_EXPECTED), 3136 + 1152 + 100);
  assert.deepEqual(hiddenLayerNames(CONV_EXPECTED), ['conv1', 'conv2', 'flatten3', 'dense4']);
  // dense flattens a [C, H, W] input implicitly.
  const direct = parsed(edit(CONV_JSON, '{ "type": "flatten" },\n', ''), 'm.sbn.json');
  assert.deepEqual(layerGeometry(direct)[2], {
    name: 'dense3',
    type: 'dense',
    index: 2,
    inShape: [32, 6, 6],
    outShape: [100],
    params: 1153 * 100,
    binaryUnits: 100,
  });
  // A model without data and train sections has neither key.
  assert.ok(!('data' in EXPECTED) && !('train' in parsed(JSON_TEXT, 'm.sbn.json')));
  // layerGeometry of an invalid ModelSpec (built in code) throws with the parser's message.
  assert.throws(
    () => layerGeometry({ ...EXPECTED, layers: [{ type: 'conv', filters: 2, kernel: 3 }] }),
    /^Error: layers\[0\]\.type: conv needs/,
  );
});

test('data and train sections: every key, explicit values kept, optimiser and lr forms', () => {
  const yaml = edit(
    edit(
      CONV_YAML,
      'data:\n  dataset: mnist\n  validation: 0.1',
      `data:
  dataset: file
  path: ./train.csv
  validation: 500
  splitSeed: 7
  augment: flipcrop
  scale: standardize
  limit: 1000`,
    ),
    'train:\n  estimator: psa\n  lr: 0.01\n  epochs: 5',
    `train:
  estimator: reinforce
  baseline: loo
  samples: 4
  optimizer: { type: adam, beta2: 0.99 }
  lr: { schedule: step, base: 0.1, stepEpochs: 2.5, gamma: 0.5 }
  batchSize: 32
  epochs: 3
  seed: 0
  clip: 10
  init: default
  evalInterval: 100
  evalSamples: 1
  logInterval: 1`,
  );
  const model = parsed(yaml, 'm.sbn.yaml');
  assert.deepEqual(model.data, {
    dataset: 'file',
    path: './train.csv',
    validation: 500,
    splitSeed: 7,
    augment: 'flipcrop',
    scale: 'standardize',
    limit: 1000,
  });
  assert.deepEqual(model.train, {
    estimator: 'reinforce',
    baseline: 'loo',
    samples: 4,
    optimizer: { type: 'adam', beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0 },
    lr: { schedule: 'step', base: 0.1, stepEpochs: 2.5, gamma: 0.5 },
    batchSize: 32,
    epochs: 3,
    seed: 0,
    clip: 10,
    init: 'default',
    evalInterval: 100,
    evalSamples: 1,
    logInterval: 1,
  });
  const lrOf = (lr: string) => parsed(edit(CONV_YAML, 'lr: 0.01', `lr: ${lr}`), 'm.sbn.yaml').train?.lr;
  assert.equal(lrOf('search'), 'search');
  assert.deepEqual(lrOf('{ search: { trials: 4 } }'), { search: { trials: 4 } });
  assert.deepEqual(lrOf('{ search: {} }'), { search: {} });
  assert.deepEqual(lrOf('{ schedule: cosine, base: 0.1 }'), { schedule: 'cosine', base: 0.1 });
  assert.deepEqual(lrOf('{ schedule: cosine, base: 0.1, min: 0.001 }'), { schedule: 'cosine', base: 0.1, min: 0.001 });
  assert.deepEqual(lrOf('{ schedule: constant, base: 0.5 }'), { schedule: 'constant', base: 0.5 });
  const concrete = parsed(edit(CONV_YAML, 'estimator: psa', 'estimator: concrete\n  tau: 0.5'), 'm.sbn.yaml').train;
  assert.equal(concrete?.tau, 0.5);
  const sgd = parsed(
    edit(CONV_YAML, 'epochs: 5', 'epochs: 5\n  optimizer: { type: sgd, nesterov: false }'),
    'm.sbn.yaml',
  ).train;
  assert.deepEqual(sgd?.optimizer, { type: 'sgd', momentum: 0.9, nesterov: false, weightDecay: 0 });
});

test('schema defaults match the defaults toModelSpec fills in', () => {
  const defs = modelSchema.definitions as Record<
    string,
    {
      properties: Record<string, { default?: unknown; properties?: Record<string, { default?: unknown }> }>;
      default?: unknown;
    }
  >;
  const defaultsOf = (props: Record<string, { default?: unknown }>) =>
    Object.fromEntries(
      Object.entries(props)
        .filter(([, p]) => 'default' in p)
        .map(([k, p]) => [k, p.default]),
    );
  assert.deepEqual(defaultsOf(defs.convLayer.properties), CONV_DEFAULTS);
  assert.deepEqual(defaultsOf(defs.data.properties), DATA_DEFAULTS);
  assert.deepEqual(defaultsOf(defs.train.properties), {
    ...TRAIN_DEFAULTS,
    tau: DEFAULT_TAU,
    k: DEFAULT_GUMBEL_RAO_K,
    baseline: 'none',
    activation: DEFAULT_TANH_ACTIVATION,
  });
  assert.deepEqual(defs.optimizer.default, OPTIMIZER_DEFAULTS.sgd);
  const sgd: Record<string, unknown> = { ...OPTIMIZER_DEFAULTS.sgd };
  const adam: Record<string, unknown> = { ...OPTIMIZER_DEFAULTS.adam };
  delete sgd.type;
  delete adam.type;
  assert.deepEqual(defaultsOf(defs.sgdOptimizer.properties), sgd);
  assert.deepEqual(defaultsOf(defs.adamOptimizer.properties), adam);
  assert.deepEqual(defaultsOf(defs.lrSearch.properties.search.properties!), LR_SEARCH_DEFAULTS);
  assert.deepEqual(defaultsOf(defs.lrGrid.properties.grid.properties!), LR_GRID_DEFAULTS);
  assert.deepEqual(
    parsed(
      edit(CONV_YAML, 'train:\n  estimator: psa\n  lr: 0.01\n  epochs: 5', 'train:\n  estimator: dste\n  lr: 1'),
      'm.sbn.yaml',
    ).train,
    { estimator: 'dste', lr: 1, ...TRAIN_DEFAULTS, optimizer: OPTIMIZER_DEFAULTS.sgd },
  );
});

test('conv: output would be empty (at the kernel), in JSON and YAML', () => {
  const json = edit(edit(CONV_JSON, '[1, 28, 28]', '[1, 3, 3]'), '"stride": 2, "padding": 2', '"padding": 0');
  expectOne(
    json,
    'm.sbn.json',
    'layers[0].kernel',
    at(json, '5, "padding"'),
    'conv output would be 0×0: input 3×3, kernel 5, padding 0',
  );
  const yaml = edit(CONV_YAML, '[1, 28, 28]', '[1, 2, 20]');
  // 2×20 → conv1 (kernel 5, stride 2, padding 2): 1×10 → conv2 (kernel 3, stride 2): 0×4.
  expectOne(
    yaml,
    'm.sbn.yaml',
    'layers[1].kernel',
    at(yaml, 'kernel: 3', 8),
    'conv output would be 0×4: input 1×10, kernel 3, padding 0, stride 2',
  );
});

test('conv needs a [C, H, W] input: after dense/flatten, or with a flat model input (at the type)', () => {
  const json = edit(
    CONV_JSON,
    '{ "type": "dense", "units": 100 }',
    '{ "type": "dense", "units": 100 },\n    { "type": "conv", "filters": 8, "kernel": 1 }',
  );
  expectOne(
    json,
    'm.sbn.json',
    'layers[4].type',
    at(json, '"conv", "filters": 8'),
    'conv needs a [channels, height, width] input, but the output of layers[3] "dense4" is a flat vector of ' +
      '100 values; conv layers go before dense and flatten layers',
  );
  const yaml = edit(CONV_YAML, 'shape: [1, 28, 28]', 'shape: [784]');
  expectOne(
    yaml,
    'm.sbn.yaml',
    'layers[0].type',
    at(yaml, 'type: conv', 6),
    'conv needs a [channels, height, width] input, but the model input (input.shape [784]) is a flat vector of ' +
      '784 values; give input.shape as [channels, height, width], e.g. [1, 28, 28]',
  );
  const afterFlatten = edit(
    CONV_YAML,
    '  - type: dense\n    units: 100',
    '  - type: conv\n    filters: 4\n    kernel: 1',
  );
  expectOne(
    afterFlatten,
    'm.sbn.yaml',
    'layers[3].type',
    at(afterFlatten, 'conv\n    filters: 4'),
    /^conv needs a \[channels, height, width\] input, but the output of layers\[2\] "flatten3" is a flat vector of 1152 values/,
  );
});

test('flatten of a flat input is an error: "already flat"', () => {
  const json = edit(JSON_TEXT, '{ "type": "dense", "units": 5 },', '{ "type": "flatten" },');
  expectOne(
    json,
    'm.sbn.json',
    'layers[0].type',
    at(json, '"flatten"'),
    'flatten needs a [channels, height, width] input, but the model input (input.shape [2]) is already flat ' +
      '(2 values); remove this layer',
  );
  const yaml = edit(CONV_YAML, '  - type: flatten', '  - type: flatten\n  - type: flatten\n    name: again');
  expectOne(
    yaml,
    'm.sbn.yaml',
    'layers[3].type',
    at(yaml, 'flatten\n    name'),
    /^flatten needs .* the output of layers\[2\] "flatten3" is already flat \(1152 values\)/,
  );
});

test('conv layer keys: kernel 1, 3 or 5; filters ≥ 1; stride ≥ 1; padding ≥ 0; no units', () => {
  const kernel = edit(CONV_JSON, '"kernel": 3', '"kernel": 4');
  expectOne(kernel, 'm.sbn.json', 'layers[1].kernel', at(kernel, '4, "stride"'), 'expected one of 1, 3 or 5, got 4');
  const filters = edit(CONV_YAML, 'filters: 32', 'filters: 0');
  expectOne(filters, 'm.sbn.yaml', 'layers[1].filters', at(filters, 'filters: 0', 9), 'expected an integer ≥ 1, got 0');
  const stride = edit(CONV_YAML, 'stride: 2', 'stride: 0');
  expectOne(stride, 'm.sbn.yaml', 'layers[0].stride', at(stride, 'stride: 0', 8), 'expected an integer ≥ 1, got 0');
  const padding = edit(CONV_JSON, '"padding": 2', '"padding": -1');
  expectOne(padding, 'm.sbn.json', 'layers[0].padding', at(padding, '-1'), 'expected an integer ≥ 0, got -1');
  const units = edit(CONV_JSON, '"filters": 32', '"units": 32');
  assert.deepEqual(
    errorsOf(parseModelText(units, 'm.sbn.json')).map((e) => [e.path, e.line, e.column, e.message]),
    [
      ['layers[1].filters', 6, 5, 'missing required key "filters" (expected an integer ≥ 1)'],
      [
        'layers[1].units',
        6,
        23,
        'unknown key "units"; allowed keys are "type", "filters", "kernel", "stride", "padding" and "name"',
      ],
    ],
  );
  const missing = edit(CONV_YAML, '    kernel: 3\n', '');
  expectOne(
    missing,
    'm.sbn.yaml',
    'layers[1].kernel',
    at(missing, 'type: conv\n    filters: 32'),
    'missing required key "kernel" (expected one of 1, 3 or 5)',
  );
  const flatUnits = edit(CONV_JSON, '{ "type": "flatten" }', '{ "type": "flatten", "units": 3 }');
  expectOne(
    flatUnits,
    'm.sbn.json',
    'layers[2].units',
    at(flatUnits, '"units": 3'),
    'unknown key "units"; allowed keys are "type" and "name"',
  );
});

test('data: path required for file (cifar10: or in the store); validation fraction < 1; flipcrop needs images', () => {
  const json = edit(CONV_JSON, '"dataset": "mnist"', '"dataset": "cifar10"');
  assert.equal(parsed(json, 'm.sbn.json').data?.dataset, 'cifar10');
  const yaml = edit(CONV_YAML, 'dataset: mnist', 'dataset: file');
  expectOne(
    yaml,
    'm.sbn.yaml',
    'data.path',
    at(yaml, 'file'),
    /^missing required key "path" for dataset "file" \(a \.json or \.csv file/,
  );
  const fraction = edit(CONV_JSON, '"validation": 0.1', '"validation": 1.5');
  expectOne(
    fraction,
    'm.sbn.json',
    'data.validation',
    at(fraction, '1.5'),
    'expected a count (a whole number ≥ 1) or a fraction below 1, got 1.5',
  );
  const negative = edit(CONV_YAML, 'validation: 0.1', 'validation: -0.1');
  expectOne(negative, 'm.sbn.yaml', 'data.validation', at(negative, '-0.1'), 'expected a number ≥ 0, got -0.1');
  assert.equal(parsed(edit(CONV_YAML, 'validation: 0.1', 'validation: 1'), 'm.sbn.yaml').data?.validation, 1);
  const flat = edit(YAML_TEXT, 'output:', 'data:\n  dataset: toy-2d\n  augment: flipcrop\noutput:');
  expectOne(
    flat,
    'm.sbn.yaml',
    'data.augment',
    at(flat, 'flipcrop'),
    /^augment "flipcrop" flips and crops images: it needs input.shape \[channels, height, width\], got \[2\]$/,
  );
  const dataset = edit(CONV_YAML, 'dataset: mnist', 'dataset: cifar');
  expectOne(
    dataset,
    'm.sbn.yaml',
    'data.dataset',
    at(dataset, 'cifar'),
    /^expected one of "mnist", .* got "cifar"; did you mean "cifar10"\?$/,
  );
});

test('train: tau for concrete and Gumbel, k for gumbel-rao, baseline for reinforce, loo needs samples ≥ 2', () => {
  const tau = edit(CONV_JSON, '"estimator": "psa",', '"estimator": "psa",\n    "tau": 0.5,');
  expectOne(
    tau,
    'm.sbn.json',
    'train.tau',
    at(tau, '0.5'),
    'tau applies to concrete, gumbel-st, gumbel-rao only (the estimator is "psa"); remove it',
  );
  const k = edit(CONV_JSON, '"estimator": "psa",', '"estimator": "gumbel-st",\n    "k": 4,');
  expectOne(
    k,
    'm.sbn.json',
    'train.k',
    at(k, '4,'),
    'k applies to gumbel-rao only (the estimator is "gumbel-st"); remove it',
  );
  const rao = edit(CONV_JSON, '"estimator": "psa",', '"estimator": "gumbel-rao",\n    "tau": 0.5,\n    "k": 4,');
  assert.equal(parsed(rao, 'm.sbn.json').train?.k, 4);
  assert.equal(parsed(rao, 'm.sbn.json').train?.tau, 0.5);
  const baseline = edit(CONV_YAML, 'estimator: psa', 'estimator: dste\n  baseline: mean');
  expectOne(
    baseline,
    'm.sbn.yaml',
    'train.baseline',
    at(baseline, 'mean'),
    'baseline applies to reinforce only (the estimator is "dste"); remove it',
  );
  const loo = edit(CONV_YAML, 'estimator: psa', 'estimator: reinforce\n  baseline: loo');
  expectOne(
    loo,
    'm.sbn.yaml',
    'train.baseline',
    at(loo, 'loo'),
    'baseline "loo" (leave-one-out) needs samples ≥ 2, but samples is 1 by default; set "samples" to 2 or more',
  );
  const one = edit(CONV_JSON, '"estimator": "psa",', '"estimator": "reinforce", "baseline": "loo", "samples": 1,');
  expectOne(
    one,
    'm.sbn.json',
    'train.samples',
    at(one, '1,\n'),
    'baseline "loo" (leave-one-out) needs samples ≥ 2, got 1',
  );
  assert.equal(parsed(edit(loo, 'baseline: loo', 'baseline: loo\n  samples: 2'), 'm.sbn.yaml').train?.samples, 2);
  const estimator = edit(CONV_YAML, 'estimator: psa', 'estimator: exact');
  expectOne(
    estimator,
    'm.sbn.yaml',
    'train.estimator',
    at(estimator, 'exact'),
    /^expected one of "psa", "dste", .* got "exact"$/,
  );
  const missing = edit(CONV_JSON, '"lr": 0.01,', '');
  expectOne(
    missing,
    'm.sbn.json',
    'train.lr',
    at(missing, '{\n    "estimator"'),
    'missing required key "lr" (expected a number > 0, "search", an object with "schedule", ' +
      'an object with "search" or an object with "grid")',
  );
});

test('train.lr: one message for the form the value is meant as', () => {
  const lr = (value: string) => edit(CONV_YAML, 'lr: 0.01', `lr: ${value}`);
  const cases: [string, string, string, string][] = [
    ['-1', 'train.lr', '-1', 'expected a number > 0, got -1'],
    ['Search', 'train.lr', 'Search', 'expected "search", got "Search"'],
    [
      'true',
      'train.lr',
      'true',
      'expected a number > 0, "search", an object with "schedule", an object with "search" or an object with ' +
        '"grid", got true',
    ],
    [
      '{}',
      'train.lr',
      '{}',
      'expected a number > 0, "search", an object with "schedule", an object with "search" or an object with ' +
        '"grid", got an object',
    ],
    [
      '{ schedule: stepp, base: 1 }',
      'train.lr.schedule',
      'stepp',
      'expected one of "constant", "step" or "cosine", got "stepp"; did you mean "step"?',
    ],
    ['{ schedule: constant, base: 0 }', 'train.lr.base', '0 }', 'expected a number > 0, got 0'],
    ['{ search: { trials: 0 } }', 'train.lr.search.trials', '0 }', 'expected an integer ≥ 1, got 0'],
    ['{ search: { min: -6 }, base: 1 }', 'train.lr.base', 'base', 'unknown key "base"; allowed keys are "search"'],
    ['{ search: { tirals: 3 } }', 'train.lr.search.tirals', 'tirals', 'unknown key "tirals"; did you mean "trials"?'],
  ];
  for (const [value, path, needle, message] of cases) {
    const text = lr(value);
    expectOne(text, 'm.sbn.yaml', path, at(text, needle), message);
  }
  // A step schedule needs stepEpochs and gamma (schema), at the schedule object.
  const step = lr('{ schedule: step, base: 0.1 }');
  const errors = errorsOf(parseModelText(step, 'm.sbn.yaml'));
  assert.deepEqual(
    errors.map((e) => [e.path, e.line, e.column, e.message]),
    [
      [
        'train.lr.stepEpochs',
        at(step, '{ schedule').line,
        at(step, '{ schedule').column,
        'missing required key "stepEpochs" (expected a number > 0)',
      ],
      [
        'train.lr.gamma',
        at(step, '{ schedule').line,
        at(step, '{ schedule').column,
        'missing required key "gamma" (expected a number > 0 and ≤ 1)',
      ],
    ],
  );
  const json = edit(
    CONV_JSON,
    '"lr": 0.01',
    '"lr": { "schedule": "step", "base": 0.1, "stepEpochs": 10, "gamma": 1.5 }',
  );
  expectOne(json, 'm.sbn.json', 'train.lr.gamma', at(json, '1.5'), 'expected a number > 0 and ≤ 1, got 1.5');
});

test('train.lr.search: min < max (defaults −6 and 0 count); cosine min ≤ base', () => {
  const json = edit(CONV_JSON, '"lr": 0.01', '"lr": { "search": { "min": -2, "max": -3 } }');
  expectOne(
    json,
    'm.sbn.json',
    'train.lr.search.min',
    at(json, '-2'),
    'expected min < max (bounds of log10(lr)), got min -2 and max -3',
  );
  const yaml = edit(CONV_YAML, 'lr: 0.01', 'lr:\n    search:\n      min: 1');
  expectOne(
    yaml,
    'm.sbn.yaml',
    'train.lr.search.min',
    at(yaml, 'min: 1', 5),
    'expected min < max (bounds of log10(lr)), got min 1 and max 0 (the default)',
  );
  const max = edit(CONV_YAML, 'lr: 0.01', 'lr:\n    search:\n      max: -7');
  expectOne(
    max,
    'm.sbn.yaml',
    'train.lr.search.max',
    at(max, '-7'),
    'expected min < max (bounds of log10(lr)), got min -6 (the default) and max -7',
  );
  const cosine = edit(CONV_YAML, 'lr: 0.01', 'lr: { schedule: cosine, base: 0.1, min: 0.2 }');
  expectOne(
    cosine,
    'm.sbn.yaml',
    'train.lr.min',
    at(cosine, '0.2'),
    'the cosine schedule decays from base to min: expected min ≤ base (0.1), got 0.2',
  );
});

test('train.lr.grid: kept as written; min ≤ max (defaults −4 and 0 count); needs a validation split', () => {
  const grid = edit(CONV_YAML, 'lr: 0.01', 'lr: { grid: { min: -3, step: 0.25, trialExamples: 100, extend: 0 } }');
  const parsed = parseModelText(grid, 'm.sbn.yaml');
  assert.ok(parsed.ok, JSON.stringify(parsed));
  assert.deepEqual(parsed.model.train!.lr, { grid: { min: -3, step: 0.25, trialExamples: 100, extend: 0 } });
  const json = edit(CONV_JSON, '"lr": 0.01', '"lr": { "grid": { "max": -5 } }');
  expectOne(
    json,
    'm.sbn.json',
    'train.lr.grid.max',
    at(json, '-5'),
    'expected min ≤ max (ends of the log10(lr) grid), got min -4 (the default) and max -5',
  );
  const step = edit(CONV_YAML, 'lr: 0.01', 'lr: { grid: { step: 0 } }');
  expectOne(step, 'm.sbn.yaml', 'train.lr.grid.step', at(step, '0 }'), 'expected a number > 0, got 0');
  const noValidation = edit(edit(CONV_YAML, 'lr: 0.01', 'lr: { grid: {} }'), '  validation: 0.1\n', '');
  expectOne(
    noValidation,
    'm.sbn.yaml',
    'train.lr.grid',
    at(noValidation, '{}'),
    'the grid search picks the rate by the validation u_loss: set data.validation (e.g. 5000 or 0.1)',
  );
});

test('train.activation: mean-field or tanh, with estimator tanh only', () => {
  const ok = edit(CONV_YAML, 'estimator: psa', 'estimator: tanh\n  activation: tanh');
  const parsed = parseModelText(ok, 'm.sbn.yaml');
  assert.ok(parsed.ok, JSON.stringify(parsed));
  assert.equal(parsed.model.train!.activation, 'tanh');
  const wrong = edit(CONV_YAML, 'estimator: psa', 'estimator: psa\n  activation: tanh');
  expectOne(
    wrong,
    'm.sbn.yaml',
    'train.activation',
    at(wrong, 'tanh'),
    'activation applies to tanh only (the estimator is "psa"); remove it',
  );
});

test('train.optimizer: sgd or adam, each with its own keys', () => {
  const yaml = edit(CONV_YAML, 'epochs: 5', 'epochs: 5\n  optimizer:\n    type: adam\n    momentum: 0.9');
  expectOne(
    yaml,
    'm.sbn.yaml',
    'train.optimizer.momentum',
    at(yaml, 'momentum'),
    'unknown key "momentum"; allowed keys are "type", "beta1", "beta2", "epsilon" and "weightDecay"',
  );
  const json = edit(CONV_JSON, '"epochs": 5', '"epochs": 5,\n    "optimizer": { "type": "sgd", "momentum": 1 }');
  expectOne(json, 'm.sbn.json', 'train.optimizer.momentum', at(json, '1 }'), 'expected a number ≥ 0 and < 1, got 1');
  const kind = edit(CONV_JSON, '"epochs": 5', '"epochs": 5,\n    "optimizer": { "type": "adamw" }');
  expectOne(
    kind,
    'm.sbn.json',
    'train.optimizer.type',
    at(kind, '"adamw"'),
    'expected one of "sgd" or "adam", got "adamw"; did you mean "adam"?',
  );
  const untyped = edit(CONV_JSON, '"epochs": 5', '"epochs": 5,\n    "optimizer": {}');
  expectOne(
    untyped,
    'm.sbn.json',
    'train.optimizer.type',
    at(untyped, '{}'),
    'missing required key "type" (expected one of "sgd" or "adam")',
  );
});

test('schema: conv, data and train come with examples and snippets', () => {
  const defs = modelSchema.definitions as Record<string, Record<string, unknown>>;
  for (const name of ['convLayer', 'data', 'train', 'lr']) {
    assert.ok(Array.isArray(defs[name].examples) && (defs[name].examples as unknown[]).length > 0, name);
    assert.ok(Array.isArray(defs[name].defaultSnippets) && (defs[name].defaultSnippets as unknown[]).length > 0, name);
  }
  // The examples are valid where they stand.
  for (const layer of defs.convLayer.examples as object[]) {
    parsed(JSON.stringify({ ...CONV_EXPECTED, layers: [layer] }), 'm.sbn.json');
  }
  for (const data of defs.data.examples as object[]) parsed(JSON.stringify({ ...CONV_EXPECTED, data }), 'm.sbn.json');
  for (const train of defs.train.examples as object[])
    parsed(JSON.stringify({ ...CONV_EXPECTED, train }), 'm.sbn.json');
  for (const lr of defs.lr.examples as unknown[])
    parsed(JSON.stringify({ ...CONV_EXPECTED, train: { estimator: 'psa', lr } }), 'm.sbn.json');
});

// ---------------------------------------------------------------- fuzz: no input makes the parser throw

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '"',
  "'",
  '\n',
  ' ',
  '\t',
  '-',
  '#',
  '&a',
  '*a',
  '!!str',
  '---',
  '0',
  '1',
  '1e999',
  'null',
  'true',
  '"dense"',
  'units',
  '"units"',
  'name',
  '\\u',
  '\u0001',
  '\uFEFF',
  '\uD800',
  'é',
  '<<',
  '? ',
  '|',
  '>',
];
const KEYS = [
  'name',
  'input',
  'shape',
  'states',
  'noise',
  'layers',
  'type',
  'units',
  'output',
  'loss',
  '$schema',
  '__proto__',
  'x',
  'filters',
  'kernel',
  'stride',
  'padding',
  'data',
  'dataset',
  'path',
  'validation',
  'train',
  'estimator',
  'tau',
  'baseline',
  'samples',
  'optimizer',
  'lr',
  'schedule',
  'base',
  'search',
  'min',
  'max',
];

function randomValue(rnd: () => number, depth: number): unknown {
  const r = rnd();
  if (depth > 3 || r < 0.35) {
    const scalars = [
      0,
      1,
      2,
      -1,
      2.5,
      '01',
      'pm1',
      'dense',
      'nll',
      'logistic',
      '',
      null,
      true,
      1e300,
      3,
      5,
      'conv',
      'flatten',
      'search',
      'psa',
      'reinforce',
      'loo',
      'cifar10',
      'step',
      'sgd',
    ];
    return scalars[Math.floor(rnd() * scalars.length)];
  }
  if (r < 0.55) return Array.from({ length: Math.floor(rnd() * 4) }, () => randomValue(rnd, depth + 1));
  const obj: Record<string, unknown> = {};
  for (let i = Math.floor(rnd() * 5); i > 0; i--)
    obj[KEYS[Math.floor(rnd() * KEYS.length)]] = randomValue(rnd, depth + 1);
  return obj;
}

function mutate(rnd: () => number, text: string): string {
  let out = text;
  for (let n = 1 + Math.floor(rnd() * 4); n > 0; n--) {
    const i = Math.floor(rnd() * (out.length + 1));
    const j = Math.min(out.length, i + Math.floor(rnd() * 12));
    const op = rnd();
    if (op < 0.4) out = out.slice(0, i) + PIECES[Math.floor(rnd() * PIECES.length)] + out.slice(i);
    else if (op < 0.7) out = out.slice(0, i) + out.slice(j);
    else if (op < 0.85) out = out.slice(0, i) + out.slice(i, j) + out.slice(i);
    else out = out.slice(0, i) + String.fromCharCode(Math.floor(rnd() * 0x3000)) + out.slice(j);
  }
  return out;
}

function checkWellFormed(result: ParseResult, label: string): void {
  if (result.ok) {
    assert.ok(result.model.layers.length > 0 && typeof result.model.name === 'string', label);
    // A model that parses has a geometry: layerGeometry does not throw and the counts are whole numbers.
    const geometry = layerGeometry(result.model);
    assert.equal(geometry.length, result.model.layers.length + 1, label);
    assert.ok(
      Number.isSafeInteger(parameterCount(result.model)) && Number.isSafeInteger(binaryUnitCount(result.model)),
      label,
    );
    return;
  }
  assert.ok(result.errors.length > 0, label);
  for (const e of result.errors) {
    assert.equal(typeof e.message, 'string', label);
    assert.equal(typeof e.path, 'string', label);
    assert.ok(!e.message.startsWith('internal error'), `${label}: ${e.message}`);
    if (e.line !== undefined) assert.ok(Number.isInteger(e.line) && e.line >= 1 && e.column! >= 1, label);
    assert.ok(!/[\r\n]/.test(formatSpecError(e)), label);
  }
}

test('fuzz: thousands of mutated and random inputs never throw and give well-formed results', () => {
  const rnd = mulberry32(20201206);
  const seeds = [
    JSON_TEXT,
    MINIMAL,
    YAML_TEXT,
    edit(YAML_TEXT, 'states: "01"', 'states: 01'),
    CONV_JSON,
    CONV_YAML,
    CIFAR_S1_YAML,
  ];
  let accepted = 0;
  for (let k = 0; k < 6000; k++) {
    let text: string;
    let file: string;
    if (k % 4 === 3) {
      const value = randomValue(rnd, 0);
      const yaml = rnd() < 0.5;
      text = yaml ? toYaml(value) : (JSON.stringify(value, null, rnd() < 0.5 ? 2 : 0) ?? '');
      file = yaml ? 'f.sbn.yaml' : 'f.sbn.json';
    } else {
      const seed = seeds[Math.floor(rnd() * seeds.length)];
      text = mutate(rnd, seed);
      file = seed.startsWith('{')
        ? rnd() < 0.9
          ? 'f.sbn.json'
          : 'f.sbn.yaml'
        : rnd() < 0.9
          ? 'f.sbn.yaml'
          : 'f.sbn.json';
    }
    const label = `#${k} ${file} ${JSON.stringify(text).slice(0, 300)}`;
    let result: ParseResult | undefined;
    assert.doesNotThrow(() => {
      result = parseModelText(text, file);
    }, label);
    checkWellFormed(result!, label);
    if (result!.ok) accepted++;
    if (file.endsWith('.json')) {
      // Strict JSON: accepted only what JSON.parse accepts (after a BOM, which editors hide).
      let strictOk = true;
      try {
        JSON.parse(text.replace(/^\uFEFF/, ''));
      } catch {
        strictOk = false;
      }
      if (result!.ok) assert.ok(strictOk, `accepted invalid JSON: ${label}`);
      if (!strictOk) assert.ok(!result!.ok, label);
    }
  }
  assert.ok(accepted > 100, `only ${accepted} mutated inputs parsed: the fuzz loop hardly reaches the model checks`);
  // Nesting deeper than the call stack is one error, not a crash.
  for (const [text, file] of [
    ['['.repeat(100_000), 'deep.sbn.json'],
    ['['.repeat(5000) + ']'.repeat(5000), 'deep.sbn.yaml'],
  ]) {
    const errors = errorsOf(parseModelText(text, file));
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /nested too deeply|syntax error/);
  }
  // Inputs that are not even strings (from plain JavaScript callers) do not throw either.
  for (const bad of [undefined, null, 42, {}]) {
    checkWellFormed(parseModelText(bad as string, bad as string), JSON.stringify(bad) ?? 'undefined');
  }
});
