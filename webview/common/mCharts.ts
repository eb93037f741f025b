// The charts of values against the number of samples M that the Gradient Diagnostics and Estimator Comparison
// panels share: one spec, so both draw the 1/√M reference slope alike.
import { sqrtReferenceKey } from '../../src/gradientFigures';
import type { ChartSeriesSpec, ChartSpec } from './chart';

/** The relative-RMSE-against-M chart of one layer: the estimators' lines and the ∝ 1/√M reference (sqrtReference). */
export function rmseVsMChart(layer: string, series: ChartSeriesSpec[]): ChartSpec {
  return {
    id: `m-rmse-${layer}`,
    title: `${layer} · relative RMSE`,
    logX: true,
    logY: true,
    markers: true,
    xLabel: 'M (samples)',
    xName: 'M =',
    height: 190,
    series: [...series, { key: sqrtReferenceKey(layer), label: '∝ 1/√M', color: 'gray', dash: [2, 4], width: 1 }],
  };
}
