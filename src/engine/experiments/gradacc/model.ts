// The network of Experiment 1 (docs/math.md §3): the authors' 2-5-5-5-1 net on the 2-d toy data.
import type { ModelSpec } from '../../spec/types';

/** The 2-5-5-5-1 net of Experiment 1, as in examples/toy2d-gradeval.sbn.json. */
export const GRADACC_MODEL: ModelSpec = {
  name: 'gradeval-5-5-5',
  input: { shape: [2] },
  states: '01',
  noise: 'logistic',
  layers: [
    { type: 'dense', units: 5 },
    { type: 'dense', units: 5 },
    { type: 'dense', units: 5 },
  ],
  output: { units: 1, loss: 'logistic' },
};

/** Units per layer of GRADACC_MODEL, input first. */
export const GRADACC_SIZES = [2, 5, 5, 5, 1];

/** Weights and biases of GRADACC_MODEL: 15 + 30 + 30 + 6. */
export const GRADACC_PARAMETERS = GRADACC_SIZES.slice(1).reduce((sum, out, k) => sum + out * (GRADACC_SIZES[k] + 1), 0);
