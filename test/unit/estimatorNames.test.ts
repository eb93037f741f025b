// test-backends: one
// The estimator names are one list (src/estimators.ts). The JSON files that cannot import it — the model schema and
// package.json's task definition — must repeat it exactly; the code derives from it (no second literal list in src/
// or webview/); every estimator has its own colour, the same in the panels and the reports.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ESTIMATOR_NAMES,
  ESTIMATORS,
  SAMPLING_ESTIMATORS,
  TRAINING_ESTIMATORS,
  TRAIN_ESTIMATOR_CHOICES,
  estimatorList,
  estimatorStyle,
} from '../../src/estimators';
import { createEstimator } from '../../src/engine/estimators';
import { parseEstimatorName } from '../../src/cli/inputs';
import { SUITE_METHODS } from '../../src/engine/experiments/trainSuite';
import { repoRoot } from './helpers/fixtures';

const root = repoRoot();

/** Every `enum` array under `node` that holds an estimator name, with its JSON path. */
function estimatorEnums(node: unknown, at = '$'): { at: string; values: unknown[]; descriptions?: unknown[] }[] {
  if (Array.isArray(node)) return node.flatMap((v, i) => estimatorEnums(v, `${at}[${i}]`));
  if (typeof node !== 'object' || node === null) return [];
  const o = node as Record<string, unknown>;
  const here =
    Array.isArray(o.enum) && o.enum.includes('psa')
      ? [{ at, values: o.enum, descriptions: o.enumDescriptions as unknown[] | undefined }]
      : [];
  return [...here, ...Object.entries(o).flatMap(([k, v]) => estimatorEnums(v, `${at}.${k}`))];
}

test('the model schema lists exactly the training estimators, in order, with a description each', () => {
  const schema = JSON.parse(fs.readFileSync(path.join(root, 'schemas', 'sbn-model.schema.json'), 'utf8')) as unknown;
  const enums = estimatorEnums(schema);
  assert.ok(enums.length >= 2, 'train.estimator and diagnostics.estimators');
  for (const e of enums) {
    // train.estimator also offers `auto`, a choice among the others per layer (docs/math.md §3.9)
    const expected = e.at.endsWith('.train.properties.estimator') ? TRAIN_ESTIMATOR_CHOICES : TRAINING_ESTIMATORS;
    assert.deepEqual(e.values, [...expected], `${e.at}: schemas/sbn-model.schema.json differs from src/estimators.ts`);
    if (e.descriptions)
      assert.equal(e.descriptions.length, expected.length, `${e.at}: one enumDescription per estimator`);
  }
  // completion snippets offer the same choice
  const snippets = [...JSON.stringify(schema).matchAll(/\$\{\d+\|([^|]*psa[^|]*)\|\}/g)].map((m) => m[1]);
  assert.ok(snippets.length > 0);
  for (const s of snippets) assert.equal(s, TRAINING_ESTIMATORS.join(','));
});

test("package.json: the sbn task definition's estimator enum is train.estimator's choices (with auto)", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    contributes: { taskDefinitions: unknown[] };
  };
  const enums = estimatorEnums(pkg.contributes.taskDefinitions);
  assert.equal(enums.length, 1);
  assert.deepEqual(
    enums[0].values,
    [...TRAIN_ESTIMATOR_CHOICES],
    'package.json taskDefinitions differs from src/estimators.ts',
  );
});

test('the engine, the CLI and the commands derive from the list', () => {
  for (const name of TRAINING_ESTIMATORS) assert.equal(createEstimator(name).name, name);
  assert.deepEqual(ESTIMATOR_NAMES.slice(1), [...TRAINING_ESTIMATORS]);
  assert.throws(
    () => parseEstimatorName('st'),
    (e: Error) => e.message === `--estimator: unknown estimator "st" (expected one of: ${ESTIMATOR_NAMES.join(', ')})`,
  );
  for (const name of ESTIMATOR_NAMES) assert.equal(parseEstimatorName(name), name);
  assert.equal(estimatorList(['a', 'b', 'c']), 'a, b or c');
  assert.deepEqual(
    [...SAMPLING_ESTIMATORS],
    [
      'psa',
      'dste',
      'hard-st',
      'reinforce',
      'arm',
      'concrete',
      'tanh',
      'disarm',
      'muprop',
      'gumbel-st',
      'gumbel-rao',
      'reinmax',
    ],
  );
  assert.deepEqual(
    SUITE_METHODS.map((m) => m.label),
    [
      'tanh',
      'REINFORCE',
      'Concrete (τ=1)',
      'ST (DSTE)',
      'PSA',
      'ADF',
      'LocalReparam',
      'Hard ST',
      'Concrete (τ=0.5)',
      'tanh (deterministic tanh(a))',
    ],
  );
  // no second literal list of the names anywhere in the code
  const walk = (d: string): string[] =>
    fs
      .readdirSync(path.join(root, d), { withFileTypes: true })
      .flatMap((e) =>
        e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith('.ts') ? [path.join(d, e.name)] : [],
      );
  const files = ['src', 'webview'].flatMap((d) => walk(d));
  for (const f of files.filter((f) => f !== path.join('src', 'estimators.ts'))) {
    const text = fs.readFileSync(path.join(root, f), 'utf8');
    const lines = text
      .split('\n')
      .filter((l) => /'hard-st'|hard-st,/.test(l) && /local-reparam/.test(l) && /\breinforce\b/.test(l));
    assert.deepEqual(lines, [], `${f} lists the estimator names again: derive them from src/estimators.ts`);
  }
});

test("one palette: each estimator has its own colour; the reports' variants and labels derive from it", () => {
  const colors = ESTIMATOR_NAMES.map((n) => ESTIMATORS[n].color);
  assert.equal(new Set(colors).size, colors.length, `shared colours: ${colors.join(', ')}`);
  assert.deepEqual(estimatorStyle('psa'), { label: 'PSA', color: 'purple' });
  assert.deepEqual(estimatorStyle('concrete(tau=1)'), { label: 'Concrete τ=1', color: 'green' });
  assert.deepEqual(estimatorStyle('concrete(tau=0.1)'), { label: 'Concrete τ=0.1', color: 'cyan' });
  assert.ok(!colors.includes('cyan'), "the τ=0.1 variant's colour is no estimator's");
  assert.deepEqual(estimatorStyle('something else'), { label: 'something else', color: 'foreground' });
  for (const n of ESTIMATOR_NAMES) assert.equal(ESTIMATORS[n].name, n);
  assert.deepEqual(
    ESTIMATOR_NAMES.filter((n) => ESTIMATORS[n].unbiased),
    ['exact', 'reinforce', 'arm', 'disarm', 'muprop', 'local-expectation'],
  );
  // the webview pages take colours and labels from the list, not from tables of their own
  for (const page of ['diagnostics.ts', 'report.ts']) {
    const text = fs.readFileSync(path.join(root, 'webview', page), 'utf8');
    assert.match(text, /from '\.\.\/src\/estimators'/, page);
    assert.doesNotMatch(text, /\bpsa: '(blue|purple)'/, page);
  }
});
