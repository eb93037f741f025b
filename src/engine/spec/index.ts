// Model files (*.sbn.json, *.sbn.yaml): parsing, validation and the typed ModelSpec. Pure TypeScript, no vscode.
export type {
  ConvLayerSpec,
  DataSpec,
  DatasetName,
  DenseLayerSpec,
  FlattenLayerSpec,
  LayerSpec,
  LrGridSpec,
  LrSchedule,
  LrSearchSpec,
  LrSpec,
  ModelSpec,
  NoiseKind,
  OptimizerSpec,
  OutputLoss,
  OutputSpec,
  ParseResult,
  SpecError,
  SpecErrorKind,
  StateCoding,
  TanhActivation,
  TrainSpec,
} from './types';
export {
  loadModelFile,
  MAX_MODEL_FILE_BYTES,
  modelFileFormat,
  parseModelText,
  type ModelFileFormat,
  type ParseOptions,
} from './parse';
export { estimateMemory, formatBytes, MAX_PARAMETERS, memoryProblem, type MemoryEstimate } from './memory';
export { formatSpecError } from './format';
export {
  binaryUnitCount,
  CONV_DEFAULTS,
  DATA_DEFAULTS,
  DEFAULT_NOISE,
  DEFAULT_STATES,
  DEFAULT_TAU,
  DEFAULT_TANH_ACTIVATION,
  DEFAULT_GUMBEL_RAO_K,
  hiddenLayerNames,
  LR_GRID_DEFAULTS,
  LR_SEARCH_DEFAULTS,
  OPTIMIZER_DEFAULTS,
  parameterCount,
  TRAIN_DEFAULTS,
  withDiagnosticsDefault,
} from './model';
export { convOutputSize, defaultLayerName, layerGeometry, type LayerGeometry } from './geometry';
export { modelSchema, trainMaximum } from './validate';
