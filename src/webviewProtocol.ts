// The typed messages between the extension host and the SBN webview panels (training dashboard, gradient
// diagnostics, layer statistics). The host imports it (src/extension/panels/), and so do the webview scripts
// (webview/*.ts): it must stay free of Node, vscode and engine imports — except the types of the run folder's records
// (src/engine/runs/records.ts, which imports nothing), so that what the panels receive is what metrics.jsonl holds.
//
// The host owns the data (docs/testing.md, "Webview behaviour the panels rely on": a hidden webview without
// retainContextWhenHidden loses messages and reloads on reveal). A webview says `ready` whenever its page (re)loads or becomes visible,
// the host answers with a `snapshot` of everything that panel shows, then streams `delta`s (at most ~10 per second)
// and `runState` updates. Series are downsampled on the host (min-max per bucket, `sbn.maxPointsPerSeries`).

import type { PreviewGradients } from './protocol';
import type { EnvironmentReport } from './environmentReport';
import type {
  DiagnosticsMetricsRecord,
  EvalRecord,
  EvalSplit,
  LayerStatsEntry,
  RunStatus as RecordedStatus,
} from './engine/runs/records';

/** One series as sent: x is the optimizer step; y may hold null (NaN/∞ in metrics.jsonl, or a gap). */
export interface SeriesPayload {
  x: number[];
  y: (number | null)[];
}

/**
 * New points of one series: the webview truncates its copy of the series to `from` points, then appends `x`/`y`.
 * `from` is below the webview's length when the last (still open) downsampling bucket changed, and 0 when the whole
 * series was rebuilt (a coarser bucket size, or a resumed run that dropped recomputed steps).
 */
export interface SeriesDelta extends SeriesPayload {
  from: number;
}

/** A run's status.json `status`, or `unknown` when it cannot be read. */
export type RunStatus = RecordedStatus | 'unknown';

/** What the panel headers show. Every field but `runDir` and `name` may be missing (a run that just started). */
export interface RunState {
  runDir: string;
  name: string;
  status: RunStatus;
  statusDetail?: string;
  model?: string;
  estimator?: string;
  backend?: string;
  /** What ran, from environment.json: the backend in full (libtensorflow version, origin, devices) and the PSA kernels. */
  backendDetail?: string;
  kernels?: string;
  /** Fractional epoch of the last record. */
  epoch?: number;
  epochs?: number;
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

/** `activeRun`: the sidebar view (src/extension/panels/activeRunView.ts); `compare`: the Compare Runs panel. */
/** `report`: an experiment report (src/extension/panels/reportPanel.ts). */
export type PanelKind =
  'dashboard' | 'diagnostics' | 'layers' | 'activeRun' | 'compare' | 'preview' | 'environment' | 'report';

/** Data besides series, per panel kind. */
export interface PanelExtras {
  /** diagnostics panel: the latest pass and the number of passes so far. */
  latestDiagnostics?: DiagnosticsPass | null;
  diagnosticsPasses?: number;
  /** layers panel: pre-activation histograms over time, per hidden layer. */
  histograms?: HistogramTrack[];
}

export type HostToWebview =
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
  | { type: 'exported'; ok: boolean; file?: string; message?: string }
  /** Active-run view: no training job in this window (the empty state); `last` is the latest job's run, if any. */
  | { type: 'idle'; last?: { runDir: string; name: string; status: RunStatus } }
  /** Compare Runs panel: everything it shows (sent whole, throttled; x of every series is the epoch). */
  | { type: 'compare'; runs: CompareRun[]; series: Record<string, SeriesPayload> }
  /** Model preview panel: the followed model file's state (sent whole on every change). */
  | { type: 'preview'; state: ModelPreviewState }
  /** SBN: Show Environment: the report, or that it is being computed, or why it could not be. */
  | { type: 'environment'; state: EnvironmentViewState }
  /**
   * Experiment report panel: the result data of `sbn experiment gradacc | train` (src/engine/experiments/types.ts),
   * checked field by field by the host (src/report/data.ts). The page draws its strings as text, never as markup.
   */
  | { type: 'report'; data: ExperimentReportPayload };

/** What the environment panel shows (src/extension/panels/environmentPanel.ts). */
export interface EnvironmentViewState {
  status: 'computing' | 'done' | 'error';
  report?: EnvironmentReport;
  message?: string;
}

/** The report data as the protocol carries it (the page reads it as GradaccExperiment | TrainSuiteReport). */
export interface ExperimentReportPayload {
  format: 'sbn-experiment-gradacc' | 'sbn-experiment-train';
  version: number;
}

/** The model preview of one model file: its errors, or its layers and, once computed, small-batch gradient statistics. */
export interface ModelPreviewState {
  /** Workspace-relative path of the model file. */
  file: string;
  /** The model file's Uri (string): the page keeps it in its state, the serializer follows it after a reload. */
  fileUri?: string;
  /** Bumped on every change of the file's text. */
  version: number;
  /** Problems in the file (the preview then shows them instead of the model). */
  errors?: { message: string; line?: number; column?: number }[];
  model?: {
    name: string;
    estimator?: string;
    input: number[];
    layers: {
      name: string;
      type: string;
      inShape: number[];
      outShape: number[];
      params: number;
      binaryUnits: number;
    }[];
    params: number;
    binaryUnits: number;
  };
  gradients: { status: 'computing' | 'done' | 'error' | 'unavailable'; message?: string; result?: PreviewGradients };
}

/** One run of the Compare Runs panel; its series are `<index>/<key>` (index into `runs`, key as in SERIES). */
export interface CompareRun {
  runDir: string;
  name: string;
  estimator?: string;
  status: RunStatus;
  /** Best validation acc_e, final validation u_loss (the table). */
  bestValAccE?: number | null;
  lastValULoss?: number | null;
  epochs?: number;
}

/** Webview → host. */
export type WebviewToHost =
  /** The page (re)loaded or became visible: send a snapshot. */
  | { type: 'ready' }
  /** Stop this run's training (the header's Stop button). */
  | { type: 'stop' }
  /**
   * Save the charts as an image (`dataUrl`: image/png; `svg`: an SVG document built from the drawn data), or the
   * panel's series as CSV or JSON (those the host writes: it has the full resolution).
   */
  | { type: 'export'; format: 'png'; dataUrl: string; name: string }
  | { type: 'export'; format: 'svg'; svg: string; name: string }
  | { type: 'export'; format: 'csv' | 'json'; name: string }
  /** What the page drew after a message (for tests and the panel-state command): points per series. */
  | { type: 'rendered'; points: Record<string, number>; charts: number; extras?: Record<string, number> }
  /** A page error, forwarded to the extension's log. */
  | { type: 'error'; message: string }
  /** Active-run view buttons: open this run's dashboard, create a model file. */
  | { type: 'command'; command: 'openDashboard' | 'newModelFile' }
  /** Environment panel buttons: compute the report again; copy it as JSON (the host writes the clipboard). */
  | { type: 'environmentAction'; action: 'refresh' | 'copyJson' };

// ------------------------------------------------------------------------------------------------- series names
// Series keys: `<split>/<metric>` for evaluation metrics, otherwise a metric name. Diagnostics and layer statistics
// use `diag/…` and `layer/…` prefixes so that one store can serve every panel of a run.

export type { EvalSplit };
export const EVAL_SPLITS = ['train', 'validation', 'test'] as const satisfies readonly EvalSplit[];
export const EVAL_METRICS = ['u_loss', 'acc1', 'acc_e', 'entropy'] as const satisfies readonly (keyof EvalRecord)[];

export const SERIES = {
  /** The estimator's own training objective (`step.loss`). */
  objective: 'objective',
  /** Mean training objective over each epoch (`epoch.loss`). */
  epochObjective: 'epochObjective',
  lr: 'lr',
  samplesPerSecond: 'samplesPerSecond',
  stepsPerSecond: 'stepsPerSecond',
  evalKey: (split: EvalSplit, metric: (typeof EVAL_METRICS)[number]): string => `${split}/${metric}`,
  /** Gradient diagnostics over training at the smallest M: `diag/<metric>/<layer>/<estimator>`. */
  diagKey: (metric: 'cos' | 'rmse', layer: string, estimator: string): string => `diag/${metric}/${layer}/${estimator}`,
  /** Layer statistics: `layer/<stat>/<layer>`. */
  layerKey: (stat: LayerStat, layer: string): string => `layer/${stat}/${layer}`,
} as const;

export const LAYER_STATS = [
  'firingRate',
  'entropy',
  'preStd',
  'preMean',
  'saturated',
  'weightNorm',
  'gradNorm',
] as const satisfies readonly (keyof LayerStatsEntry)[];
export type LayerStat = (typeof LAYER_STATS)[number];

/** The sidebar's sparklines: the training objective and the validation acc_e. */
export const ACTIVE_RUN_SERIES: readonly string[] = [SERIES.objective, SERIES.evalKey('validation', 'acc_e')];
/** What Compare Runs overlays per run. */
export const COMPARE_SERIES: readonly string[] = [
  SERIES.objective,
  SERIES.evalKey('train', 'u_loss'),
  SERIES.evalKey('validation', 'u_loss'),
  SERIES.evalKey('train', 'acc_e'),
  SERIES.evalKey('validation', 'acc_e'),
];

/** Which series keys a panel kind shows. */
export function panelWants(panel: PanelKind, key: string): boolean {
  if (panel === 'activeRun') return ACTIVE_RUN_SERIES.includes(key);
  if (panel === 'compare') return COMPARE_SERIES.includes(key);
  if (panel === 'preview' || panel === 'environment' || panel === 'report') return false;
  if (panel === 'diagnostics') return key.startsWith('diag/');
  if (panel === 'layers') return key.startsWith('layer/');
  return !key.startsWith('diag/') && !key.startsWith('layer/');
}

/** Apply a delta to a series in place (the webview's side of the contract; also used by the unit tests). */
export function applySeriesDelta(target: SeriesPayload, d: SeriesDelta): void {
  const from = Math.max(0, Math.min(d.from, target.x.length));
  target.x.length = from;
  target.y.length = from;
  for (let i = 0; i < d.x.length; i++) {
    target.x.push(d.x[i]);
    target.y.push(d.y[i]);
  }
}

export function isWebviewMessage(m: unknown): m is WebviewToHost {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
