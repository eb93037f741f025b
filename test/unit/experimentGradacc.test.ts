// test-backends: one
// `sbn experiment gradacc` (docs/math.md §3): the AP2 init of the re-created checkpoints, the engine run with its
// on-disk reuse of finished work, the findings computed from the authors' own curves, and the command as a user runs
// it. Everything runs small (300 draws, 3 epochs); the full experiment is 20000 draws and 2000 epochs.
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend, type BackendInfo } from '../../src/engine/backend';
import { readToy2d } from '../../src/engine/data';
import { Rng } from '../../src/engine/rng';
import { loadModelFile } from '../../src/engine/spec';
import type { GradientAccuracyResult } from '../../src/engine/gradients/accuracy';
import type { EstimatorName } from '../../src/engine/estimators';
import {
  AUTHORS_METHOD,
  GRADACC_MODEL,
  GRADACC_PARAMETERS,
  GRADACC_SIZES,
  ap2Init,
  compareWithReference,
  gradaccFindings,
  oursCheckpointFile,
  referenceCurves,
  resultFile,
  runGradaccExperiment,
  uniformValues,
  type AuthorsCurvesFile,
  type GradaccOptions,
} from '../../src/engine/experiments/gradacc';
import type { CurveDeviation, GradaccExperiment } from '../../src/engine/experiments/types';
import { parseReportData, writeExperimentReport } from '../../src/report';
import { experimentEnvironment, recordedCommand } from '../../src/cli/experiment';
import { parseEstimatorList } from '../../src/cli/inputs';
import { PAPER_ESTIMATORS } from '../../src/cli/commands/gradeval';
import { gradevalCurves, gradevalData, repoRoot } from './helpers/fixtures';

const root = repoRoot();
const LABELS = ['reinforce', 'concrete(tau=0.1)', 'concrete(tau=1)', 'tanh', 'dste', 'psa', 'arm'];
const LAYERS = ['dense1', 'dense2', 'dense3', 'output'];

let backend: BackendInfo;
before(async () => {
  backend = await initBackend();
});

function toyX(): number[][] {
  const t = readToy2d().train;
  return Array.from({ length: t.n }, (_, n) => [t.x[2 * n], t.x[2 * n + 1]]);
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
/** Unbiased, like torch's var() that the authors normalise with. */
const variance = (v: number[]) => {
  const m = mean(v);
  return v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1);
};

test('the engine model is the 5-5-5 net of examples/toy2d-gradeval.sbn.json', () => {
  const parsed = loadModelFile(path.join(root, 'examples', 'toy2d-gradeval.sbn.json'));
  assert.ok(parsed.ok);
  const m = parsed.model;
  assert.deepEqual(
    { input: m.input, states: m.states, noise: m.noise, layers: m.layers, output: m.output },
    {
      input: GRADACC_MODEL.input,
      states: GRADACC_MODEL.states,
      noise: GRADACC_MODEL.noise,
      layers: GRADACC_MODEL.layers,
      output: GRADACC_MODEL.output,
    },
  );
  assert.deepEqual(GRADACC_SIZES, [2, ...m.layers.map((l) => (l.type === 'dense' ? l.units : 0)), m.output.units]);
  assert.equal(GRADACC_PARAMETERS, 81);
});

const ap2InitTitle =
  'ap2Init: layer-1 pre-activations over the 200 points have mean 0 and variance 1; layers 2–3 are ' +
  'normalised for inputs of mean 0.5 and variance 0.25; the output layer is untouched';
test(ap2InitTitle, () => {
  const X = toyX();
  assert.equal(X.length, 200);
  for (const seed of [1, 2, 3]) {
    const raw = uniformValues(GRADACC_SIZES, new Rng(seed));
    raw.forEach((l) => [...l.weight.flat(), ...l.bias].forEach((v) => assert.ok(v > -1 && v < 1)));
    const init = ap2Init(raw, X);

    // Layer 1, from the data itself. The variance over the points has a cross term 2·w1·w2·cov(x1, x2) that the
    // independent-inputs normalisation of docs/math.md §3.2 ignores; it is bounded by the features' correlation.
    const v = [0, 1].map((i) => variance(X.map((x) => x[i])));
    const cov = (mean(X.map((x) => (x[0] - mean(X.map((r) => r[0]))) * (x[1] - mean(X.map((r) => r[1]))))) * 200) / 199;
    const rho = Math.abs(cov / Math.sqrt(v[0] * v[1]));
    assert.ok(rho > 0 && rho < 0.1, `feature correlation ${rho}`);
    init[0].weight.forEach((w, j) => {
      const a = X.map((x) => w[0] * x[0] + w[1] * x[1] + init[0].bias[j]);
      assert.ok(Math.abs(mean(a)) < 1e-9, `seed ${seed} unit ${j}: mean ${mean(a)}`);
      assert.ok(Math.abs(variance(a) - 1) <= rho + 1e-9, `seed ${seed} unit ${j}: variance ${variance(a)}`);
      const independent = w[0] ** 2 * v[0] + w[1] ** 2 * v[1];
      assert.ok(Math.abs(independent - 1) < 1e-8, `seed ${seed} unit ${j}: Σ w²·var = ${independent}`);
      // a rescaling by a positive factor per unit: the direction of each unit's weights is kept
      const f = w[0] / raw[0].weight[j][0];
      assert.ok(f > 0 && Math.abs(w[1] / raw[0].weight[j][1] - f) < 1e-9 * f);
    });

    // Layers 2 and 3: {0,1} inputs of mean 0.5 and variance 0.25 give pre-activations of mean 0 and variance 1.
    for (const k of [1, 2]) {
      init[k].weight.forEach((w, j) => {
        const mu = w.reduce((s, wi) => s + 0.5 * wi, init[k].bias[j]);
        const s2 = w.reduce((s, wi) => s + 0.25 * wi * wi, 0);
        assert.ok(Math.abs(mu) < 1e-9, `seed ${seed} layer ${k + 1} unit ${j}: mean ${mu}`);
        assert.ok(Math.abs(s2 - 1) < 1e-8, `seed ${seed} layer ${k + 1} unit ${j}: variance ${s2}`);
      });
    }
    assert.deepEqual(init[3], raw[3]);
  }
});

/** One of the authors' figures as a result of ours: their curves over their 36 M, ⌊20000/M⌋ trials. */
function authorsAsResult(doc: AuthorsCurvesFile, checkpoint: string): GradientAccuracyResult {
  const trials = doc.M.map((M) => Math.floor(20000 / M));
  return {
    model: 'gradeval-5-5-5',
    draws: 20000,
    seed: 0,
    M: doc.M,
    exactLoss: 0,
    exactNorms: [],
    referenceGradient: { kind: 'exact', draws: 0, relativeError: LAYERS.map(() => 0), seconds: 0 },
    estimators: Object.entries(AUTHORS_METHOD).map(([label, method]) => ({
      label,
      estimator: /^[a-z-]+/.exec(label)![0] as EstimatorName, // e.g. concrete(tau=0.1) → concrete
      options: {},
      loss: 0,
      seconds: 0,
      layers: LAYERS.map((layer, k) => ({
        layer,
        cos: doc.curves[`${checkpoint}/cos/layer${k}`][method],
        rmse: doc.curves[`${checkpoint}/rmse/layer${k}`][method],
        trials,
        cosQ15: [],
        cosQ85: [],
        cosStd: [],
        sqErrStd: [],
      })),
    })),
  };
}

test("findings computed from the authors' chk-100 curves state the paper's observations (docs/math.md §3.5)", () => {
  const doc = gradevalCurves();
  const result = authorsAsResult(doc, 'chk-100');
  const f = gradaccFindings(result);
  const line = (re: RegExp) => {
    const found = f.find((l) => re.test(l));
    assert.ok(found, `no finding matches ${re}:\n${f.join('\n')}`);
    return found;
  };
  for (const k of [1, 2, 3])
    line(new RegExp(`^hidden layer ${k}: lowest relative RMSE at M=1: psa .*M=10: psa .*M=100: psa .*M=1000: psa `));
  assert.ok(!f.some((l) => /^output layer: lowest/.test(l)), 'winners are stated for hidden layers');
  const psaFloor = line(/^bias floor of psa \(relative RMSE at M=2000, the largest M with ≥ 10 trials\)/);
  assert.match(psaFloor, /hidden layer 1 0\.04\d/);
  for (const label of ['concrete(tau=0.1)', 'concrete(tau=1)', 'tanh', 'dste'])
    line(new RegExp(`^bias floor of ${label.replace(/[()=.]/g, '\\$&')} `));
  assert.ok(!f.some((l) => /^bias floor of (arm|reinforce)/.test(l)), 'unbiased estimators have no bias floor');
  // ARM overtakes PSA in hidden layer 1 only at M of several thousand
  const arm = line(/^ARM's relative RMSE falls below PSA's: /);
  const m1 = /hidden layer 1 from M=(\d+)/.exec(arm);
  assert.ok(m1 && Number(m1[1]) > 1000 && Number(m1[1]) <= 9000, arm);
  line(/^tanh's cosine in hidden layer 1 is positive \(0\.995\)/);
  line(/^hidden layer 3: PSA's relative RMSE keeps falling like the unbiased methods'/);
  line(/^output layer: PSA's relative RMSE keeps falling like the unbiased methods'/);
  assert.ok(!f.some((l) => /DIFFERS/.test(l)), 'no comparison was asked for');

  // against themselves: everything agrees and nothing deviates
  const same = compareWithReference(result, referenceCurves(doc, 'chk-100'));
  const g = gradaccFindings(result, { checkpoint: 'chk-100', kind: 'quantitative', ...same });
  assert.ok(!g.some((l) => /DIFFERS/.test(l)), g.join('\n'));
  assert.ok(
    g.some((l) => /largest deviation from the authors' chk-100 curves .*cosine 0 /.test(l)),
    g.join('\n'),
  );
});

test("findings say plainly where two sets of curves disagree (the authors' chk-2000 against their chk-100)", () => {
  const doc = gradevalCurves();
  const result = authorsAsResult(doc, 'chk-2000');
  const f = gradaccFindings(result, {
    checkpoint: 'chk-100',
    kind: 'qualitative',
    ...compareWithReference(result, referenceCurves(doc, 'chk-100')),
  });
  const tanh = f.find((l) => l.startsWith("tanh's cosine"));
  assert.match(
    tanh ?? '',
    /^tanh's cosine in hidden layer 1 is negative \(-0\.389.*DIFFERS from the authors' chk-100: authors positive \(0\.995\)/,
  );
  // chk-2000: ST's bias floor 0.56 in hidden layer 1 against 0.08 at chk-100
  assert.match(
    f.find((l) => l.startsWith('bias floor of dste')) ?? '',
    /DIFFERS by more than 1\.5×: hidden layer 1 ours 0\.5\d+ vs authors 0\.07\d/,
  );
  assert.match(f.find((l) => l.startsWith('largest deviation')) ?? '', /a different training run/);
});

function options(out: string, draws: number): GradaccOptions {
  const data = gradevalData();
  const doc = gradevalCurves();
  return {
    outDir: out,
    draws,
    seed: 3,
    epochs: 3,
    estimators: parseEstimatorList(PAPER_ESTIMATORS),
    environment: experimentEnvironment(backend),
    authors: {
      checkpoints: { 'chk-1': data.checkpoints['chk-1'].layers, 'chk-100': data.checkpoints['chk-100'].layers },
      curves: { 'chk-100': referenceCurves(doc, 'chk-100'), 'chk-2000': referenceCurves(doc, 'chk-2000') },
    },
  };
}

const engineRunTitle =
  'the engine run writes every checkpoint with all seven estimators; a rerun reuses the training and the results';
test(engineRunTitle, async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-gradacc-'));
  const first = await runGradaccExperiment(options(out, 300));
  const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  const written = await writeExperimentReport(out, first.experiment, { png: fs.existsSync(chromium) });
  assert.equal(written.json, path.join(out, 'gradacc.json'));
  // the report page carries the whole result (every checkpoint and estimator) and, with Chromium, one PNG per figure
  assert.equal(written.html, path.join(out, 'report.html'), written.notes.join('; '));
  const html = fs.readFileSync(written.html, 'utf8');
  for (const label of LABELS)
    assert.ok(html.includes(`"label":${JSON.stringify(label)}`), `${label} missing from report.html`);
  if (fs.existsSync(chromium)) {
    assert.deepEqual(
      written.pngs.map((f) => path.basename(f)).sort(),
      [
        'gradacc-authors-chk-1.png',
        'gradacc-authors-chk-100.png',
        'gradacc-ours-chk-1.png',
        'gradacc-ours-chk-3.png',
        'gradacc-training.png',
      ],
      written.notes.join('; '),
    );
    for (const f of written.pngs) assert.ok(fs.statSync(f).size > 10_000, `${f} is too small to hold the charts`);
  }
  const json = JSON.parse(fs.readFileSync(written.json, 'utf8')) as GradaccExperiment;
  assert.equal(json.format, 'sbn-experiment-gradacc');
  // what the extension's report panel shows: the result passes its check
  const parsed = parseReportData(fs.readFileSync(written.json, 'utf8'), written.json);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.message);
  assert.equal(json.draws, 300);
  assert.deepEqual(json.M, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  const ids = ['authors-chk-1', 'authors-chk-100', 'ours-chk-1', 'ours-chk-3'];
  assert.deepEqual(
    json.checkpoints.map((c) => c.id),
    ids,
  );
  assert.deepEqual(
    json.checkpoints.map((c) => c.source),
    ['authors', 'authors', 'recreated', 'recreated'],
  );
  assert.deepEqual(
    json.checkpoints.map((c) => c.epoch),
    [1, 100, 1, 3],
  );
  for (const c of json.checkpoints) {
    assert.deepEqual(
      c.result.estimators.map((e) => e.label),
      LABELS,
      c.id,
    );
    for (const e of c.result.estimators) {
      assert.deepEqual(
        e.layers.map((l) => l.layer),
        LAYERS,
        `${c.id} ${e.label}`,
      );
      for (const l of e.layers) {
        assert.equal(l.rmse.length, json.M.length);
        assert.ok([...l.cos, ...l.rmse].every(Number.isFinite), `${c.id} ${e.label} ${l.layer}`);
      }
    }
    assert.ok(c.findings.length >= 8, `${c.id}: ${c.findings.length} findings`);
  }
  // the authors' chk-100 is their published figure's checkpoint: our exact loss is theirs
  const a100 = json.checkpoints[1];
  assert.ok(Math.abs(a100.result.exactLoss - 0.683868) < 1e-5, String(a100.result.exactLoss));
  assert.equal(a100.reference?.kind, 'quantitative');
  assert.equal(a100.reference?.checkpoint, 'chk-100');
  assert.deepEqual(Object.keys(a100.reference.deviations), LABELS);
  for (const label of LABELS) {
    const devs: CurveDeviation[] = a100.reference.deviations[label];
    assert.equal(devs.length, 4);
    for (const d of devs) {
      assert.ok(
        [d.maxCosDeviation, d.maxRmseRelDeviation].every((v) => Number.isFinite(v) && v >= 0),
        `${label}: ${JSON.stringify(d)}`,
      );
      assert.ok(json.M.includes(d.atMCos) && json.M.includes(d.atMRmse));
    }
    assert.equal(a100.reference.curves[label][0].rmse.length, json.M.length);
  }
  // tanh is deterministic: it matches the published curve to its digits (docs/math.md §3.7)
  assert.ok(a100.reference.deviations.tanh.every((d) => d.maxCosDeviation < 1e-3 && d.maxRmseRelDeviation < 5e-3));
  // no comparison of ours without a matching epoch
  assert.ok(json.checkpoints.slice(2).every((c) => c.reference === undefined));
  assert.equal(json.training?.loss.length, 3);
  assert.ok(json.training.loss.every((v) => v > 0.5 && v < 1));
  assert.deepEqual(Object.keys(json.training.exactLoss), ['1', '3']);
  assert.equal(first.trained, true);
  assert.deepEqual(first.computed, ids);

  // the saved checkpoints are params files that sbn gradeval reads
  const saved = JSON.parse(fs.readFileSync(oursCheckpointFile(out, 3), 'utf8')) as { layers: { weight: number[][] }[] };
  assert.deepEqual(
    saved.layers.map((l) => [l.weight.length, l.weight[0].length]),
    [
      [5, 2],
      [5, 5],
      [5, 5],
      [1, 5],
    ],
  );

  const files = [oursCheckpointFile(out, 1), oursCheckpointFile(out, 3), ...ids.map((id) => resultFile(out, id))];
  const mtimes = files.map((f) => fs.statSync(f).mtimeMs);
  const second = await runGradaccExperiment(options(out, 300));
  assert.equal(second.trained, false);
  assert.deepEqual(second.computed, []);
  assert.deepEqual(second.reused, ids);
  assert.deepEqual(
    files.map((f) => fs.statSync(f).mtimeMs),
    mtimes,
    'a rerun rewrote finished work',
  );
  assert.deepEqual(second.experiment.checkpoints, first.experiment.checkpoints);
  assert.deepEqual(second.experiment.training, first.experiment.training);

  // other draws: new results, the same training
  const third = await runGradaccExperiment(options(out, 200));
  assert.equal(third.trained, false);
  assert.deepEqual(third.computed, ids);
  assert.deepEqual(third.experiment.M.at(-1), 100);
});

function sbn(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(root, 'dist', 'cli.js'), ...args], {
    cwd,
    encoding: 'utf8',
    env: process.env,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cliRunTitle =
  "sbn experiment gradacc runs end to end from any folder, with the package's copy of the authors' " +
  'data by default';
test(cliRunTitle, () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-gradacc-cli-'));
  const r = sbn(cwd, 'experiment', 'gradacc', '--draws', '300', '--epochs', '3', '--out', 'out', '--no-png');
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /not at/);
  const json = JSON.parse(fs.readFileSync(path.join(cwd, 'out', 'gradacc.json'), 'utf8')) as GradaccExperiment;
  assert.deepEqual(
    json.checkpoints.map((c) => c.id),
    ['authors-chk-1', 'authors-chk-100', 'ours-chk-1', 'ours-chk-3'],
  );
  assert.match(json.environment.command, /^sbn experiment gradacc --draws 300/);
  assert.match(r.stdout, /== authors-chk-100: /);
  assert.match(r.stdout, /in parentheses: the authors' published curves at chk-100/);
  assert.match(r.stdout, /Deviation of authors-chk-100 from the authors' chk-100 curves/);
  assert.match(r.stdout, /Findings/);
  assert.match(r.stderr, /sbn: results written to .*gradacc\.json/);
  assert.doesNotMatch(r.stdout, /^sbn: /m, 'logs go to stderr');
});

test("sbn experiment gradacc in an installation without the authors' data runs our checkpoints only", () => {
  // A package of its own: the CLI bundle and a package.json, but no reference/ folder.
  const pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-gradacc-noauthors-'));
  fs.mkdirSync(path.join(pkg, 'dist'));
  fs.copyFileSync(path.join(root, 'dist', 'cli.js'), path.join(pkg, 'dist', 'cli.js'));
  fs.writeFileSync(path.join(pkg, 'package.json'), '{}');
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
  const cwd = path.join(pkg, 'work');
  fs.mkdirSync(cwd);
  const r = spawnSync(
    process.execPath,
    [
      path.join(pkg, 'dist', 'cli.js'),
      'experiment',
      'gradacc',
      '--draws',
      '60',
      '--epochs',
      '1',
      '--out',
      'x',
      '--no-png',
    ],
    { cwd, encoding: 'utf8', env: process.env },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.ok(
    r.stderr.includes(`the authors' data is not at ${path.join(pkg, 'reference', 'authors-psa-neurips2020')} `),
    r.stderr,
  );
  assert.match(r.stderr, /skipping their checkpoints/);
  const json = JSON.parse(fs.readFileSync(path.join(cwd, 'x', 'gradacc.json'), 'utf8')) as GradaccExperiment;
  assert.deepEqual(
    json.checkpoints.map((c) => c.id),
    ['ours-chk-1'],
  );
});

function expectBadInput(args: string[], ...patterns: RegExp[]) {
  const r = sbn(root, 'experiment', 'gradacc', ...args);
  assert.equal(r.code, 2, `exit code ${r.code}; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  for (const p of patterns) assert.match(lines[0], p);
}

test('the recorded command names no absolute path: they are written relative to the working directory', () => {
  assert.equal(
    recordedCommand(['experiment', 'gradacc', '--out', '/w/main/experiments/x', '--draws', '300'], '/w/main'),
    'sbn experiment gradacc --out experiments/x --draws 300',
  );
  assert.equal(
    recordedCommand(['experiment', 'train', '--data=/w/cifar', '--out', '/w/main'], '/w/main'),
    'sbn experiment train --data=../cifar --out .',
  );
  assert.equal(
    recordedCommand(['gradeval', 'm.sbn.json', '--params', '/w/ref/c.json#chk-100'], '/w/main'),
    'sbn gradeval m.sbn.json --params ../ref/c.json#chk-100',
  );
});

test('bad input to sbn experiment gradacc: one line, exit code 2', () => {
  expectBadInput(
    ['--draws', 'x'],
    /--draws: expected a positive whole number in decimal digits \(such as 10\), got "x"/,
  );
  expectBadInput(['--epochs', '0'], /--epochs: expected a positive whole number in decimal digits/);
  expectBadInput(['--seed', '-1'], /--seed/);
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-gradacc-empty-'));
  expectBadInput(['--authors', empty], /--authors: .*gradeval_checkpoints\.json: file not found/);
  expectBadInput(['--authors', path.join(empty, 'nope')], /--authors: .*nope: folder not found/);
});
