// How much memory a model needs to train, estimated from its file before anything is allocated, so that a model
// too large for the machine is refused with a line naming the field to change (rather than failing inside
// TensorFlow, or being killed by the system). One estimate for the CLI and the editor's diagnostics.
import { ESTIMATORS, type EstimatorName } from '../../estimators';
import { layerGeometry, shapeSize } from './geometry';
import { TRAIN_DEFAULTS } from './model';
import type { ModelSpec } from './types';
import type { Segment } from './sourceMap';

const FLOAT = 4;
/**
 * Per parameter: its value, its gradient, a temporary of the update and the optimiser's state (one tensor for SGD
 * with momentum, two for Adam), all float32; and the checkpoint, which holds it as base64 text (16/3 bytes) beside
 * its bytes.
 */
const PARAMETER_BYTES = (optimizerStates: number) => FLOAT * (3 + optimizerStates) + 10;
/**
 * Per unit and row of a training step (batch × samples rows): pre-activation, probability, state and gradients of
 * the forward and backward passes; estimators that take two forward passes (ARM) or keep moments (ADF, PSA's
 * ratio convolution, local reparameterisation) hold about twice as much.
 */
function stepFloatsPerUnit(estimator: string): number {
  const info = ESTIMATORS[estimator as EstimatorName];
  if (!info) return 12;
  const twoPasses = estimator === 'arm' || estimator === 'disarm';
  return info.family === 'path-sample-analytic' || info.family === 'moment-propagation' || twoPasses ? 12 : 6;
}
/** Per unit and row of an evaluation pass (forward only): pre-activation, probability, state, noise. */
const EVAL_FLOATS_PER_UNIT = 4;
/**
 * Bound on rows × flips × classes of the evaluation's flip-averaged last layer held at once (src/engine/train/
 * evaluate.ts works in chunks of this): memory, and the work between two checks for Stop during training (2^21:
 * 0.3–1.3 s per chunk for the Fashion conv example on 2 cores shared with a dozen processes, 2^23: 1–2.5 s).
 */
export const EVAL_FLIP_ELEMENTS = 1 << 21;
/**
 * A checkpoint is one JSON text, and a JavaScript string holds at most 2^29 − 24 characters: with base64's 16/3
 * characters per float32 parameter, about 10^8 parameters fit.
 */
export const MAX_PARAMETERS = 100_000_000;

export interface MemoryEstimate {
  /** Bytes in all, and the parts. */
  bytes: number;
  parameters: number;
  parameterBytes: number;
  stepBytes: number;
  evalBytes: number;
  /** The field to change when the estimate is too large: the largest part's. */
  blame: Segment[];
  /** The size field of the layer with the most parameters. */
  largestLayer: Segment[];
}

/** The training memory of a model with its train section (defaults where it has none). */
export function estimateMemory(model: ModelSpec): MemoryEstimate {
  const geometry = layerGeometry(model);
  const train = model.train;
  const parameters = geometry.reduce((sum, g) => sum + g.params, 0);
  const units = shapeSize(model.input.shape) + geometry.reduce((sum, g) => sum + shapeSize(g.outShape), 0);
  const optimizerStates = train?.optimizer?.type === 'adam' ? 2 : 1;
  const parameterBytes = parameters * PARAMETER_BYTES(optimizerStates);
  const batch = train?.batchSize ?? TRAIN_DEFAULTS.batchSize;
  const samples = train?.samples ?? TRAIN_DEFAULTS.samples;
  const stepBytes = batch * samples * units * FLOAT * stepFloatsPerUnit(train?.estimator ?? 'psa');
  const evalSamples = train?.evalSamples ?? TRAIN_DEFAULTS.evalSamples;
  const evalBytes = evalSamples * units * FLOAT * EVAL_FLOATS_PER_UNIT + EVAL_FLIP_ELEMENTS * FLOAT * 3;
  // The part to blame: the largest layer for the parameters, the batch or samples for a step, evalSamples.
  const largest = geometry.reduce((a, b) => (b.params > a.params ? b : a));
  const layerField: Segment[] =
    largest.index < 0 ? ['output', 'units'] : ['layers', largest.index, largest.type === 'conv' ? 'filters' : 'units'];
  const parts: Array<[number, Segment[]]> = [
    [parameterBytes, layerField],
    [
      stepBytes,
      train?.samples !== undefined && train.samples > 1
        ? ['train', 'samples']
        : train?.batchSize !== undefined
          ? ['train', 'batchSize']
          : layerField,
    ],
    [evalBytes, train?.evalSamples !== undefined ? ['train', 'evalSamples'] : layerField],
  ];
  const blame = parts.reduce((a, b) => (b[0] > a[0] ? b : a))[1];
  return {
    bytes: parameterBytes + stepBytes + evalBytes,
    parameters,
    parameterBytes,
    stepBytes,
    evalBytes,
    blame,
    largestLayer: layerField,
  };
}

/** `1.5 GB`, `300 MB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return `${bytes} bytes`;
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let v = bytes;
  let k = 0;
  while (v >= 1000 && k < units.length - 1) {
    v /= 1000;
    k++;
  }
  return k === units.length - 1 && v >= 1000
    ? `${bytes.toExponential(1)} bytes`
    : `${v < 10 && k > 0 ? v.toFixed(1) : Math.round(v)} ${units[k]}`;
}

/**
 * Why a model cannot train on a machine with `availableBytes` of memory, with the field to change; undefined when
 * it fits. A model beyond MAX_PARAMETERS is refused on any machine (its checkpoint could not be written).
 */
export function memoryProblem(
  model: ModelSpec,
  availableBytes: number,
): { path: Segment[]; message: string } | undefined {
  const e = estimateMemory(model);
  if (e.parameters > MAX_PARAMETERS) {
    return {
      path: e.largestLayer,
      message:
        `the model has ${e.parameters.toPrecision(3)} parameters, more than the ${MAX_PARAMETERS.toExponential(0)} ` +
        'a checkpoint can hold; use fewer units or filters',
    };
  }
  if (e.bytes <= availableBytes) return undefined;
  const parts =
    `parameters ${formatBytes(e.parameterBytes)}, a training step ${formatBytes(e.stepBytes)}, ` +
    `evaluation ${formatBytes(e.evalBytes)}`;
  return {
    path: e.blame,
    message:
      `training this model needs about ${formatBytes(e.bytes)} of memory (${parts}), ` +
      `more than this machine's ${formatBytes(availableBytes)}; ` +
      'use fewer units or filters, a smaller batchSize, or fewer samples',
  };
}
