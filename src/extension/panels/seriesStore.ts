// The host side of the panels' data: per run, every chart series built from its metrics records, downsampled for
// the webviews, and streamed as snapshot + deltas (src/webviewProtocol.ts).
//
//  - `minMaxDownsample` / `DownsampledSeries`: min-max downsampling to at most `maxPoints` points. Buckets are runs
//    of `b` consecutive points, b a power of two chosen so that two points per bucket fit; a completed bucket never
//    changes, so a live series only ever re-sends its last (open) bucket, and the whole series only when b doubles
//    (log₂(n/maxPoints) times in a run's life).
//  - `RunSeries`: records (metrics.jsonl kinds: step, eval, epoch, layerStats, diagnostics, resume) → series, the
//    latest gradient-diagnostics pass, pre-activation histograms over time and the facts a header shows; a `resume`
//    record drops what was written after its step (docs/run-format.md, Resume).
//  - `SeriesSubscriber`: what one panel has been sent; `snapshot()` and `delta()` reproduce the store's view exactly.
//  - `Throttle`: coalesces change notifications into at most one flush per interval (≤ 10 messages/s).
//  - `LiveRun` / `SeriesStore`: the run folder side — tails metrics.jsonl (`tailMetrics`) on a timer while panels
//    are open, faster while the run is running. No vscode import: the unit tests use all of it.
import * as path from 'node:path';
import {
  backendSummary,
  describeMetricsProblem,
  describeUnknownKind,
  readConfig,
  readEnvironment,
  readManifest,
  readStatus,
  tailMetrics,
  configFacts,
  environmentFacts,
  type DiagnosticsMetricsRecord,
  type MetricsRecord,
} from '../../engine/runs';
import {
  EVAL_METRICS,
  EVAL_SPLITS,
  LAYER_STATS,
  SERIES,
  panelWants,
  type DiagnosticsPass,
  type HistogramTrack,
  type HostToWebview,
  type PanelExtras,
  type PanelKind,
  type RunState,
  type RunStatus,
  type SeriesDelta,
  type SeriesPayload,
} from '../../webviewProtocol';

// ------------------------------------------------------------------------------------------------ downsampling

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * Points kept of the bucket [start, end): its minimum and its maximum (non-null y), in x order; one point when they
 * coincide; one null point when the bucket has no value (a gap). With `withLast`, the bucket's last point too (the
 * open bucket of a live series: the newest value stays visible).
 */
function bucketPoints(
  x: ArrayLike<number>,
  y: ArrayLike<number | null>,
  start: number,
  end: number,
  withLast: boolean,
  outX: number[],
  outY: (number | null)[],
): void {
  let iMin = -1;
  let iMax = -1;
  for (let i = start; i < end; i++) {
    const v = y[i];
    if (v === null) continue;
    if (iMin < 0 || v < (y[iMin] as number)) iMin = i;
    if (iMax < 0 || v > (y[iMax] as number)) iMax = i;
  }
  if (iMin < 0) {
    outX.push(x[start]);
    outY.push(null);
    return;
  }
  const idx = iMin === iMax ? [iMin] : iMin < iMax ? [iMin, iMax] : [iMax, iMin];
  if (withLast && idx[idx.length - 1] !== end - 1 && y[end - 1] !== null) idx.push(end - 1);
  for (const i of idx) {
    outX.push(x[i]);
    outY.push(y[i]);
  }
}

/** The bucket size for n points: 1 when they fit, else the smallest power of two giving ≤ (maxPoints−1)/2 buckets. */
export function bucketSize(n: number, maxPoints: number): number {
  if (n <= maxPoints) return 1;
  const maxBuckets = Math.max(1, Math.floor((maxPoints - 1) / 2));
  let b = 2;
  while (Math.ceil(n / b) > maxBuckets) b *= 2;
  return b;
}

/**
 * Min-max downsampling of (x, y) to at most `maxPoints` points: each bucket of `bucketSize(n, maxPoints)` consecutive
 * points keeps its minimum and maximum; a partial last bucket (a live series' open one) also keeps its last point. Nothing
 * changes when the series fits. O(n).
 */
export function minMaxDownsample(x: ArrayLike<number>, y: ArrayLike<number | null>, maxPoints: number): SeriesPayload {
  const n = x.length;
  const b = bucketSize(n, maxPoints);
  if (b === 1) return { x: Array.from(x), y: Array.from(y) };
  const out: SeriesPayload = { x: [], y: [] };
  for (let s = 0; s < n; s += b) bucketPoints(x, y, s, Math.min(n, s + b), s + b > n, out.x, out.y);
  return out;
}

/** A growing series and its downsampled view, kept up to date incrementally (amortised O(1) per point). */
export class DownsampledSeries {
  private xs: number[] = [];
  private ys: (number | null)[] = [];
  /** Points of the completed buckets (all points while b = 1). */
  private stableX: number[] = [];
  private stableY: (number | null)[] = [];
  private b = 1;
  /** Bumped whenever already-sent stable points change (rebucketing, truncation): subscribers re-send from 0. */
  version = 0;

  constructor(private maxPoints: number) {}

  get length(): number {
    return this.xs.length;
  }

  get raw(): { x: readonly number[]; y: readonly (number | null)[] } {
    return { x: this.xs, y: this.ys };
  }

  /** Number of view points that will not change until the next `version`. */
  get stableLength(): number {
    return this.stableX.length;
  }

  get lastX(): number | undefined {
    return this.xs[this.xs.length - 1];
  }

  push(x: number, y: number | null): void {
    this.xs.push(x);
    this.ys.push(y);
    const n = this.xs.length;
    const b = bucketSize(n, this.maxPoints);
    if (b !== this.b) {
      this.b = b;
      this.rebuild();
    } else if (b === 1) {
      this.stableX.push(x);
      this.stableY.push(y);
    } else if (n % b === 0) {
      bucketPoints(this.xs, this.ys, n - b, n, false, this.stableX, this.stableY);
    }
  }

  /** Drop the points with x > `maxX` (a resumed run recomputes them). */
  truncateAfter(maxX: number): boolean {
    let n = this.xs.length;
    while (n > 0 && this.xs[n - 1] > maxX) n--;
    if (n === this.xs.length) return false;
    this.xs.length = n;
    this.ys.length = n;
    this.b = bucketSize(n, this.maxPoints);
    this.rebuild();
    return true;
  }

  setMaxPoints(maxPoints: number): void {
    if (maxPoints === this.maxPoints) return;
    this.maxPoints = maxPoints;
    this.b = bucketSize(this.xs.length, maxPoints);
    this.rebuild();
  }

  private rebuild(): void {
    this.version++;
    this.stableX = [];
    this.stableY = [];
    const n = this.xs.length;
    if (this.b === 1) {
      this.stableX = this.xs.slice();
      this.stableY = this.ys.slice();
      return;
    }
    const complete = n - (n % this.b);
    for (let s = 0; s < complete; s += this.b)
      bucketPoints(this.xs, this.ys, s, s + this.b, false, this.stableX, this.stableY);
  }

  /** The view from point `from` on: stable points, then the open bucket's points. */
  viewFrom(from: number): SeriesPayload {
    const out: SeriesPayload = { x: this.stableX.slice(from), y: this.stableY.slice(from) };
    const n = this.xs.length;
    if (this.b > 1 && n % this.b !== 0) bucketPoints(this.xs, this.ys, n - (n % this.b), n, true, out.x, out.y);
    return out;
  }

  view(): SeriesPayload {
    return this.viewFrom(0);
  }
}

// ------------------------------------------------------------------------------------------- records → series

/** Facts about a run gathered from its records (for the panel header and the ETA). */
export interface RunFacts {
  step?: number;
  epoch?: number;
  elapsed?: number;
  stepsPerEpoch?: number;
  /** Steps per second over the last few step records. */
  stepsPerSecond?: number;
  lastEval: NonNullable<RunState['lastEval']>;
  diverged?: string;
}

const HIST_COLUMNS = 240;

/** All series of one run, built from its records in file order. Pure: no I/O. */
/**
 * Counts of `bins` equal bins over [fromMin, fromMax] moved onto `bins` equal bins over [toMin, toMax] ⊇ the source
 * range, each source bin shared between the target bins it overlaps in proportion to the overlap. Totals are kept.
 */
export function rebin(
  counts: number[],
  fromMin: number,
  fromMax: number,
  toMin: number,
  toMax: number,
  bins: number,
): number[] {
  const out = new Array<number>(bins).fill(0);
  const sw = (fromMax - fromMin) / counts.length;
  const tw = (toMax - toMin) / bins;
  if (!(sw > 0) || !(tw > 0)) return out;
  counts.forEach((c, j) => {
    if (!c) return;
    const a = fromMin + j * sw;
    const b = a + sw;
    for (let k = Math.max(0, Math.floor((a - toMin) / tw)); k < bins; k++) {
      const lo = toMin + k * tw;
      if (lo >= b) break;
      const overlap = Math.min(b, lo + tw) - Math.max(a, lo);
      if (overlap > 0) out[k] += (c * overlap) / sw;
    }
  });
  return out;
}

export class RunSeries {
  readonly series = new Map<string, DownsampledSeries>();
  readonly facts: RunFacts = { lastEval: {} };
  latestDiagnostics: DiagnosticsPass | null = null;
  diagnosticsPasses = 0;
  readonly histograms = new Map<string, HistogramTrack>();
  /** Bumped when extras (diagnostics, histograms) change. */
  extrasVersion = 0;
  /** (step, elapsed) of every step record: the step rate, and its state before a resume. */
  private stepTimes: { step: number; elapsed: number }[] = [];

  constructor(public maxPoints: number) {}

  setMaxPoints(maxPoints: number): void {
    this.maxPoints = maxPoints;
    for (const s of this.series.values()) s.setMaxPoints(maxPoints);
  }

  private add(key: string, x: number, y: unknown): void {
    let s = this.series.get(key);
    if (!s) {
      s = new DownsampledSeries(this.maxPoints);
      this.series.set(key, s);
    }
    s.push(x, num(y));
  }

  /** Feed records in file order. */
  ingest(records: readonly MetricsRecord[]): void {
    for (const r of records) this.ingestOne(r);
  }

  private ingestOne(r: MetricsRecord): void {
    const step = r.step;
    switch (r.kind) {
      case 'step': {
        this.add(SERIES.objective, step, r.loss);
        this.add(SERIES.lr, step, r.lr);
        this.add(SERIES.samplesPerSecond, step, r.samplesPerSecond);
        const elapsed = r.elapsed;
        const times = this.stepTimes;
        const prev = times[times.length - 1];
        if (prev && step > prev.step && elapsed > prev.elapsed)
          this.add(SERIES.stepsPerSecond, step, (step - prev.step) / (elapsed - prev.elapsed));
        times.push({ step, elapsed });
        const first = times[Math.max(0, times.length - 20)];
        if (step > first.step && elapsed > first.elapsed)
          this.facts.stepsPerSecond = (step - first.step) / (elapsed - first.elapsed);
        if (r.epoch > 0 && step > 0) this.facts.stepsPerEpoch = step / r.epoch;
        break;
      }
      case 'eval': {
        const split = r.split;
        for (const m of EVAL_METRICS) this.add(SERIES.evalKey(split, m), step, r[m]);
        this.facts.lastEval[split] = { acc_e: r.acc_e, acc1: r.acc1, u_loss: r.u_loss, step };
        break;
      }
      case 'epoch':
        this.add(SERIES.epochObjective, step, r.loss);
        break;
      case 'layerStats': {
        for (const l of r.layers) {
          for (const stat of LAYER_STATS)
            if (l[stat] !== undefined) this.add(SERIES.layerKey(stat, l.name), step, l[stat]);
          for (const [kind, field] of [
            ['pre', 'preHist'],
            ['weight', 'weightHist'],
            ['firing', 'firingHist'],
          ] as const) {
            const h = l[field];
            if (h && h.min !== null && h.max !== null)
              this.addHistogram(kind, l.name, step, { min: h.min, max: h.max, counts: h.counts });
          }
        }
        this.extrasVersion++;
        break;
      }
      case 'diagnostics': {
        const pass = toDiagnosticsPass(r);
        this.latestDiagnostics = pass;
        this.diagnosticsPasses++;
        for (const e of pass.estimators) {
          for (const l of e.layers) {
            this.add(SERIES.diagKey('cos', l.name, e.estimator), step, l.cos[0]);
            this.add(SERIES.diagKey('rmse', l.name, e.estimator), step, l.rmse[0]);
          }
        }
        this.extrasVersion++;
        break;
      }
      case 'diverged':
        this.facts.diverged = `${r.layer} ${r.message}`.trim();
        break;
      case 'resume':
        this.resumeAt(step);
        break;
      case 'lr-trial':
      case 'lr-chosen':
      case 'warning':
        break;
    }
    if (r.kind !== 'lr-trial' && r.kind !== 'lr-chosen') {
      this.facts.step = step;
      if ('epoch' in r) this.facts.epoch = r.epoch;
    }
    this.facts.elapsed = r.elapsed;
  }

  private addHistogram(
    kind: HistogramTrack['kind'],
    layer: string,
    step: number,
    h: { min: number; max: number; counts: number[] },
  ): void {
    const key = `${kind}/${layer}`;
    let t = this.histograms.get(key);
    if (!t) {
      t = { layer, kind, min: h.min, max: h.max, steps: [], counts: [] };
      this.histograms.set(key, t);
    }
    if (h.min < t.min || h.max > t.max) {
      // weights drift: widen the common range and re-bin the columns so far, keeping every count
      const min = Math.min(t.min, h.min);
      const max = Math.max(t.max, h.max);
      t.counts = t.counts.map((c) => rebin(c, t.min, t.max, min, max, c.length));
      t.min = min;
      t.max = max;
    }
    t.steps.push(step);
    t.counts.push(
      h.min === t.min && h.max === t.max
        ? h.counts.slice()
        : rebin(h.counts, h.min, h.max, t.min, t.max, h.counts.length),
    );
    // Keep at most HIST_COLUMNS columns: drop every other one (deterministic, spread over the whole run).
    if (t.steps.length > HIST_COLUMNS) {
      t.steps = t.steps.filter((_, i) => i % 2 === 0 || i === t.steps.length - 1);
      t.counts = t.counts.filter((_, i) => i % 2 === 0 || i === t.counts.length - 1);
    }
  }

  /** A `resume` record at step S: what was written after S is recomputed by the resumed run; drop it. */
  private resumeAt(s: number): void {
    for (const series of this.series.values()) series.truncateAfter(s);
    for (const t of this.histograms.values()) {
      const keep = t.steps.findIndex((x) => x > s);
      if (keep >= 0) {
        t.steps.length = keep;
        t.counts.length = keep;
      }
    }
    if (this.latestDiagnostics && this.latestDiagnostics.step > s) this.latestDiagnostics = null;
    for (const split of EVAL_SPLITS) {
      const e = this.facts.lastEval[split];
      if (e && e.step > s) delete this.facts.lastEval[split];
    }
    let keep = this.stepTimes.length;
    while (keep > 0 && this.stepTimes[keep - 1].step > s) keep--;
    this.stepTimes.length = keep;
    delete this.facts.diverged;
    this.extrasVersion++;
  }

  extras(panel: PanelKind): PanelExtras {
    if (panel === 'diagnostics')
      return { latestDiagnostics: this.latestDiagnostics, diagnosticsPasses: this.diagnosticsPasses };
    if (panel === 'layers')
      return {
        histograms: [...this.histograms.values()].map((t) => ({
          ...t,
          steps: t.steps.slice(),
          counts: t.counts.slice(),
        })),
      };
    return {};
  }

  /** The full view of every series a panel shows (what a fresh subscriber's snapshot holds). */
  view(panel: PanelKind): Record<string, SeriesPayload> {
    const out: Record<string, SeriesPayload> = {};
    for (const [k, s] of this.series) if (panelWants(panel, k)) out[k] = s.view();
    return out;
  }

  /** Raw (full-resolution) series of a panel, for CSV export. */
  raw(panel: PanelKind): Map<string, { x: readonly number[]; y: readonly (number | null)[] }> {
    const out = new Map<string, { x: readonly number[]; y: readonly (number | null)[] }>();
    for (const [k, s] of this.series) if (panelWants(panel, k)) out.set(k, s.raw);
    return out;
  }
}

/** A `diagnostics` record as the panel draws it (a reference error that was not finite is drawn as 0). */
export function toDiagnosticsPass(r: DiagnosticsMetricsRecord): DiagnosticsPass {
  return {
    step: r.step,
    epoch: r.epoch,
    reference: r.reference,
    referenceError: r.referenceError.map((v) => v ?? 0),
    draws: r.draws,
    M: r.M,
    seconds: r.seconds,
    layers: r.layers,
    estimators: r.estimators,
  };
}

// ------------------------------------------------------------------------------------------------ subscribers

/** What one webview has been sent; `snapshot()` resets it, `delta()` sends what changed since. */
export class SeriesSubscriber {
  private sent = new Map<string, { version: number; stable: number; n: number }>();
  private extrasVersion = -1;
  private run: RunSeries;

  /** `source` gives the run's current RunSeries (a LiveRun replaces it when metrics.jsonl is replaced). */
  constructor(
    private readonly source: () => RunSeries,
    readonly panel: PanelKind,
  ) {
    this.run = source();
  }

  /** True when the source was replaced since the last snapshot: send a snapshot, not a delta. */
  get stale(): boolean {
    return this.source() !== this.run;
  }

  snapshot(): { series: Record<string, SeriesPayload>; extras: PanelExtras } {
    this.run = this.source();
    this.sent.clear();
    const series: Record<string, SeriesPayload> = {};
    for (const [k, s] of this.run.series) {
      if (!panelWants(this.panel, k)) continue;
      series[k] = s.view();
      this.sent.set(k, { version: s.version, stable: s.stableLength, n: s.length });
    }
    this.extrasVersion = this.run.extrasVersion;
    return { series, extras: this.run.extras(this.panel) };
  }

  /** Changes since the last snapshot or delta; null when there are none. */
  delta(): { series: Record<string, SeriesDelta>; extras?: PanelExtras } | null {
    if (this.stale) return null;
    const series: Record<string, SeriesDelta> = {};
    let any = false;
    for (const [k, s] of this.run.series) {
      if (!panelWants(this.panel, k)) continue;
      const was = this.sent.get(k);
      if (was && was.version === s.version && was.n === s.length) continue;
      const from = was && was.version === s.version ? was.stable : 0;
      series[k] = { from, ...s.viewFrom(from) };
      this.sent.set(k, { version: s.version, stable: s.stableLength, n: s.length });
      any = true;
    }
    let extras: PanelExtras | undefined;
    if (this.run.extrasVersion !== this.extrasVersion) {
      this.extrasVersion = this.run.extrasVersion;
      if (this.panel !== 'dashboard') {
        extras = this.run.extras(this.panel);
        any = true;
      }
    }
    return any ? { series, ...(extras ? { extras } : {}) } : null;
  }
}

// ---------------------------------------------------------------------------------------------------- throttle

export interface TimerApi {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: TimerApi = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Coalesces `schedule()` calls into at most one `flush` per `intervalMs` (the first change after a quiet period is
 * flushed at once, later ones wait for the interval to end).
 */
export class Throttle {
  private last = -Infinity;
  private timer: unknown;

  constructor(
    private readonly flush: () => void,
    private readonly intervalMs = 100,
    private readonly timers: TimerApi = realTimers,
  ) {}

  schedule(): void {
    if (this.timer !== undefined) return;
    const wait = this.last + this.intervalMs - this.timers.now();
    if (wait <= 0) {
      this.run();
      return;
    }
    this.timer = this.timers.setTimeout(() => this.run(), wait);
  }

  private run(): void {
    this.timer = undefined;
    this.last = this.timers.now();
    this.flush();
  }

  dispose(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}

// ------------------------------------------------------------------------------------------- run folder side

/** What the window knows of a run besides its folder (a RunManager job training it). */
export interface LiveJobInfo {
  backend?: string;
  estimator?: string;
  totalSteps?: number;
  canStop: boolean;
}

/** One run folder followed for its panels: metrics tailed from a byte offset, status re-read on each poll. */
export class LiveRun {
  series: RunSeries;
  private offset = 0;
  /** Line number of the line at `offset`. */
  private line = 1;
  /** Unknown record kinds already reported (once each). */
  private readonly unknownKinds = new Set<string>();
  private listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private nudgeTimer: NodeJS.Timeout | undefined;
  private lastPoll = 0;
  private statusCache: { status: RunStatus; detail?: string } = { status: 'unknown' };
  private config: { estimator?: string; epochs?: number; model?: string } = {};
  private backend: string | undefined;
  private backendFacts: { detail?: string; kernels?: string } = {};
  private name: string;
  job: LiveJobInfo | undefined;
  refs = 0;
  /** The problem met by the latest poll, if any. */
  lastError: string | undefined;

  /**
   * `report` receives each problem once, as one line naming the file and line: a corrupt record (skipped), records
   * of a kind this version does not know (skipped; reported once per kind), a failed read.
   */
  constructor(
    readonly runDir: string,
    maxPoints: number,
    private readonly pollMs = 500,
    private readonly report: (problem: string) => void = () => {},
  ) {
    this.series = new RunSeries(maxPoints);
    this.name = path.basename(runDir);
    this.readStatic();
    this.poll();
  }

  private readStatic(): void {
    try {
      this.name = readManifest(this.runDir).name;
    } catch {
      /* not (yet) a complete run */
    }
    try {
      const c = configFacts(readConfig(this.runDir));
      this.config = { estimator: c.train?.estimator, epochs: c.train?.epochs, model: c.model?.name };
    } catch {
      /* written just after run.json */
    }
    try {
      const env = environmentFacts(readEnvironment(this.runDir));
      if (env.backend !== undefined) this.backend = env.backend;
      this.backendFacts = { detail: backendSummary(env), kernels: env.kernels };
    } catch {
      /* idem */
    }
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    this.schedule();
    return {
      dispose: () => {
        this.listeners.delete(listener);
      },
    };
  }

  private fire(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Read what was appended since the last poll; returns true (and notifies) when anything changed. */
  poll(): boolean {
    this.lastPoll = Date.now();
    let changed = false;
    try {
      const t = tailMetrics(this.runDir, this.offset, this.line);
      if (t.reset) {
        // The file was replaced: start over.
        this.series = new RunSeries(this.series.maxPoints);
        this.unknownKinds.clear();
        changed = true;
      }
      this.offset = t.next;
      this.line = t.nextLine;
      if (t.records.length) {
        this.series.ingest(t.records);
        changed = true;
      }
      const problems = t.corrupt.map((c) => describeMetricsProblem(this.runDir, c));
      for (const u of t.unknownKinds) {
        if (this.unknownKinds.has(u.kind)) continue;
        this.unknownKinds.add(u.kind);
        problems.push(describeUnknownKind(this.runDir, u));
      }
      this.lastError = problems.length ? problems.join('; ') : undefined;
      for (const p of problems) this.report(p);
    } catch (e) {
      if (this.lastError !== (e as Error).message) this.report((e as Error).message);
      this.lastError = (e as Error).message;
    }
    let status: { status: RunStatus; detail?: string };
    try {
      const s = readStatus(this.runDir);
      status = { status: s.status, detail: s.detail };
    } catch {
      status = { status: 'unknown' };
    }
    if (status.status !== this.statusCache.status || status.detail !== this.statusCache.detail) {
      if (this.config.estimator === undefined || this.backend === undefined || this.backendFacts.detail === undefined)
        this.readStatic();
      this.statusCache = status;
      changed = true;
    }
    if (changed) this.fire();
    return changed;
  }

  private schedule(): void {
    if (this.timer || this.listeners.size === 0) return;
    const running = this.statusCache.status === 'running' || this.job?.canStop;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.poll();
        this.schedule();
      },
      running ? this.pollMs : this.pollMs * 4,
    );
    this.timer.unref?.();
  }

  /**
   * A worker event said something was written, or the job's state changed: poll now (at most every 100 ms) and
   * notify the listeners even when the folder did not change (the run state may have).
   */
  nudge(): void {
    const wait = this.lastPoll + 100 - Date.now();
    if (wait > 0) {
      this.nudgeTimer ??= setTimeout(() => {
        this.nudgeTimer = undefined;
        this.nudge();
      }, wait);
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.poll()) this.fire();
    this.schedule();
  }

  state(): RunState {
    const f = this.series.facts;
    const status = this.statusCache.status;
    const stepsPerEpoch = f.stepsPerEpoch;
    const totalSteps =
      this.job?.totalSteps ??
      (this.config.epochs && stepsPerEpoch ? Math.round(this.config.epochs * stepsPerEpoch) : undefined);
    const live = status === 'running' || !!this.job?.canStop;
    const eta =
      live && totalSteps !== undefined && f.step !== undefined && f.stepsPerSecond
        ? Math.max(0, (totalSteps - f.step) / f.stepsPerSecond)
        : undefined;
    return {
      runDir: this.runDir,
      name: this.name,
      status,
      statusDetail: this.statusCache.detail ?? f.diverged,
      model: this.config.model,
      estimator: this.job?.estimator ?? this.config.estimator,
      backend: this.job?.backend ?? this.backend,
      backendDetail: this.backendFacts.detail,
      kernels: this.backendFacts.kernels,
      epoch: f.epoch,
      epochs: this.config.epochs,
      step: f.step,
      totalSteps,
      stepsPerSecond: f.stepsPerSecond,
      etaSeconds: eta,
      elapsed: f.elapsed,
      canStop: !!this.job?.canStop && status === 'running',
      lastEval: { ...f.lastEval },
    };
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.nudgeTimer) clearTimeout(this.nudgeTimer);
    this.timer = undefined;
    this.nudgeTimer = undefined;
    this.listeners.clear();
  }
}

/** The LiveRuns of every open panel, shared by the panels of the same run (reference-counted). */
export class SeriesStore {
  private readonly runs = new Map<string, LiveRun>();

  /** `report` receives the problems met reading the runs' folders (see LiveRun). */
  constructor(
    private readonly maxPoints: () => number,
    private readonly pollMs = 500,
    private readonly report?: (problem: string) => void,
  ) {}

  acquire(runDir: string): LiveRun {
    const key = path.resolve(runDir);
    let run = this.runs.get(key);
    if (!run) {
      run = new LiveRun(key, this.maxPoints(), this.pollMs, this.report);
      this.runs.set(key, run);
    }
    run.refs++;
    return run;
  }

  release(run: LiveRun): void {
    if (--run.refs > 0) return;
    run.dispose();
    this.runs.delete(run.runDir);
  }

  get(runDir: string): LiveRun | undefined {
    return this.runs.get(path.resolve(runDir));
  }

  /** `sbn.maxPointsPerSeries` changed: re-bucket every open series (subscribers then re-send them whole). */
  setMaxPoints(maxPoints: number): void {
    for (const r of this.runs.values()) {
      r.series.setMaxPoints(maxPoints);
      r.nudge();
    }
  }

  dispose(): void {
    for (const r of this.runs.values()) r.dispose();
    this.runs.clear();
  }
}

/** CSV of the raw series: one row per step, one column per series (empty where a series has no point). */
export function seriesCsv(series: Map<string, { x: readonly number[]; y: readonly (number | null)[] }>): string {
  const keys = [...series.keys()].sort();
  const rows = new Map<number, (number | null | undefined)[]>();
  keys.forEach((k, j) => {
    const s = series.get(k)!;
    for (let i = 0; i < s.x.length; i++) {
      let row = rows.get(s.x[i]);
      if (!row) {
        row = new Array(keys.length);
        rows.set(s.x[i], row);
      }
      row[j] = s.y[i];
    }
  });
  const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [['step', ...keys].map(quote).join(',')];
  for (const step of [...rows.keys()].sort((a, b) => a - b)) {
    const row = rows.get(step)!;
    lines.push(
      [String(step), ...keys.map((_, j) => (row[j] === undefined || row[j] === null ? '' : String(row[j])))].join(','),
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * JSON of the raw series: `{ format: "sbn-series", version: 1, panel, run, series: { key: { x: [steps], y: [values
 * or null] } } }` (keys sorted; non-finite values are null). `parseSeriesJson` reads it back.
 */
export function seriesJson(
  series: Map<string, { x: readonly number[]; y: readonly (number | null)[] }>,
  meta: { panel?: string; run?: unknown } = {},
): string {
  const out: Record<string, { x: readonly number[]; y: (number | null)[] }> = {};
  for (const k of [...series.keys()].sort()) {
    const s = series.get(k)!;
    out[k] = { x: s.x, y: s.y.map((v) => (v === null || !Number.isFinite(v) ? null : v)) };
  }
  return JSON.stringify({ format: 'sbn-series', version: 1, ...meta, series: out }) + '\n';
}

export function parseSeriesJson(text: string): Map<string, { x: number[]; y: (number | null)[] }> {
  const doc = JSON.parse(text) as { format?: unknown; series?: Record<string, { x: number[]; y: (number | null)[] }> };
  if (doc.format !== 'sbn-series' || typeof doc.series !== 'object' || doc.series === null)
    throw new Error('not an sbn-series JSON document');
  return new Map(Object.entries(doc.series));
}

/** What a run page has been sent (PanelState counters, for sbn.panelState). */
export interface SendCounters {
  snapshots: number;
  deltas: number;
  runStates: number;
}

/**
 * The next messages for a page that follows a run: the full snapshot when it needs one (`snapshot`: first time, after
 * a lost message or a hidden spell; or when the subscription went stale), else the new points and, if it changed,
 * the run state. `lastRunState` is the JSON of the run state the page has; the one it has afterwards comes back.
 */
export function sendRunUpdate(o: {
  panel: PanelKind;
  live: LiveRun;
  sub: SeriesSubscriber;
  snapshot: boolean;
  lastRunState: string;
  post: (message: HostToWebview) => void;
  counters: SendCounters;
}): { run: RunState; lastRunState: string } {
  const run = o.live.state();
  const runJson = JSON.stringify(run);
  if (o.snapshot || o.sub.stale) {
    const { series, extras } = o.sub.snapshot();
    o.post({ type: 'snapshot', panel: o.panel, run, series, extras, maxPoints: o.live.series.maxPoints });
    o.counters.snapshots++;
    return { run, lastRunState: runJson };
  }
  const d = o.sub.delta();
  if (d) {
    o.post({ type: 'delta', ...d });
    o.counters.deltas++;
  }
  if (runJson !== o.lastRunState) {
    o.post({ type: 'runState', run });
    o.counters.runStates++;
  }
  return { run, lastRunState: runJson };
}
