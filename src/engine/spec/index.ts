// Model files (*.sbn.json, *.sbn.yaml): parsing, validation and the typed ModelSpec. Pure TypeScript, no vscode.
export type {
  DenseLayerSpec, LayerSpec, ModelSpec, NoiseKind, OutputLoss, OutputSpec, ParseResult, SpecError, StateCoding,
} from './types';
export { loadModelFile, modelFileFormat, parseModelText, type ModelFileFormat } from './parse';
export { formatSpecError } from './format';
export { binaryUnitCount, DEFAULT_NOISE, DEFAULT_STATES, hiddenLayerNames, parameterCount } from './model';
export { modelSchema } from './validate';
