// The tiny training suite the `sbn experiment train` tests run (experimentTrain, experimentTrainSeeds): toy-2d on a
// dense 2-6-6-1 net, two epochs, a two-rate learning-rate grid (judged by the validation u_loss);
// and the environment their reports record.
import type { SuiteDefinition } from '../../../src/engine/experiments/trainSuite';
import type { ExperimentEnvironment } from '../../../src/engine/experiments/types';

export const TINY_SUITE: SuiteDefinition = {
  name: 'tiny',
  title: 'toy-2d, dense 2-6-6-1',
  description: 'the test suite',
  model: {
    name: 'tiny',
    input: { shape: [2] },
    states: 'pm1',
    noise: 'logistic',
    layers: [
      { type: 'dense', units: 6 },
      { type: 'dense', units: 6 },
    ],
    output: { units: 1, loss: 'logistic' },
    data: { dataset: 'toy-2d', validation: 40 },
    train: {
      estimator: 'psa',
      optimizer: { type: 'sgd', momentum: 0.9, nesterov: true },
      batchSize: 32,
      epochs: 2,
      evalSamples: 2,
      logInterval: 2,
      lr: { grid: { min: -2, max: -1, step: 1, trialEpochs: 1, extend: 0 } },
    },
  },
  testSamples: 4,
};

/** A report's environment with placeholders (the tests check the report, not the machine). */
export const TEST_ENVIRONMENT: ExperimentEnvironment = {
  created: new Date().toISOString(),
  backend: 'test',
  kernels: 'test',
  cpu: 'test',
  cpus: 1,
  node: process.version,
  platform: process.platform,
  command: 'test',
};
