// CIFAR-10 in its canonical binary form (cifar-10-binary.tar.gz): data_batch_1..5.bin and test_batch.bin,
// each a sequence of 3073-byte records: 1 label byte, then the 32×32 R, G and B planes (row-major). That is
// already the channel-major [3, 32, 32] layout the engine uses, so a record's pixels are copied as they are.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUILT_IN_DATASETS } from './builtIn';
import { DataError, RawData, RawSplit } from './types';

export const CIFAR_SHAPE = [...BUILT_IN_DATASETS.cifar10.shape];
const PIXELS = 3 * 32 * 32;
const RECORD = 1 + PIXELS;

/** Reads one batch file; a size that is not a whole number of records is reported with the file's name. */
export function readCifarBatch(file: string): RawSplit {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new DataError('data.path', `cannot read ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new DataError(
      'data.path',
      `${file} is not a CIFAR-10 batch: ${bytes.length} bytes is not a whole number of ${RECORD}-byte records ` +
        '(truncated?)',
    );
  }
  const n = bytes.length / RECORD;
  const x = new Uint8Array(n * PIXELS);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const label = bytes[i * RECORD];
    if (label > 9) throw new DataError('data.path', `${file}: record ${i} has label ${label}, expected 0..9`);
    y[i] = label;
    x.set(bytes.subarray(i * RECORD + 1, (i + 1) * RECORD), i * PIXELS);
  }
  return { x, y, n };
}

function concat(splits: RawSplit[]): RawSplit {
  const n = splits.reduce((a, s) => a + s.n, 0);
  const x = new Uint8Array(n * PIXELS);
  const y = new Float32Array(n);
  let k = 0;
  for (const s of splits) {
    x.set(s.x, k * PIXELS);
    y.set(s.y, k);
    k += s.n;
  }
  return { x, y, n };
}

/**
 * Reads the training batches data_batch_1.bin, data_batch_2.bin, … (consecutive, up to 5) and test_batch.bin
 * when present. `dir` may also be the folder that contains the extracted `cifar-10-batches-bin/`.
 */
export function readCifar10(dir: string): RawData {
  const nested = path.join(dir, 'cifar-10-batches-bin');
  const folder = !fs.existsSync(path.join(dir, 'data_batch_1.bin')) && fs.existsSync(nested) ? nested : dir;
  const batches: RawSplit[] = [];
  for (let b = 1; b <= 5 && fs.existsSync(path.join(folder, `data_batch_${b}.bin`)); b++) {
    batches.push(readCifarBatch(path.join(folder, `data_batch_${b}.bin`)));
  }
  if (batches.length === 0) {
    throw new DataError(
      'data.path',
      `${folder} has no data_batch_1.bin: expected the CIFAR-10 binary version (data_batch_1..5.bin, test_batch.bin)`,
    );
  }
  const testFile = path.join(folder, 'test_batch.bin');
  const test = fs.existsSync(testFile) ? readCifarBatch(testFile) : undefined;
  return {
    shape: CIFAR_SHAPE,
    train: concat(batches),
    test,
    classes: BUILT_IN_DATASETS.cifar10.classes,
    source: `cifar10 (${folder})`,
  };
}
