// Model files (*.sbn.json, *.sbn.yaml): parsing, validation and the typed ModelSpec. Pure TypeScript, no vscode.
export type {
  ConvLayerSpec, DataSpec, DatasetName, DenseLayerSpec, FlattenLayerSpec, LayerSpec, LrSchedule, LrSearchSpec, LrSpec,
  ModelSpec, NoiseKind, OptimizerSpec, OutputLoss, OutputSpec, ParseResult, SpecError, SpecErrorKind, StateCoding, TrainSpec,
} from './types';
export { loadModelFile, modelFileFormat, parseModelText, type ModelFileFormat } from './parse';
export { formatSpecError } from './format';
export {
  binaryUnitCount, CONV_DEFAULTS, DATA_DEFAULTS, DEFAULT_NOISE, DEFAULT_STATES, DEFAULT_TAU, hiddenLayerNames,
  LR_SEARCH_DEFAULTS, OPTIMIZER_DEFAULTS, parameterCount, TRAIN_DEFAULTS, withDiagnosticsDefault,
} from './model';
export { convOutputSize, defaultLayerName, layerGeometry, type LayerGeometry } from './geometry';
export { modelSchema } from './validate';
