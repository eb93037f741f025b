// test-backends: one
// Completions in YAML model files from the model-file JSON Schema (src/extension/language/yamlCompletion.ts):
// keys with descriptions, required keys first, values of enums and consts, discriminated alternatives, block and
// flow style, what a completion inserts, and that every example model can be completed anywhere without throwing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse } from 'yaml';
import { parseModelText } from '../../src/engine/spec';
import { modelSchema } from '../../src/engine/spec/validate';
import { yamlCompletions, type CompletionEntry } from '../../src/extension/language/yamlCompletion';

const ROOT = join(__dirname, '..', '..', '..');

/** Completions where `|` stands in `marked` (the `|` itself is not part of the text). */
function at(marked: string): CompletionEntry[] {
  const i = marked.indexOf('|');
  assert.ok(i >= 0, 'the fixture marks the cursor with |');
  const text = marked.slice(0, i) + marked.slice(i + 1);
  const lines = text.slice(0, i).split('\n');
  return yamlCompletions(text, { line: lines.length - 1, character: lines[lines.length - 1].length });
}
const labels = (entries: CompletionEntry[], kind?: CompletionEntry['kind']) =>
  entries.filter((e) => !kind || e.kind === kind).map((e) => e.label);
const ordered = (entries: CompletionEntry[]) => [...entries].sort((a, b) => a.sortText.localeCompare(b.sortText));

const ESTIMATORS = (modelSchema as { definitions: { train: { properties: { estimator: { enum: string[] } } } } })
  .definitions.train.properties.estimator.enum;
// the estimators diagnostics compare: every training estimator but `auto`, which chooses among them
const DIAGNOSED = (
  modelSchema as { definitions: { diagnostics: { properties: { estimators: { items: { enum: string[] } } } } } }
).definitions.diagnostics.properties.estimators.items.enum;

test("top-level keys: those not yet written, required ones first, with the schema's descriptions", () => {
  const entries = at('name: x\nstates: pm1\n|');
  const keys = labels(ordered(entries));
  assert.deepEqual(keys.slice(0, 3), ['input', 'layers', 'output']);
  assert.ok(!keys.includes('name') && !keys.includes('states') && !keys.includes('$schema'), keys.join(' '));
  for (const k of ['noise', 'data', 'train', 'diagnostics']) assert.ok(keys.includes(k), k);
  const input = entries.find((e) => e.label === 'input')!;
  assert.match(input.detail ?? '', /^required: /);
  assert.match(input.documentation ?? '', /Shape of one input example/);
  const noise = entries.find((e) => e.label === 'noise')!;
  assert.equal(noise.kind, 'property');
  assert.match(noise.documentation ?? '', /noise/);
  assert.doesNotMatch(noise.detail ?? '', /required/);
});

test('estimator names after `estimator:`, each with its description; the typed word is what gets replaced', () => {
  const entries = at('train:\n  estimator: ps|\n');
  assert.deepEqual(labels(entries), ESTIMATORS);
  assert.ok(entries.every((e) => e.kind === 'value' && !e.snippet));
  assert.match(entries.find((e) => e.label === 'psa')!.documentation ?? '', /PSA, path sample-analytic/);
  assert.deepEqual(entries[0].range, { start: { line: 1, character: 13 }, end: { line: 1, character: 15 } });
});

test('a value on its own line under its key, and items of a list of enums (flow and block)', () => {
  assert.deepEqual(labels(at('train:\n  estimator:\n    ps|\n'), 'value'), ESTIMATORS);
  assert.deepEqual(labels(at('diagnostics:\n  estimators: [psa, |]\n')), DIAGNOSED);
  assert.deepEqual(labels(at('diagnostics:\n  estimators:\n    - psa\n    - d|\n'), 'value'), DIAGNOSED);
});

test("a layer's keys follow its type (the discriminator); without one, every kind's keys and the type first", () => {
  assert.deepEqual(labels(at('layers:\n  - type: dense\n    |\n')), ['units', 'name']);
  assert.deepEqual(labels(at('layers:\n  - type: conv\n    |\n')).sort(), [
    'filters',
    'kernel',
    'name',
    'padding',
    'stride',
  ]);
  assert.deepEqual(labels(at('layers:\n  - type: flatten\n    |\n')), ['name']);
  const open = labels(ordered(at('layers:\n  - |\n')), 'property');
  assert.equal(open[0], 'type');
  for (const k of ['units', 'filters', 'kernel']) assert.ok(open.includes(k), k);
  const kinds = at('layers:\n  - type: |\n');
  assert.deepEqual(labels(kinds), ['dense', 'conv', 'flatten']);
  assert.match(kinds[1].documentation ?? '', /convolution/i);
});

test("flow style: keys inside { } and values after `key:`; an optimiser's keys follow its type", () => {
  assert.ok(labels(at('train: { est| }\n')).includes('estimator'));
  assert.deepEqual(labels(at('train: { optimizer: { type: adam, | } }\n')), [
    'beta1',
    'beta2',
    'epsilon',
    'weightDecay',
  ]);
  assert.ok(labels(at('train: { optimizer: { type: sgd, | } }\n')).includes('nesterov'));
  assert.deepEqual(labels(at('input: { shape: [784] }\noutput: { units: 10, loss: | }\n')), ['logistic', 'nll']);
});

test('lr: `schedule: step` offers the step schedule\'s keys only; an empty lr also offers "search"', () => {
  assert.deepEqual(labels(at('train:\n  lr: { schedule: step, | }\n')), ['base', 'stepEpochs', 'gamma']);
  const empty = at('train:\n  lr:\n    |\n');
  assert.ok(labels(empty, 'property').includes('schedule'));
  assert.deepEqual(labels(empty, 'value'), ['search']);
});

test('inserted: `key: ` for scalars, a nested block for objects and lists of objects, [ ] for lists of scalars', () => {
  const top = at('name: x\n|');
  const insert = (label: string) => top.find((e) => e.label === label)!;
  assert.equal(insert('noise').insertText, 'noise: $0');
  assert.equal(insert('train').insertText, 'train:\n\t$0');
  assert.equal(insert('layers').insertText, 'layers:\n\t- $0');
  assert.ok(top.every((e) => e.snippet));
  assert.equal(at('input:\n  |\n').find((e) => e.label === 'shape')!.insertText, 'shape: [$0]');
  assert.equal(at('train: { | }\n').find((e) => e.label === 'optimizer')!.insertText, 'optimizer: { $0 }');
  // the colon is already there: only the key is replaced
  const typed = at('train:\n  epo|: 3\n').find((e) => e.label === 'epochs')!;
  assert.equal(typed.insertText, 'epochs');
  assert.equal(typed.snippet, false);
});

test('values YAML would read as something else are quoted: 01 stays the string "01"', () => {
  const entries = at('states: |\n');
  assert.deepEqual(labels(entries), ['pm1', '01']);
  const zeroOne = entries.find((e) => e.label === '01')!;
  assert.equal(zeroOne.insertText, "'01'");
  assert.equal((parse(`states: ${zeroOne.insertText}`) as { states: unknown }).states, '01');
  assert.equal(entries.find((e) => e.label === 'pm1')!.insertText, 'pm1');
});

test('nothing in comments; nothing for free-form values', () => {
  assert.deepEqual(at('# a comment |\nname: x\n'), []);
  assert.deepEqual(at('name: x  # the name |\n'), []);
  assert.deepEqual(at('name: |\n'), []);
});

test('completing a key and taking the first completion yields a file that parses with that key', () => {
  const text =
    'name: toy\ninput: { shape: [2] }\nlayers:\n  - type: dense\n    units: 5\noutput: { units: 1, loss: logistic }\n' +
    'data: { dataset: toy-2d }\ntrain:\n  estimator: psa\n  ';
  const entry = at(text + 'l|').find((e) => e.label === 'lr')!;
  const completed = text + entry.insertText.replace('$0', '0.1') + '\n';
  const parsed = parseModelText(completed, 'completed.sbn.yaml');
  assert.ok(parsed.ok, JSON.stringify(parsed));
});

test("every example model: completions anywhere never throw and keep their range on the cursor's line", () => {
  const examples = readdirSync(join(ROOT, 'examples')).filter((f) => /\.sbn\.ya?ml$/.test(f));
  assert.ok(examples.length > 0);
  for (const file of examples) {
    const text = readFileSync(join(ROOT, 'examples', file), 'utf8');
    const lines = text.split('\n');
    fc.assert(
      fc.property(fc.nat(lines.length - 1), fc.nat(200), (line, column) => {
        const character = Math.min(column, lines[line].length);
        const entries = yamlCompletions(text, { line, character });
        for (const e of entries) {
          assert.equal(e.range.start.line, line);
          assert.ok(
            e.range.start.character <= character && character <= e.range.end.character,
            `${file}:${line}:${character}`,
          );
        }
      }),
      { numRuns: 60 },
    );
  }
});
