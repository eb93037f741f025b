// How an estimator is drawn in every chart of the panels: its colour (src/estimators.ts, the same across panels, runs
// and reports; a spare colour for a name it does not know) and its dash by family.
import { ESTIMATORS, isEstimatorName, type EstimatorInfo } from '../../src/estimators';
import type { ColorName } from './theme';

const SPARE: ColorName[] = ['blue', 'orange', 'green', 'purple', 'red', 'yellow'];

/** The colour of the estimator `estimator`, the `i`-th of its chart. */
export function colorOf(estimator: string, i: number): ColorName {
  return isEstimatorName(estimator) ? ESTIMATORS[estimator].color : SPARE[i % SPARE.length];
}

// relaxations dashed, moment propagation dotted: the deterministic-gradient families read apart from the sampling ones
const FAMILY_DASH: Partial<Record<EstimatorInfo['family'], number[]>> = {
  relaxation: [6, 3],
  'moment-propagation': [2, 3],
};

/** The dash of the estimator's lines (none: solid). */
export const dashOf = (estimator: string): number[] | undefined =>
  isEstimatorName(estimator) ? FAMILY_DASH[ESTIMATORS[estimator].family] : undefined;
