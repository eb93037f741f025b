// Records (metrics.jsonl kinds: step, eval, epoch, layerStats, diagnostics, resume) → series, the latest
// gradient-diagnostics pass, pre-activation histograms over time and the facts a header shows; a `resume` record
// drops what was written after its step (docs/run-format.md, Resume). Pure: no I/O.
import type { DiagnosticsMetricsRecord, MetricsRecord } from '../../../engine/runs';
import {
  EVAL_METRICS,
  EVAL_SPLITS,
  LAYER_STATS,
  SERIES,
  panelWants,
  type DiagnosticsPass,
  type HistogramTrack,
  type PanelExtras,
  type PanelKind,
  type RunState,
  type SeriesPayload,
} from '../../../webviewProtocol';
import { DownsampledSeries } from './downsample';
import { stepRate, type StepTime } from '../../../engine/runs/progress';

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Facts about a run gathered from its records (for the panel header and the ETA). */
export interface RunFacts {
  step?: number;
  epoch?: number;
  elapsed?: number;
  stepsPerEpoch?: number;
  /** Steps per second over the last step records (engine/runs/progress.ts stepRate). */
  stepsPerSecond?: number;
  lastEval: NonNullable<RunState['lastEval']>;
  diverged?: string;
}

const HIST_COLUMNS = 240;

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

/** All series of one run, built from its records in file order. Pure: no I/O. */
export class RunSeries {
  readonly series = new Map<string, DownsampledSeries>();
  readonly facts: RunFacts = { lastEval: {} };
  latestDiagnostics: DiagnosticsPass | null = null;
  diagnosticsPasses = 0;
  readonly histograms = new Map<string, HistogramTrack>();
  /** Bumped when extras (diagnostics, histograms) change. */
  extrasVersion = 0;
  /** (step, elapsed) of the step records since the run (or its last resume) started: the step rate. */
  private stepTimes: StepTime[] = [];

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
        // one figure: the chart's latest point is the header's steps/s (and, with the ETA, the status bar's)
        this.stepTimes.push({ step, seconds: r.elapsed });
        const rate = stepRate(this.stepTimes);
        if (rate !== undefined) this.add(SERIES.stepsPerSecond, step, rate);
        this.facts.stepsPerSecond = rate;
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
      case 'auto':
        r.layers.forEach((layer, k) =>
          r.candidates.forEach((c, i) => this.add(SERIES.autoKey(layer, c), step, r.choice[k] === c ? i + 1 : null)),
        );
        break;
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
    // the resumed process's rate: not the time it took to start, nor the pause before it
    this.stepTimes = [];
    delete this.facts.stepsPerSecond;
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
    ...(r.referenceEstimator ? { referenceEstimator: r.referenceEstimator } : {}),
    ...(r.referenceDraws !== undefined ? { referenceDraws: r.referenceDraws } : {}),
    referenceError: r.referenceError.map((v) => v ?? 0),
    draws: r.draws,
    M: r.M,
    seconds: r.seconds,
    layers: r.layers,
    estimators: r.estimators,
  };
}
