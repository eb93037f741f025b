// test-backends: one
// The log axes' tick labels (src/logTick.ts, webview/common/chart.ts): learning rates and losses as a user writes them.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { logTick } from '../../src/logTick';

test('log-axis ticks: plain decimals from 1e-4 to below 1e5, short exponents beyond', () => {
  const cases: [number, string][] = [
    [1e-4, '0.0001'],
    [2e-4, '0.0002'],
    [0.001, '0.001'],
    [0.5, '0.5'],
    [1, '1'],
    [5, '5'],
    [20, '20'],
    [10000, '10000'],
    [1e-5, '1e-5'],
    [5e-6, '5e-6'],
    [1e5, '1e5'],
    [2e7, '2e7'],
    // a tick uPlot computed by repeated multiplication keeps three significant digits
    [0.1 * 3, '0.3'],
    [1e-4 * 3, '0.0003'],
  ];
  for (const [v, label] of cases) assert.equal(logTick(v), label, String(v));
});
