// The fixed facts of the built-in data sets: the shape of one example (channel-major) and the classes its labels
// take. The readers (mnist.ts, cifar10.ts, toy2d.ts) produce data of these shapes, and the editor checks a model
// against them without reading any data (src/extension/language/analysis/data.ts).

export interface BuiltInDataset {
  shape: readonly number[];
  classes: number;
  /** 'classes': labels 0..classes−1; 'pm1': labels ±1 (two classes). */
  labels: 'classes' | 'pm1';
}

export const BUILT_IN_DATASETS: Readonly<Record<'mnist' | 'fashion-mnist' | 'cifar10' | 'toy-2d', BuiltInDataset>> = {
  mnist: { shape: [1, 28, 28], classes: 10, labels: 'classes' },
  'fashion-mnist': { shape: [1, 28, 28], classes: 10, labels: 'classes' },
  cifar10: { shape: [3, 32, 32], classes: 10, labels: 'classes' },
  'toy-2d': { shape: [2], classes: 2, labels: 'pm1' },
};
