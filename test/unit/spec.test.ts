// Model files (*.sbn.json / *.sbn.yaml): parsing, schema and semantic validation, error positions and messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import {
  binaryUnitCount, DEFAULT_NOISE, DEFAULT_STATES, formatSpecError, hiddenLayerNames, loadModelFile, modelSchema,
  parameterCount, parseModelText, type ModelSpec, type ParseResult, type SpecError,
} from '../../src/engine/spec';

const MINIMAL =
  '{"name": "gradeval-5-5-5", "input": {"shape": [2]}, "states": "01", "noise": "logistic", "layers": [{"type": "dense", "units": 5}, {"type": "dense", "units": 5}, {"type": "dense", "units": 5}], "output": {"units": 1, "loss": "logistic"}}';

const EXPECTED: ModelSpec = {
  name: 'gradeval-5-5-5',
  input: { shape: [2] },
  states: '01',
  noise: 'logistic',
  layers: [{ type: 'dense', units: 5 }, { type: 'dense', units: 5 }, { type: 'dense', units: 5 }],
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
  text: string, file: string, path: string, where: { line: number; column: number }, message: string | RegExp,
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
  const text = edit(edit(JSON_TEXT, '"states": "01",', '"$schema": "../schemas/sbn-model.schema.json",'), '"noise": "logistic",', '');
  const result = parseModelText(text, 'm.sbn.json');
  assert.deepEqual(result, { ok: true, model: { ...EXPECTED, states: 'pm1', noise: 'logistic' } });
  const props = modelSchema.properties as Record<string, { default?: unknown }>;
  assert.equal(props.states.default, DEFAULT_STATES);
  assert.equal(props.noise.default, DEFAULT_NOISE);
});

test('layer names, nll output, CRLF line ends and a BOM are fine', () => {
  const yaml = '\uFEFF' + edit(edit(YAML_TEXT, '  - type: dense\n    units: 5', '  - type: dense\n    units: 5\n    name: first'), 'units: 1\n  loss: logistic', 'units: 10\n  loss: nll');
  const result = parseModelText(yaml.replace(/\n/g, '\r\n'), 'm.sbn.yaml');
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(result.model.layers[0], { type: 'dense', units: 5, name: 'first' });
  assert.deepEqual(result.model.output, { units: 10, loss: 'nll' });
  assert.deepEqual(hiddenLayerNames(result.model), ['first', 'dense2', 'dense3']);
});

test('YAML anchors and aliases are resolved', () => {
  const yaml = edit(YAML_TEXT, '  - type: dense\n    units: 5\n  - type: dense\n    units: 5\n  - type: dense\n    units: 5',
    '  - &hidden {type: dense, units: 5}\n  - *hidden\n  - *hidden');
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
  const mnist: ModelSpec = { ...EXPECTED, input: { shape: [784] }, layers: [{ type: 'dense', units: 100, name: 'h' }], output: { units: 10, loss: 'nll' } };
  assert.equal(parameterCount(mnist), 785 * 100 + 101 * 10);
  assert.equal(binaryUnitCount(mnist), 100);
  assert.deepEqual(hiddenLayerNames(mnist), ['h']);
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
  expectOne(yaml, 'm.sbn.yaml', 'noise', at(yaml, 'Normal'), 'expected one of "logistic" or "normal", got "Normal"; did you mean "normal"?');
});

test('YAML reads an unquoted 01 as a number: the message says to quote it', () => {
  const yaml = edit(YAML_TEXT, 'states: "01"', 'states: 01');
  expectOne(yaml, 'm.sbn.yaml', 'states', at(yaml, '01'),
    'expected one of "pm1" or "01", got 1 (01 is read as a number here; write it in quotes: "01")');
});

test('unknown layer type', () => {
  const json = edit(JSON_TEXT, '"type": "dense"', '"type": "conv"', 1);
  expectOne(json, 'm.sbn.json', 'layers[1].type', at(json, '"conv"'), 'expected "dense", got "conv"');
});

test('missing field: reported at the parent object', () => {
  const json = edit(JSON_TEXT, ', "loss": "logistic"', '');
  expectOne(json, 'm.sbn.json', 'output.loss', at(json, '{ "units": 1 }'), 'missing required key "loss" (expected one of "logistic" or "nll")');
  const yaml = edit(YAML_TEXT, '\n  loss: logistic', '');
  expectOne(yaml, 'm.sbn.yaml', 'output.loss', at(yaml, 'units: 1'), 'missing required key "loss" (expected one of "logistic" or "nll")');
  const noName = edit(YAML_TEXT, 'name: gradeval-5-5-5\n', '');
  expectOne(noName, 'm.sbn.yaml', 'name', { line: 1, column: 1 }, 'missing required key "name" (expected a non-empty string)');
  const noInput = edit(JSON_TEXT, '"input": { "shape": [2] },', '');
  expectOne(noInput, 'm.sbn.json', 'input', { line: 1, column: 1 }, 'missing required key "input" (expected an object with "shape")');
});

test('unknown key: named, positioned at the key, with the closest allowed key', () => {
  const json = edit(JSON_TEXT, '"units": 5', '"unit": 5');
  expectOne(json, 'm.sbn.json', 'layers[0].unit', at(json, '"unit"'), 'unknown key "unit"; did you mean "units"?');
  const yaml = edit(YAML_TEXT, 'units: 5', 'unit: 5', 1);
  expectOne(yaml, 'm.sbn.yaml', 'layers[1].unit', at(yaml, 'unit: 5'), 'unknown key "unit"; did you mean "units"?');
  const far = edit(YAML_TEXT, 'noise: logistic', 'noise: logistic\noptimizer: adam');
  // A misspelt required key is one error (the unknown key), not two.
  const misspelt = edit(YAML_TEXT, 'name: gradeval-5-5-5', 'nam: gradeval-5-5-5');
  expectOne(misspelt, 'm.sbn.yaml', 'nam', { line: 1, column: 1 }, 'unknown key "nam"; did you mean "name"?');
  expectOne(far, 'm.sbn.yaml', 'optimizer', at(far, 'optimizer'),
    'unknown key "optimizer"; allowed keys are "$schema", "name", "input", "states", "noise", "layers" and "output"');
});

test('units 0', () => {
  const json = edit(JSON_TEXT, '"units": 5', '"units": 0', 1);
  expectOne(json, 'm.sbn.json', 'layers[1].units', at(json, '0 }'), 'expected an integer ≥ 1, got 0');
  const yaml = edit(YAML_TEXT, 'units: 5', 'units: 0', 1);
  expectOne(yaml, 'm.sbn.yaml', 'layers[1].units', at(yaml, 'units: 0', 7), 'expected an integer ≥ 1, got 0');
});

test('input shape: exactly one positive dimension', () => {
  const json = edit(JSON_TEXT, '[2]', '[28, 28]');
  expectOne(json, 'm.sbn.json', 'input.shape', at(json, '[28'), 'expected an array of exactly 1 item, got 2 items');
  const yaml = edit(YAML_TEXT, '[2]', '[-2]');
  expectOne(yaml, 'm.sbn.yaml', 'input.shape[0]', at(yaml, '-2'), 'expected an integer ≥ 1, got -2');
  const none = edit(JSON_TEXT, '"layers": [\n    { "type": "dense", "units": 5 },\n    { "type": "dense", "units": 5 },\n    { "type": "dense", "units": 5 }\n  ]', '"layers": []');
  expectOne(none, 'm.sbn.json', 'layers', at(none, '[]'), 'expected a non-empty array, got 0 items');
});

test('loss logistic needs 1 unit, loss nll at least 2', () => {
  const json = edit(JSON_TEXT, '"units": 1', '"units": 2');
  expectOne(json, 'm.sbn.json', 'output.units', at(json, '2, "loss"'),
    'expected 1 unit for loss "logistic" (labels ±1), got 2; use loss "nll" for 2 classes');
  const yaml = edit(YAML_TEXT, 'units: 1', 'units: 2');
  expectOne(yaml, 'm.sbn.yaml', 'output.units', at(yaml, 'units: 2', 7), /^expected 1 unit for loss "logistic"/);
  const nll = edit(YAML_TEXT, 'loss: logistic', 'loss: nll');
  expectOne(nll, 'm.sbn.yaml', 'output.units', at(nll, 'units: 1', 7), /^expected at least 2 units for loss "nll"/);
});

test('layer names must be unique, default names included', () => {
  const yaml = edit(edit(YAML_TEXT, 'units: 5', 'units: 5\n    name: h', 1), 'units: 5', 'units: 5\n    name: dense1', 2);
  const errors = errorsOf(parseModelText(yaml, 'm.sbn.yaml'));
  assert.deepEqual(errors.map((e) => [e.path, e.line, e.message]), [
    ['layers[2].name', at(yaml, 'name: dense1').line, 'duplicate layer name "dense1" (already used by layers[0])'],
  ]);
  const badName = edit(JSON_TEXT, '"units": 5 }', '"units": 5, "name": "my layer" }');
  expectOne(badName, 'm.sbn.json', 'layers[0].name', at(badName, '"my layer"'),
    'expected a letter followed by letters, digits, \'_\' or \'-\', got "my layer"');
});

test('all problems are reported, sorted by position', () => {
  const json = edit(edit(edit(JSON_TEXT, '"name": "gradeval-5-5-5"', '"name": 7'), '"units": 5', '"units": 0', 2), '"units": 1', '"units": 3');
  const errors = errorsOf(parseModelText(json, 'm.sbn.json'));
  assert.deepEqual(errors.map((e) => e.path), ['name', 'layers[2].units', 'output.units']);
  assert.ok(errors.every((e, i) => i === 0 || e.line! >= errors[i - 1].line!));
});

test('JSON syntax errors: line and column, strict JSON (no comments, no trailing commas)', () => {
  const missingComma = edit(JSON_TEXT, '"states": "01",', '"states": "01"');
  expectOne(missingComma, 'm.sbn.json', '', at(missingComma, '"noise"'), 'JSON syntax error: expected "," between items');
  const trailing = edit(JSON_TEXT, '"units": 5 }\n  ]', '"units": 5 },\n  ]');
  expectOne(trailing, 'm.sbn.json', '', at(trailing, '},\n  ]', 1), 'JSON syntax error: trailing commas are not allowed in JSON');
  const comment = edit(JSON_TEXT, '"noise": "logistic",', '"noise": "logistic", // the default');
  expectOne(comment, 'm.sbn.json', '', at(comment, '// the'), /^JSON syntax error: comments are not allowed in JSON/);
  const truncated = JSON_TEXT.slice(0, JSON_TEXT.indexOf('"output"'));
  const errors = errorsOf(parseModelText(truncated, 'm.sbn.json'));
  assert.ok(errors.length >= 1 && errors.every((e) => e.message.startsWith('JSON syntax error: ')), JSON.stringify(errors));
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
  for (const [text, file] of [['', 'm.sbn.json'], ['  \n', 'm.sbn.json'], ['', 'm.sbn.yaml'], ['# nothing yet\n', 'm.sbn.yaml']]) {
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
      assert.match(errors[0].message, /^cannot read the file: (ENOENT|EISDIR)/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('formatSpecError: file:line:col: path: message, missing parts left out, one line', () => {
  const full: SpecError = { file: 'm.sbn.json', path: 'layers[2].units', line: 9, column: 33, message: 'expected an integer ≥ 1, got 0' };
  assert.equal(formatSpecError(full), 'm.sbn.json:9:33: layers[2].units: expected an integer ≥ 1, got 0');
  assert.equal(formatSpecError({ ...full, file: undefined }), '9:33: layers[2].units: expected an integer ≥ 1, got 0');
  assert.equal(formatSpecError({ ...full, line: undefined, column: undefined }), 'm.sbn.json: layers[2].units: expected an integer ≥ 1, got 0');
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

const PIECES = ['{', '}', '[', ']', ',', ':', '"', "'", '\n', ' ', '\t', '-', '#', '&a', '*a', '!!str', '---', '0', '1', '1e999',
  'null', 'true', '"dense"', 'units', '"units"', 'name', '\\u', '\u0001', '\uFEFF', '\uD800', 'é', '<<', '? ', '|', '>'];
const KEYS = ['name', 'input', 'shape', 'states', 'noise', 'layers', 'type', 'units', 'output', 'loss', '$schema', '__proto__', 'x'];

function randomValue(rnd: () => number, depth: number): unknown {
  const r = rnd();
  if (depth > 3 || r < 0.35) {
    const scalars = [0, 1, 2, -1, 2.5, '01', 'pm1', 'dense', 'nll', 'logistic', '', null, true, 1e300];
    return scalars[Math.floor(rnd() * scalars.length)];
  }
  if (r < 0.55) return Array.from({ length: Math.floor(rnd() * 4) }, () => randomValue(rnd, depth + 1));
  const obj: Record<string, unknown> = {};
  for (let i = Math.floor(rnd() * 5); i > 0; i--) obj[KEYS[Math.floor(rnd() * KEYS.length)]] = randomValue(rnd, depth + 1);
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
  const seeds = [JSON_TEXT, MINIMAL, YAML_TEXT, edit(YAML_TEXT, 'states: "01"', 'states: 01')];
  for (let k = 0; k < 4000; k++) {
    let text: string;
    let file: string;
    if (k % 4 === 3) {
      const value = randomValue(rnd, 0);
      const yaml = rnd() < 0.5;
      text = yaml ? toYaml(value) : JSON.stringify(value, null, rnd() < 0.5 ? 2 : 0) ?? '';
      file = yaml ? 'f.sbn.yaml' : 'f.sbn.json';
    } else {
      const seed = seeds[Math.floor(rnd() * seeds.length)];
      text = mutate(rnd, seed);
      file = seed.startsWith('{') ? (rnd() < 0.9 ? 'f.sbn.json' : 'f.sbn.yaml') : (rnd() < 0.9 ? 'f.sbn.yaml' : 'f.sbn.json');
    }
    const label = `#${k} ${file} ${JSON.stringify(text).slice(0, 300)}`;
    let result: ParseResult | undefined;
    assert.doesNotThrow(() => { result = parseModelText(text, file); }, label);
    checkWellFormed(result!, label);
    if (file.endsWith('.json')) {
      // Strict JSON: accepted only what JSON.parse accepts (after a BOM, which editors hide).
      let strictOk = true;
      try { JSON.parse(text.replace(/^\uFEFF/, '')); } catch { strictOk = false; }
      if (result!.ok) assert.ok(strictOk, `accepted invalid JSON: ${label}`);
      if (!strictOk) assert.ok(!result!.ok, label);
    }
  }
  // Nesting deeper than the call stack is one error, not a crash.
  for (const [text, file] of [['['.repeat(100_000), 'deep.sbn.json'], ['['.repeat(5000) + ']'.repeat(5000), 'deep.sbn.yaml']]) {
    const errors = errorsOf(parseModelText(text, file));
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /nested too deeply|syntax error/);
  }
  // Inputs that are not even strings (from plain JavaScript callers) do not throw either.
  for (const bad of [undefined, null, 42, {}]) {
    checkWellFormed(parseModelText(bad as unknown as string, bad as unknown as string), String(bad));
  }
});
