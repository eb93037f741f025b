// test-backends: one
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { exactGradient, ExactTooLargeError } from '../../src/engine/estimators/exact';
import { exactCost } from '../../src/engine/estimators/exactCost';
import type { LayerValues } from '../../src/engine/model/network';
import { GRADEVAL_MODEL, denseModel, gradevalData, randomProblem, relativeError } from './helpers/fixtures';

for (const chk of ['chk-1', 'chk-100']) {
  test(`exact reproduces the authors' expected loss and gradient at ${chk}`, () => {
    const data = gradevalData();
    const c = data.checkpoints[chk];
    const r = exactGradient(GRADEVAL_MODEL, c.layers, data.X, data.Y);
    // Our values are float64 on float32-stored weights; the reference was computed the same way.
    assert.ok(Math.abs(r.loss - c.exact_expected_loss) < 1e-6, `loss ${r.loss} vs ${c.exact_expected_loss}`);
    r.layers.forEach((g, k) => {
      const err = relativeError(g, c.exact_grad[k]);
      assert.ok(err < 1e-5, `layer ${k}: relative error ${err}`);
    });
  });
}

function lossOf(spec: Parameters<typeof exactGradient>[0], values: LayerValues[], X: number[][], Y: number[]): number {
  return exactGradient(spec, values, X, Y).loss;
}

for (const states of ['pm1', '01'] as const) {
  for (const loss of ['logistic', 'nll'] as const) {
    for (const noise of ['logistic', 'normal'] as const) {
      test(`exact gradient = central finite differences (${states}, ${loss}, ${noise} noise)`, () => {
        const spec = denseModel(3, [3, 4, 2], loss === 'logistic' ? 1 : 3, states, loss, noise);
        const { values, X, Y } = randomProblem(spec, 7, 11, 1.5);
        const r = exactGradient(spec, values, X, Y);
        const h = 1e-5;
        values.forEach((layer, k) => {
          const fd: number[] = [];
          const params: [number[], number][] = [];
          (layer.weight as number[][]).forEach((row) => row.forEach((_, i) => params.push([row, i])));
          layer.bias.forEach((_, j) => params.push([layer.bias, j]));
          for (const [arr, i] of params) {
            const keep = arr[i];
            arr[i] = keep + h;
            const up = lossOf(spec, values, X, Y);
            arr[i] = keep - h;
            const down = lossOf(spec, values, X, Y);
            arr[i] = keep;
            fd.push((up - down) / (2 * h));
          }
          // normal noise uses an erfc approximation good to ~1e-7 relative, which bounds the agreement
          const tol = noise === 'normal' ? 2e-3 : 1e-6;
          const err = relativeError(r.layers[k], fd);
          assert.ok(err < tol, `layer ${k}: relative error ${err}`);
        });
      });
    }
  }
}

test('exact refuses enumerations that are too large, naming the limit', () => {
  const spec = denseModel(784, [512, 512], 10, 'pm1', 'nll');
  const cost = exactCost(spec, 64);
  assert.match(cost.refusal ?? '', /limits are/);
  assert.throws(() => exactGradient(spec, [], [], []), ExactTooLargeError);
});
