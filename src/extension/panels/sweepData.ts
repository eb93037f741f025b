// What the Sweep panel shows, computed from a sweep folder's report (src/engine/sweeps/report.ts: mean, sd and 95 %
// interval over seeds per grid point): the table rows, and per swept field the objective's mean with its 95 % band
// against the field's value, one series per combination of the other fields (as the HTML report draws them). Pure,
// no vscode: the unit tests call it.
import * as path from 'node:path';
import { seriesByOtherFields, sweptValueText, type SweepReport } from '../../engine/sweeps/report';
import type { SweepState } from '../../engine/sweeps/format';
import type { SeriesPayload, SweepChartData, SweepTableRow } from '../../webviewProtocol';

/** The table: one row per grid point, the best one (objective mean) marked. */
export function sweepTableRows(dir: string, report: SweepReport, state: SweepState): SweepTableRow[] {
  const metric = report.objective.metric;
  return report.points.map((p) => {
    const s = p.metrics[metric];
    const runs = state.points
      .filter((q) => q.index === p.index && q.status === 'finished')
      .sort((a, b) => a.seed - b.seed)
      .map((q) => path.join(dir, q.run));
    const failure = state.points.find((q) => q.index === p.index && q.status === 'failed')?.reason;
    return {
      index: p.index,
      values: report.fields.map((f) => sweptValueText(p.values[f])),
      seeds: p.seeds.length,
      status: { ...p.status },
      mean: s?.mean ?? null,
      sd: s?.sd ?? null,
      ci95: s?.ci95 ?? null,
      runs,
      best: p.index === report.best,
      ...(failure ? { failure } : {}),
    };
  });
}

/** Numbers spread over a decade or more (a log range, a list like 0.001, 0.01, 0.1) are drawn on a log axis. */
export function wantsLogAxis(values: readonly unknown[]): boolean {
  const nums = values.filter((v): v is number => typeof v === 'number');
  if (nums.length < 2 || nums.length !== values.length || !nums.every((v) => v > 0)) return false;
  return Math.max(...nums) / Math.min(...nums) >= 10;
}

/**
 * The objective against each swept field: per field, one series per combination of the other fields' values, with
 * x the field's value (or its position among the values when they are not all numbers), y the mean over seeds and
 * a band from the 95 % interval (the mean itself where fewer than two seeds have finished).
 */
export function sweepCharts(report: SweepReport): { charts: SweepChartData[]; series: Record<string, SeriesPayload> } {
  const metric = report.objective.metric;
  const series: Record<string, SeriesPayload> = {};
  const charts = report.fields.map((field, f): SweepChartData => {
    const all = report.points.map((p) => p.values[field]);
    const numeric = all.every((v) => typeof v === 'number');
    const categories = numeric ? undefined : [...new Set(all.map(sweptValueText))];
    const xOf = (v: unknown): number => (numeric ? (v as number) : categories!.indexOf(sweptValueText(v)));
    const chartSeries = seriesByOtherFields(report, field).map(({ label, points }, g) => {
      const key = `${f}/${g}`;
      const rows = points
        .map((p) => ({ x: xOf(p.values[field]), s: p.metrics[metric] }))
        .filter((r) => typeof r.s?.mean === 'number')
        .sort((a, b) => a.x - b.x);
      series[key] = { x: rows.map((r) => r.x), y: rows.map((r) => r.s.mean) };
      series[`${key}/lo`] = { x: rows.map((r) => r.x), y: rows.map((r) => r.s.ci95?.[0] ?? r.s.mean) };
      series[`${key}/hi`] = { x: rows.map((r) => r.x), y: rows.map((r) => r.s.ci95?.[1] ?? r.s.mean) };
      return { key, label };
    });
    return { field, ...(categories ? { categories } : {}), logX: numeric && wantsLogAxis(all), series: chartSeries };
  });
  return { charts, series };
}

/**
 * The best grid points by the objective's mean (at most `count`), each as one of its finished runs: the seed whose
 * objective is nearest the point's mean (what Compare best opens).
 */
export function bestRuns(dir: string, report: SweepReport, state: SweepState, count = 3): string[] {
  const { metric, mode } = report.objective;
  const ranked = report.points
    .filter((p) => typeof p.metrics[metric]?.mean === 'number')
    .sort((a, b) => {
      const d = (a.metrics[metric].mean as number) - (b.metrics[metric].mean as number);
      return mode === 'min' ? d : -d;
    })
    .slice(0, count);
  return ranked.flatMap((p) => {
    const mean = p.metrics[metric].mean as number;
    const runs = state.points.filter(
      (q) => q.index === p.index && q.status === 'finished' && typeof q.metrics?.[metric] === 'number',
    );
    runs.sort((a, b) => Math.abs(a.metrics![metric]! - mean) - Math.abs(b.metrics![metric]! - mean) || a.seed - b.seed);
    return runs.length ? [path.join(dir, runs[0].run)] : [];
  });
}
