// TensorBoard event files of a run folder: SBN Studio's own writer of the public format (docs/run-format.md).
export * from './events';
export * from './fromMetrics';
export * from './tfrecord';
export * from './writer';
