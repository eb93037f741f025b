// Shapes shared by the data readers, the loader and the batch iterator. Everything is typed arrays: the
// engine turns batches into tensors itself, so this folder needs neither tfjs nor vscode.

/**
 * A user-actionable problem with the data: one line that names the model field to change (`data.path`,
 * `input.shape`, `output.units`, …) and, for files, the resolved path. `field` repeats the field for editors
 * that point at it in the model file.
 */
export class DataError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** A built-in data set that is in none of the places the engine looks (store.ts datasetLocations). */
export class DatasetMissingError extends DataError {
  constructor(
    readonly dataset: string,
    message: string,
  ) {
    super('data.dataset', message);
  }
}

/** Examples as the engine consumes them: `x` is n × features row-major (images C,H,W), `y` one label each. */
export interface Split {
  x: Float32Array;
  y: Float32Array;
  n: number;
}

/** What a reader returns: pixel data stays bytes (0..255) until scaling; labels as stored in the source. */
export interface RawSplit {
  x: Uint8Array | Float32Array;
  y: Float32Array;
  n: number;
}

export interface RawData {
  /** Shape of one example: [C, H, W] for images, [features] otherwise. */
  shape: number[];
  train: RawSplit;
  test?: RawSplit;
  /** Class count fixed by the data set (10 for MNIST/CIFAR); undefined: derived from the labels. */
  classes?: number;
  /** Where the data came from, for logs: package and version or resolved path. */
  source: string;
}

export interface LoadedData {
  /** The data set name (`mnist`, …); for `file`, the file or folder name. */
  name: string;
  train: Split;
  validation?: Split;
  test?: Split;
  /** The model's input.shape the data was checked against (features = its product). */
  inputShape: number[];
  /** Classes the labels take: labels are 0..classes−1 (nll) or ±1 (logistic, classes = 2). */
  classes: number;
  source: string;
}
