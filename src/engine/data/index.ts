// Data sets for training: readers (IDX, MNIST, Fashion-MNIST, CIFAR-10, the paper's toy set, user files),
// loadDataset (checks against the model, split, scaling) and the batch iterator with FlipCrop.
export { DataError, DatasetMissingError } from './types';
export type { Split, RawSplit, RawData, LoadedData } from './types';
export { readIdx, encodeIdx } from './idx';
export type { IdxArray } from './idx';
export { readIdxFolder, findIdxFiles } from './idxFolder';
export { readMnist, readFashionMnist, missingDatasetMessage, FASHION_MNIST_DIR } from './mnist';
export {
  DATASET_CATALOG,
  STORED_DATASETS,
  DATA_DIR_ENV,
  DATA_MIRROR_ENV,
  dataStoreDirs,
  defaultDataDir,
  datasetLocations,
  locateDataset,
  isDatasetAt,
  isStoredDataset,
  storeFolder,
  datasetFilesDir,
} from './store';
export type { StoredDatasetName, DatasetLocation, DatasetCatalog, CatalogEntry, CatalogFile } from './store';
export { fetchDataset, FetchError, fetchErrorAdvice } from './fetch';
export type { FetchOptions, FetchProgress, FetchResult } from './fetch';
export { readCifar10, readCifarBatch, CIFAR_SHAPE } from './cifar10';
export { readToy2d } from './toy2d';
export { readUserFile, parseJsonData, parseCsvData } from './userFile';
export { labelMap } from './labels';
export type { LabelMap } from './labels';
export { splitIndices, validationCount, gather } from './split';
export type { SplitIndices } from './split';
export { scaleSplits } from './scale';
export type { Scaling } from './scale';
export { loadDataset } from './load';
export type { LoadOptions } from './load';
export { flipCrop, drawFlipCrop, FLIPCROP_PAD } from './augment';
export type { FlipCropDraw } from './augment';
export { BatchIterator } from './batches';
export type { Batch, BatchOptions, BatchIteratorState } from './batches';
