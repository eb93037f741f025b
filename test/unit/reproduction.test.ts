// test-backends: each
// Test 5 of the engine-core issue: our Experiment 1 at chk-100 reproduces the authors' published curves
// (reference/authors-psa-neurips2020/gradacc_curves.json) for every estimator of their figure at M = 1, 10, 100.
//
// Tolerance. Each of our values is a mean over T_ours = ⌊3000/M⌋ trials, each of theirs over
// T_auth = ⌊20000/M⌋ trials of the same quantity, so their difference has standard error
// sqrt(s²/T_ours + s²/T_auth), with s the spread over trials that we measure (of the cosine, or of the
// squared relative error, propagated to the RMSE by d√v = dv / (2√v)). We allow 4.5 of those standard errors
// (168 comparisons: a correct implementation fails with probability < 0.1%) plus the digitisation error of
// the published curves (3–4 significant digits: 0.002 absolute for the cosine, 1% for the RMSE).
// Deterministic estimators (tanh) and the bias floors of the biased ones have s ≈ 0 and are held to the
// digitisation error alone, so the test tells PSA from DSTE from tanh easily.
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/engine/backend';
import { networkFromValues, disposeNetwork } from '../../src/engine/model/network';
import { gradientAccuracy, type GradientAccuracyResult } from '../../src/engine/gradients/accuracy';
import { parseEstimatorList } from '../../src/cli/inputs';
import { AUTHORS_METHOD } from '../../src/cli/reference';
import { PAPER_ESTIMATORS } from '../../src/cli/commands/gradeval';
import { GRADEVAL_MODEL, gradevalCurves, gradevalData } from './helpers/fixtures';

const DRAWS = 3000;
const AUTHORS_DRAWS = 20000;
const Ms = [1, 10, 100];
const SIGMAS = 4.5;

let result: GradientAccuracyResult;

before(async () => {
  await initBackend();
  const data = gradevalData();
  const net = networkFromValues(GRADEVAL_MODEL, data.checkpoints['chk-100'].layers);
  result = gradientAccuracy(net, data, parseEstimatorList(PAPER_ESTIMATORS), { draws: DRAWS, seed: 1, M: Ms });
  disposeNetwork(net);
});

test('the exact expected loss at chk-100 is the published 0.683868', () => {
  assert.equal(result.referenceGradient.kind, 'exact');
  assert.ok(Math.abs((result.exactLoss ?? NaN) - 0.683868) < 1e-6);
});

const curves = gradevalCurves();
for (const label of Object.keys(AUTHORS_METHOD)) {
  test(`${label} matches the authors' chk-100 curves at M = 1, 10, 100 in every layer`, () => {
    const ours = result.estimators.find((e) => e.label === label);
    assert.ok(ours, `estimator ${label} missing`);
    const method = AUTHORS_METHOD[label];
    const failures: string[] = [];
    ours.layers.forEach((layer, k) => {
      Ms.forEach((M, i) => {
        const at = curves.M.indexOf(M);
        const theirCos = curves.curves[`chk-100/cos/layer${k}`][method][at];
        const theirRmse = curves.curves[`chk-100/rmse/layer${k}`][method][at];
        const tOurs = layer.trials[i];
        const tAuth = Math.floor(AUTHORS_DRAWS / M);
        const spread = (s: number) => s * Math.sqrt(1 / tOurs + 1 / tAuth);
        const cosTol = SIGMAS * spread(layer.cosStd[i]) + 0.002;
        const rmse = layer.rmse[i];
        const rmseTol = (SIGMAS * spread(layer.sqErrStd[i])) / (2 * rmse * rmse) + 0.01; // relative
        if (Math.abs(layer.cos[i] - theirCos) > cosTol) {
          failures.push(
            `${layer.layer} M=${M} cos ${layer.cos[i].toFixed(4)} vs ${theirCos} (tol ${cosTol.toFixed(4)})`,
          );
        }
        if (Math.abs(rmse / theirRmse - 1) > rmseTol) {
          failures.push(
            `${layer.layer} M=${M} rmse ${rmse.toFixed(4)} vs ${theirRmse} (tol ${(100 * rmseTol).toFixed(1)}%)`,
          );
        }
      });
    });
    assert.deepEqual(failures, []);
  });
}

test('the tolerances are tight enough to tell PSA from DSTE and tanh in hidden layer 1', () => {
  const layer = (label: string) => result.estimators.find((e) => e.label === label)!.layers[0];
  const psa = layer('psa');
  const tol = (SIGMAS * psa.sqErrStd[0] * Math.sqrt(1 / DRAWS + 1 / AUTHORS_DRAWS)) / (2 * psa.rmse[0] ** 2) + 0.01;
  // published M=1 relative RMSE: PSA 0.158, DSTE 0.222, tanh 0.248
  assert.ok(tol < Math.abs(0.222 / 0.158 - 1) / 2, `relative tolerance ${tol}`);
  assert.ok(Math.abs(layer('dste').rmse[0] / 0.158 - 1) > 0.2);
});
