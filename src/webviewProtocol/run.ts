// The run pages: training dashboard, gradient diagnostics, layer statistics (src/extension/panels/runPanel.ts) and
// the sidebar's active-run view (activeRunView.ts). The host answers `ready` with a `snapshot` of everything that
// page shows, then streams `delta`s (at most ~10 per second) and `runState` updates.
import type { DiagnosticsMetricsRecord } from '../engine/runs/records';
import type { PanelKind, RunStatus } from './shared';
import type { SeriesDelta, SeriesPayload } from './series';

/** What the panel headers show. Every field but `runDir` and `name` may be missing (a run that just started). */
export interface RunState {
  runDir: string;
  /** The run's display name (meta.json), else its name (run.json). */
  name: string;
  /** The run's tags (meta.json). */
  tags?: string[];
  status: RunStatus;
  statusDetail?: string;
  model?: string;
  estimator?: string;
  backend?: string;
  /**
   * What ran, from environment.json: the backend in full (libtensorflow version, origin, devices) and the PSA
   * kernels.
   */
  backendDetail?: string;
  kernels?: string;
  /** Fractional epoch of the last record. */
  epoch?: number;
  epochs?: number;
  /** The learning rate when it is one fixed rate for the whole run (config.json); absent for a schedule or a search. */
  constantLr?: number;
  step?: number;
  totalSteps?: number;
  stepsPerSecond?: number;
  /** Seconds of training left at the recent step rate (running runs only). */
  etaSeconds?: number;
  /** Training wall time so far (metrics `elapsed`). */
  elapsed?: number;
  /** True when this window's worker trains the run, so Stop can reach it. */
  canStop: boolean;
  /** The latest evaluation per split (for the header). */
  lastEval?: Partial<
    Record<
      'train' | 'validation' | 'test',
      { acc_e: number | null; acc1: number | null; u_loss: number | null; step: number }
    >
  >;
}

/**
 * One gradient-diagnostics pass: a `diagnostics` record of metrics.jsonl (docs/run-format.md) without `kind`, `time`
 * and `elapsed`; `referenceError` (relative standard error of the reference per layer, 0 for exact) has 0 where
 * the record has null.
 */
export type DiagnosticsPass = Omit<DiagnosticsMetricsRecord, 'kind' | 'time' | 'elapsed' | 'referenceError'> & {
  referenceError: number[];
};

/** Histograms over time of one layer (a heatmap: one column per kept `layerStats` record). */
export interface HistogramTrack {
  layer: string;
  /** What is histogrammed: pre-activations, weights, or the units' firing rates over the batch. */
  kind: 'pre' | 'weight' | 'firing';
  /** Value range of the bins, common to every column (pre-activations [-8, 8], firing rates [0, 1], weights: the
   *  widest range seen so far — earlier columns are re-binned when it grows). */
  min: number;
  max: number;
  steps: number[];
  /** counts[i] has the bins of steps[i]. */
  counts: number[][];
}

/** Data besides series, per panel kind. */
export interface PanelExtras {
  /** diagnostics panel: the latest pass and the number of passes so far. */
  latestDiagnostics?: DiagnosticsPass | null;
  diagnosticsPasses?: number;
  /** layers panel: pre-activation histograms over time, per hidden layer. */
  histograms?: HistogramTrack[];
}

/** Host → a run page. */
export type RunHostMessage =
  | {
      type: 'snapshot';
      panel: PanelKind;
      run: RunState;
      series: Record<string, SeriesPayload>;
      extras: PanelExtras;
      maxPoints: number;
    }
  | { type: 'delta'; series: Record<string, SeriesDelta>; extras?: PanelExtras }
  | { type: 'runState'; run: RunState }
  /** Active-run view: no training job in this window (the empty state); `last` is the latest job's run, if any. */
  | { type: 'idle'; last?: { runDir: string; name: string; status: RunStatus } };

/** A run page → host. */
export type RunWebviewMessage =
  /** Stop this run's training (the header's Stop button). */
  | { type: 'stop' }
  /** Active-run view buttons: open this run's dashboard, create a model file. */
  | { type: 'command'; command: 'openDashboard' | 'newModelFile' };
