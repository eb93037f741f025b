// A folder of MNIST-style IDX files, found by name: train-images*, train-labels*, and optionally
// t10k-images*/t10k-labels* (or test-*). Used for MNIST, Fashion-MNIST and user folders alike.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readIdx } from './idx';
import { DataError, RawData, RawSplit } from './types';

const PATTERNS = {
  trainImages: /^train[-_.]images/i,
  trainLabels: /^train[-_.]labels/i,
  testImages: /^(t10k|test)[-_.]images/i,
  testLabels: /^(t10k|test)[-_.]labels/i,
};

/** The four files of an IDX folder (test ones undefined when absent); null when it has no training pair. */
export function findIdxFiles(dir: string): Record<keyof typeof PATTERNS, string | undefined> | null {
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort(); // sorted: an uncompressed file wins over its .gz twin
  } catch {
    return null;
  }
  const pick = (re: RegExp) => {
    const name = names.find((n) => re.test(n));
    return name === undefined ? undefined : path.join(dir, name);
  };
  const files = {
    trainImages: pick(PATTERNS.trainImages),
    trainLabels: pick(PATTERNS.trainLabels),
    testImages: pick(PATTERNS.testImages),
    testLabels: pick(PATTERNS.testLabels),
  };
  return files.trainImages && files.trainLabels ? files : null;
}

function readPair(images: string, labels: string): { split: RawSplit; shape: number[] } {
  const img = readIdx(images);
  const lab = readIdx(labels);
  const n = img.dims[0];
  if (img.dims.length < 2 || img.dims.length > 4) {
    throw new DataError('data.path', `${images}: expected [n, H, W] images, got dims [${img.dims.join(', ')}]`);
  }
  if (n === 0)
    throw new DataError('data.path', `${images}: the file holds 0 images; a data set needs at least one example`);
  if (img.dims.slice(1).includes(0))
    throw new DataError('data.path', `${images}: images of size [${img.dims.slice(1).join(', ')}] have no pixels`);
  if (lab.dims[0] !== n || lab.data.length !== n) {
    throw new DataError(
      'data.path',
      `${labels}: ${lab.data.length} labels for ${n} images in ${path.basename(images)}`,
    );
  }
  // [n, H, W] is a one-channel image; [n, C, H, W] already channel-major; [n, d] a plain feature vector.
  const rest = img.dims.slice(1);
  const shape = rest.length === 2 ? [1, ...rest] : rest;
  return { split: { x: img.data, y: Float32Array.from(lab.data), n }, shape };
}

/** Reads the training (and, when present, test) pair of an IDX folder. */
export function readIdxFolder(dir: string, source = dir): RawData {
  const files = findIdxFiles(dir);
  if (!files) {
    throw new DataError('data.path', `${dir} has no train-images*/train-labels* IDX files`);
  }
  const train = readPair(files.trainImages!, files.trainLabels!);
  let test: RawSplit | undefined;
  if (files.testImages && files.testLabels) {
    const t = readPair(files.testImages, files.testLabels);
    if (t.shape.join() !== train.shape.join()) {
      throw new DataError(
        'data.path',
        `${files.testImages}: test images are [${t.shape.join(',')}], training images [${train.shape.join(',')}]`,
      );
    }
    test = t.split;
  }
  return { shape: train.shape, train: train.split, test, source };
}
