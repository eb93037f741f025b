// The estimator registry: names as the CLI and model files spell them.
import { psa } from './psa';
import { dste, hardSt } from './straightThrough';
import { arm, reinforce } from './scoreFunction';
import { concrete, tanh, tanhDet } from './relaxations';
import { adf, localReparam } from './moments';
import { disarm } from './disarm';
import { muprop } from './muprop';
import { localExpectation } from './localExpectation';
import { gumbelRao, gumbelSt } from './gumbel';
import { reinmax } from './reinmax';
import type { Estimator, EstimatorName, EstimatorOptions } from './types';

export * from './types';

/** Sampling estimators as objects; `exact` is not one of them (it is computed by enumeration). */
export function createEstimator(name: Exclude<EstimatorName, 'exact'>, options: EstimatorOptions = {}): Estimator {
  switch (name) {
    case 'psa':
      return psa;
    case 'dste':
      return dste;
    case 'hard-st':
      return hardSt;
    case 'reinforce':
      return reinforce(options);
    case 'arm':
      return arm;
    case 'concrete':
      return concrete(options.tau ?? 1);
    case 'tanh':
      return options.activation === 'tanh' ? tanhDet : tanh;
    case 'adf':
      return adf;
    case 'local-reparam':
      return localReparam;
    case 'disarm':
      return disarm;
    case 'muprop':
      return muprop;
    case 'local-expectation':
      return localExpectation;
    case 'gumbel-st':
      return gumbelSt(options.tau);
    case 'gumbel-rao':
      return gumbelRao(options.tau, options.k);
    case 'reinmax':
      return reinmax;
  }
}
