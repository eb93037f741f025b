// The typed messages between the extension host and its training worker process (the webview panels have theirs in
// src/webviewProtocol/). Both sides import this module and nothing else of each other.
import type { EnvironmentReport } from './environmentReport';
import type { EvalSplit } from './engine/runs/records';

export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

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
      job: 'train' | 'resume' | 'compare' | 'evaluate' | 'preview';
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
  | { type: 'done'; status: 'finished' | 'stopped' | 'diverged'; runDir?: string; message?: string; report?: string }
  | { type: 'error'; message: string; userError: boolean }
  /** The model preview's gradient statistics (then `done`). */
  | { type: 'preview'; result: PreviewGradients }
  /** The environment report (then `done`). */
  | { type: 'environment'; report: EnvironmentReport };

/** Per layer and estimator: trace of the covariance of one draw, SNR = ‖mean‖²/variance, cosine of one draw to the reference. */
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

export function isWorkerEvent(m: unknown): m is WorkerEvent {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
