// How an estimator is drawn in every chart of the panels: its colour (src/estimators.ts, the same across panels, runs
// and reports; a spare colour for a name it does not know) and its dash by family (src/chartPalette.ts).
import { ESTIMATORS, isEstimatorName } from '../../src/estimators';
import { FAMILY_DASH } from '../../src/chartPalette';
import type { ColorName } from './theme';

const SPARE: ColorName[] = ['blue', 'orange', 'green', 'purple', 'red', 'yellow'];

/** The colour of the estimator `estimator`, the `i`-th of its chart. */
export function colorOf(estimator: string, i: number): ColorName {
  return isEstimatorName(estimator) ? ESTIMATORS[estimator].color : SPARE[i % SPARE.length];
}

/** The dash of the estimator's lines (none: solid). */
export const dashOf = (estimator: string): number[] | undefined =>
  isEstimatorName(estimator) ? FAMILY_DASH[ESTIMATORS[estimator].family] : undefined;
