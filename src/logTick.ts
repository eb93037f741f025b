// The tick labels of the panels' and reports' log axes (webview/common/chart.ts, bars.ts), kept free of the DOM so
// that the unit tests read them directly.

/**
 * A log axis's tick label: plain decimals from 10⁻⁴ to below 10⁵ (0.0001, 0.5, 2000: a learning rate reads as it is
 * written in a model file), the shortest exponent form beyond (1e-6, 5e5).
 */
export function logTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e-4 && a < 1e5) return String(Number(v.toPrecision(3)));
  return v.toExponential().replace('e+', 'e');
}
