// The typed messages between the extension host and its worker processes (one job each: train, resume, compare,
// evaluate, preview, environment; src/extension/worker/worker.ts), and their validators: each side checks what it
// receives (parseWorkerRequest, parseWorkerEvent), so a malformed message is rejected with a line naming the field
// instead of failing somewhere downstream. The webview panels have theirs in src/webviewProtocol/. Both sides import
// this module and nothing else of each other.
import { ENVIRONMENT_REPORT_SCHEMA, type EnvironmentReport } from './environmentReport';
import type { EstimatorComparisonView, RunEvaluationView } from './webviewProtocol/results';
import {
  array,
  count,
  EVAL_SPLITS,
  flag,
  measured,
  object,
  oneOf,
  optional,
  show,
  text,
  type EvalSplit,
  type Schema,
} from './engine/runs/records';

const BACKEND_PREFERENCES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];

export interface TrainOverrides {
  estimator?: string;
  epochs?: number;
  lr?: number | 'search';
  seed?: number;
}

/** Host → worker. A worker runs one job, then exits; `stop` asks it to checkpoint and finish early. */
export type WorkerRequest =
  /**
   * `diagnosticsInterval`: gradient diagnostics every so many steps when the model file has no `diagnostics` section
   * (the setting sbn.diagnostics.interval; 0 or absent: the model file decides).
   */
  | {
      type: 'train';
      modelFile: string;
      modelText: string;
      overrides: TrainOverrides;
      runsRoot: string;
      backend: BackendPreference;
      diagnosticsInterval?: number;
      /** The editor action that started the run, recorded in its environment.json (`provenance.startedBy`). */
      startedBy?: string;
    }
  | { type: 'resume'; runDir: string; backend: BackendPreference }
  | {
      type: 'compare';
      modelFile: string;
      modelText: string;
      estimators: string[];
      draws: number;
      backend: BackendPreference;
    }
  | {
      type: 'evaluate';
      runDir: string;
      samples: number;
      split: 'test' | 'validation' | 'train' | 'auto';
      backend: BackendPreference;
    }
  /** Model preview: per-layer gradient variance / SNR of a few estimators on one small batch (answers `preview`). */
  | {
      type: 'preview';
      modelFile: string;
      modelText: string;
      estimators: string[];
      draws: number;
      backend: BackendPreference;
    }
  /** SBN: Show Environment: the environment report (answers `environment`, then exits). */
  | { type: 'environment'; sbnVersion: string; backend: BackendPreference; runsFolders: string[] }
  /**
   * SBN: Run Sweep: run the unfinished points of a sweep folder (made by the host) on `jobs` sweep worker processes,
   * as `sbn sweep --resume` does; `stop` stops every point with a checkpoint and leaves the sweep resumable.
   */
  | { type: 'sweep'; sweepDir: string; jobs: number; backend: BackendPreference }
  | { type: 'stop' };

export interface EvalMetrics {
  u_loss: number;
  acc1: number;
  acc_e: number;
  entropy: number;
}

/** Worker → host. */
export type WorkerEvent =
  | {
      type: 'started';
      job: 'train' | 'resume' | 'compare' | 'evaluate' | 'preview' | 'sweep';
      backend: string;
      runDir?: string;
      estimator?: string;
      description: string;
    }
  | {
      type: 'step';
      step: number;
      epoch: number;
      loss: number;
      lr: number;
      samplesPerSecond: number;
      totalSteps: number;
      stepsPerEpoch: number;
    }
  | ({ type: 'eval'; split: EvalSplit; step: number; epoch: number } & EvalMetrics)
  | { type: 'epoch'; step: number; epoch: number; loss: number; seconds: number }
  | { type: 'message'; text: string }
  | { type: 'done'; status: 'finished' | 'stopped' | 'diverged'; runDir?: string; message?: string }
  | { type: 'error'; message: string; userError: boolean }
  /** The model preview's gradient statistics (then `done`). */
  | { type: 'preview'; result: PreviewGradients }
  /** Compare Estimators' result (then `done`): what its panel shows. */
  | { type: 'estimatorComparison'; view: EstimatorComparisonView }
  /** Evaluate Run's result (then `done`): what its panel shows. */
  | { type: 'runEvaluation'; view: RunEvaluationView }
  /** The environment report (then `done`). */
  | { type: 'environment'; report: EnvironmentReport };

/**
 * Per layer and estimator: trace of the covariance of one draw, SNR = ‖mean‖²/variance, cosine of one draw to the
 * reference.
 */
export interface PreviewGradients {
  reference: 'exact' | 'unbiased-mean';
  layers: string[];
  draws: number;
  /** What the statistics were computed on (network at initialisation, which batch). */
  note: string;
  seconds: number;
  estimators: {
    estimator: string;
    seconds: number;
    layers: { name: string; variance: number; snr: number; bias: number; cos1: number }[];
  }[];
}

// ------------------------------------------------------------------------------------------------ validation

/**
 * A value as it crosses the IPC channel: Node serialises messages as JSON, which has no NaN or ±∞, so a number that
 * was not finite (the loss of a diverging step) arrives as null.
 */
type Wire<T> = T extends number
  ? number | null
  : T extends readonly (infer E)[]
    ? Wire<E>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

/**
 * One schema per field of each message type, besides `type`; optional fields have optional schemas. The schemas
 * check the shape of a message; the values (an epoch count of 0, an unknown estimator) are the job's to judge, with
 * the messages a user gets for them.
 */
type Shapes<U extends { type: string }> = {
  [T in U['type']]: {
    [K in Exclude<keyof Extract<U, { type: T }>, 'type'>]-?: undefined extends Extract<U, { type: T }>[K]
      ? Schema<Wire<Extract<U, { type: T }>[K]>> & { optional: true }
      : Schema<Wire<Extract<U, { type: T }>[K]>>;
  };
};

const learningRate: Schema<number | 'search'> = {
  optional: false,
  check: (v, at) => (v === 'search' ? null : count.check(v, at) && `"${at}" must be a finite number or "search"`),
};
const backend = oneOf(BACKEND_PREFERENCES);
const modelFields = { modelFile: text, modelText: text };

const REQUEST_SHAPES: Shapes<WorkerRequest> = {
  train: {
    ...modelFields,
    overrides: object({
      estimator: optional(text),
      epochs: optional(count),
      lr: optional(learningRate),
      seed: optional(count),
    }),
    runsRoot: text,
    backend,
    diagnosticsInterval: optional(count),
    startedBy: optional(text),
  },
  resume: { runDir: text, backend },
  compare: { ...modelFields, estimators: array(text), draws: count, backend },
  evaluate: { runDir: text, samples: count, split: oneOf([...EVAL_SPLITS, 'auto'] as const), backend },
  preview: { ...modelFields, estimators: array(text), draws: count, backend },
  environment: { sbnVersion: text, backend, runsFolders: array(text) },
  sweep: { sweepDir: text, jobs: count, backend },
  stop: {},
};

/**
 * The environment report is checked as far as the host relies on it without looking (its format and the lists it
 * walks); the panel that shows it reads every other field defensively.
 */
const environmentReport: Schema<EnvironmentReport> = {
  optional: false,
  check: (v, at) =>
    object({
      schema: oneOf([ENVIRONMENT_REPORT_SCHEMA] as const),
      sbnVersion: text,
      backends: array(object({})),
      datasets: array(object({})),
    }).check(v, at),
};

const EVENT_SHAPES: Shapes<WorkerEvent> = {
  started: {
    job: oneOf(['train', 'resume', 'compare', 'evaluate', 'preview', 'sweep'] as const),
    backend: text,
    runDir: optional(text),
    estimator: optional(text),
    description: text,
  },
  step: {
    step: count,
    epoch: count,
    loss: measured,
    lr: measured,
    samplesPerSecond: measured,
    totalSteps: count,
    stepsPerEpoch: count,
  },
  eval: {
    split: oneOf(EVAL_SPLITS),
    step: count,
    epoch: count,
    u_loss: measured,
    acc1: measured,
    acc_e: measured,
    entropy: measured,
  },
  epoch: { step: count, epoch: count, loss: measured, seconds: measured },
  message: { text },
  done: {
    status: oneOf(['finished', 'stopped', 'diverged'] as const),
    runDir: optional(text),
    message: optional(text),
  },
  error: { message: text, userError: flag },
  preview: {
    result: object({
      reference: oneOf(['exact', 'unbiased-mean'] as const),
      layers: array(text),
      draws: count,
      note: text,
      seconds: measured,
      estimators: array(
        object({
          estimator: text,
          seconds: measured,
          layers: array(object({ name: text, variance: measured, snr: measured, bias: measured, cos1: measured })),
        }),
      ),
    }),
  },
  estimatorComparison: {
    view: object({
      model: text,
      reference: text,
      exactReference: flag,
      referenceError: array(measured),
      referenceDraws: count,
      draws: count,
      M: array(count),
      layers: array(text),
      estimators: array(
        object({
          estimator: text,
          seconds: measured,
          secondsPerDraw: measured,
          layers: array(
            object({
              layer: text,
              cos: array(measured),
              cosLow: array(measured),
              cosHigh: array(measured),
              rmse: array(measured),
              rmseLow: array(measured),
              rmseHigh: array(measured),
              variance: measured,
              snr: measured,
              bias: measured,
            }),
          ),
        }),
      ),
      note: text,
      markdown: text,
    }),
  },
  runEvaluation: {
    view: object({
      run: text,
      model: text,
      estimator: text,
      split: oneOf(EVAL_SPLITS),
      examples: count,
      step: count,
      epoch: count,
      backend: text,
      ensemble: array(measured),
      acc1: measured,
      accE: measured,
      metricSamples: count,
      uLoss: measured,
      entropy: measured,
      file: text,
      markdown: text,
    }),
  },
  environment: { report: environmentReport },
};

export type Parsed<T> = { ok: true; message: T } | { ok: false; error: string };

function parseMessage<U extends { type: string }>(what: string, shapes: Shapes<U>, m: unknown): Parsed<U> {
  if (typeof m !== 'object' || m === null || Array.isArray(m) || typeof (m as { type?: unknown }).type !== 'string')
    return { ok: false, error: `${what}: expected an object with a string "type", got ${show(m)}` };
  const type = (m as { type: string }).type;
  if (!Object.hasOwn(shapes, type)) {
    const known = Object.keys(shapes).map((t) => `"${t}"`);
    return { ok: false, error: `${what}: unknown type ${show(type)} (expected one of ${known.join(', ')})` };
  }
  // fields a message type does not have are left alone, as in the run records
  const wrong = object(shapes[type as U['type']] as Record<string, Schema<unknown>>).check(m, '');
  return wrong ? { ok: false, error: `${what} "${type}": ${wrong}` } : { ok: true, message: m as U };
}

/** Checks a message the worker received from the host. */
export function parseWorkerRequest(m: unknown): Parsed<WorkerRequest> {
  return parseMessage('worker request', REQUEST_SHAPES, m);
}

/** Checks a message the host received from a worker. */
export function parseWorkerEvent(m: unknown): Parsed<WorkerEvent> {
  return parseMessage('worker event', EVENT_SHAPES, m);
}

export function isWorkerEvent(m: unknown): m is WorkerEvent {
  return parseWorkerEvent(m).ok;
}
