// A sweep's results: per grid point, over its seeds, the mean, the standard deviation and the 95 % confidence
// interval (Student t) of every final metric; as JSON and CSV here, as an HTML page in src/report/sweepHtml.ts.
import { readSweepState, type PointStatus, type SweepState } from './format';

export const SWEEP_REPORT_FORMAT = 'sbn-sweep-report';
export const SWEEP_REPORT_VERSION = 1;
/** The report's files, written into the sweep folder (or --out). */
export const SWEEP_REPORT_FILES = { json: 'sweep-report.json', csv: 'sweep-report.csv', html: 'sweep-report.html' };

export interface MetricStats {
  /** Seeds with a finite value. */
  n: number;
  mean: number | null;
  /** Sample standard deviation (n − 1); null below 2 values. */
  sd: number | null;
  /** mean ± t(0.975, n − 1) · sd / √n; null below 2 values. */
  ci95: [number, number] | null;
}

export interface PointSummary {
  /** The grid point (sweep.json `index`). */
  index: number;
  /** The swept fields' values. */
  values: Record<string, unknown>;
  seeds: number[];
  /** How many of its runs are in each status. */
  status: Record<PointStatus, number>;
  /** Run folders, relative to the sweep folder, in seed order. */
  runs: string[];
  metrics: Record<string, MetricStats>;
}

export interface SweepReport {
  format: typeof SWEEP_REPORT_FORMAT;
  version: typeof SWEEP_REPORT_VERSION;
  sweep: string;
  sweepFile: string;
  created: string;
  fields: string[];
  objective: SweepState['objective'];
  /** Every final metric found, sorted. */
  metricNames: string[];
  points: PointSummary[];
  /** The grid point with the best objective mean (null while none has a value). */
  best: number | null;
}

/** t(0.975, df) for df = 1..30. */
const T975 = [
  12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.306, 2.2622, 2.2281, 2.201, 2.1788, 2.1604, 2.1448, 2.1314,
  2.1199, 2.1098, 2.1009, 2.093, 2.086, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
];

/** The 97.5 % quantile of Student's t with `df` degrees of freedom (table to 30, Cornish–Fisher beyond). */
export function tQuantile975(df: number): number {
  if (!(df >= 1)) return NaN;
  if (df <= 30) return T975[Math.floor(df) - 1];
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2);
}

export function metricStats(values: readonly (number | null | undefined)[]): MetricStats {
  const xs = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { n, mean: null, sd: null, ci95: null };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, sd: null, ci95: null };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = (tQuantile975(n - 1) * sd) / Math.sqrt(n);
  return { n, mean, sd, ci95: [mean - half, mean + half] };
}

/** The report of a sweep folder as it is now (any stage of progress). */
export function sweepReport(dir: string): SweepReport {
  const state = readSweepState(dir);
  const groups = new Map<number, SweepState['points']>();
  for (const p of state.points) groups.set(p.index, [...(groups.get(p.index) ?? []), p]);
  const metricNames = [...new Set(state.points.flatMap((p) => Object.keys(p.metrics ?? {})))].sort();
  const points: PointSummary[] = [...groups.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([index, runs]) => {
      const sorted = [...runs].sort((a, b) => a.seed - b.seed);
      const status = { waiting: 0, running: 0, finished: 0, failed: 0 };
      for (const r of sorted) status[r.status]++;
      const values = Object.fromEntries(state.fields.map((f) => [f, sorted[0].overrides[f]]));
      const finished = sorted.filter((r) => r.status === 'finished');
      const metrics = Object.fromEntries(
        metricNames.map((m) => [m, metricStats(finished.map((r) => r.metrics?.[m] ?? null))]),
      );
      return { index, values, seeds: sorted.map((r) => r.seed), status, runs: sorted.map((r) => r.run), metrics };
    });
  const { metric, mode } = state.objective;
  let best: number | null = null;
  let bestValue = 0;
  for (const p of points) {
    const v = p.metrics[metric]?.mean;
    if (typeof v !== 'number') continue;
    if (best === null || (mode === 'min' ? v < bestValue : v > bestValue)) [best, bestValue] = [p.index, v];
  }
  return {
    format: SWEEP_REPORT_FORMAT,
    version: SWEEP_REPORT_VERSION,
    sweep: state.id,
    sweepFile: state.sweepFile.name,
    created: new Date().toISOString(),
    fields: state.fields,
    objective: state.objective,
    metricNames,
    points,
    best,
  };
}

/** A swept value as tables and legends write it: a string as it is, anything else as JSON. */
export function sweptValueText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * The grid points as series against `field`: one per combination of the other swept fields' values, labelled
 * `a=1, b=x` (the objective's name when `field` is the only one), in the order the combinations first occur.
 */
export function seriesByOtherFields(r: SweepReport, field: string): { label: string; points: PointSummary[] }[] {
  const others = r.fields.filter((f) => f !== field);
  const groups = new Map<string, PointSummary[]>();
  for (const p of r.points) {
    const label = others.map((f) => `${f}=${sweptValueText(p.values[f])}`).join(', ');
    groups.set(label, [...(groups.get(label) ?? []), p]);
  }
  return [...groups.entries()].map(([label, points]) => ({ label: label || r.objective.metric, points }));
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per grid point: its fields' values, run counts, then per metric mean, sd, ci95 low and high. */
export function sweepReportCsv(r: SweepReport): string {
  const header = [
    'point',
    ...r.fields,
    'seeds',
    'finished',
    'failed',
    ...r.metricNames.flatMap((m) => [`${m} mean`, `${m} sd`, `${m} ci95 low`, `${m} ci95 high`]),
  ];
  const rows = r.points.map((p) => [
    p.index,
    ...r.fields.map((f) => p.values[f]),
    p.seeds.length,
    p.status.finished,
    p.status.failed,
    ...r.metricNames.flatMap((m) => {
      const s = p.metrics[m];
      return [s?.mean, s?.sd, s?.ci95?.[0], s?.ci95?.[1]];
    }),
  ]);
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}

/** `2/3 finished, 1 failed`: where a grid point's runs stand. */
export function runCountText(p: Pick<PointSummary, 'status' | 'seeds'>): string {
  return `${p.status.finished}/${p.seeds.length} finished` + (p.status.failed ? `, ${p.status.failed} failed` : '');
}
