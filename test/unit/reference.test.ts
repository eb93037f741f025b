// test-backends: each
// The diagnostics reference where enumeration does not fit (src/engine/gradients/reference.ts): the mean of
// local-expectation draws is unbiased (within its reported standard error of the exact gradient), reaches its
// target error, and is reproducible from the seed when the clock is left out.
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/engine/backend';
import { networkFromValues, networkValues, disposeNetwork } from '../../src/engine/model/network';
import { exactGradient } from '../../src/engine/estimators/exact';
import { referenceGradientPass } from '../../src/engine/gradients/reference';
import { runToEnd } from '../../src/engine/passes';
import { denseModel, randomProblem } from './helpers/fixtures';

before(async () => {
  await initBackend();
});

test('a local-expectation reference is within its standard error of the exact gradient and meets its target', () => {
  const spec = denseModel(3, [5, 4], 3, 'pm1', 'nll');
  const { values, X, Y } = randomProblem(spec, 10, 13);
  const net = networkFromValues(spec, values);
  const exact = exactGradient(spec, networkValues(net), X, Y).layers;
  const options = { seed: 5, targetError: 0.03, budgetSeconds: Infinity, maxDraws: 20000, exact: false };
  const ref = runToEnd(referenceGradientPass(net, { X, Y }, options));
  assert.equal(ref.kind, 'local-expectation');
  assert.ok(ref.draws >= 8 && ref.draws < 20000, `draws ${ref.draws}`);
  ref.relativeError.forEach((e, k) => {
    assert.ok(e <= 0.03, `layer ${k}: relative standard error ${e}`);
    // ‖mean − exact‖² has expectation meanVariance: a chi-square-like sum, well below 4× its mean
    let d2 = 0;
    for (let i = 0; i < exact[k].length; i++) d2 += (ref.layers[k][i] - exact[k][i]) ** 2;
    assert.ok(d2 < 4 * ref.meanVariance[k] + 1e-12, `layer ${k}: ‖mean − exact‖² ${d2} vs ${ref.meanVariance[k]}`);
  });
  // the clock left out, the same seed gives the same reference
  const again = runToEnd(referenceGradientPass(net, { X, Y }, { ...options, ignoreClock: true }));
  assert.equal(again.draws, ref.draws);
  again.layers.forEach((l, k) => assert.deepEqual(l, ref.layers[k]));
  // enumeration where it fits
  const exactRef = runToEnd(referenceGradientPass(net, { X, Y }, { ...options, exact: true }));
  assert.equal(exactRef.kind, 'exact');
  assert.deepEqual(exactRef.relativeError, [0, 0, 0]);
  disposeNetwork(net);
});

test('a reference that cannot afford local expectation falls back to REINFORCE with a leave-one-out baseline', () => {
  const spec = denseModel(3, [5, 4], 3, '01', 'nll');
  const { values, X, Y } = randomProblem(spec, 10, 14);
  const net = networkFromValues(spec, values);
  const ref = runToEnd(
    referenceGradientPass(net, { X, Y }, { seed: 1, targetError: 0.5, budgetSeconds: 0, maxDraws: 200, exact: false }),
  );
  assert.equal(ref.kind, 'reinforce-loo');
  assert.ok(ref.draws >= 8 && ref.relativeError.every((e) => e > 0 && Number.isFinite(e)));
  disposeNetwork(net);
});
