// The Sweep panel (src/extension/panels/sweepPanel.ts, webview/sweep.ts): everything it shows, sent whole when
// sweep.json changes, and what the page asks of the host.
import type { SeriesPayload } from './series';

export type SweepPointStatus = 'waiting' | 'running' | 'finished' | 'failed';

/** One grid point of the table: its fields' values, where its runs stand, the objective over its seeds. */
export interface SweepTableRow {
  index: number;
  /** The swept fields' values as text, in the sweep's field order. */
  values: string[];
  seeds: number;
  status: Record<SweepPointStatus, number>;
  /** The objective's mean, standard deviation and 95 % interval over the finished seeds (null: not yet). */
  mean: number | null;
  sd: number | null;
  ci95: [number, number] | null;
  /** Its finished run folders (absolute), in seed order: the ones a click opens. */
  runs: string[];
  best: boolean;
  /** Why a run of it failed (the first reason), if one did. */
  failure?: string;
}

/** The objective against one swept field: one series per combination of the other fields' values. */
export interface SweepChartData {
  field: string;
  /** Values that are not numbers are drawn at 0, 1, 2… and labelled with these. */
  categories?: string[];
  logX: boolean;
  /** Series keys: `<key>` the mean, `<key>/lo` and `<key>/hi` its 95 % band. */
  series: { key: string; label: string }[];
}

export interface SweepView {
  dir: string;
  name: string;
  fields: string[];
  objective: { metric: string; mode: 'min' | 'max' };
  counts: Record<SweepPointStatus, number>;
  /** One line: done/running/failed/waiting and workers seen. */
  progress: string;
  workers: string[];
  /** The editor runs this sweep now (Stop), or it can be resumed (Resume). */
  running: boolean;
  resumable: boolean;
  rows: SweepTableRow[];
  charts: SweepChartData[];
  /** A problem reading the sweep folder (then the rest is empty). */
  problem?: string;
}

/** Host → Sweep panel. */
export type SweepHostMessage = { type: 'sweep'; view: SweepView; series: Record<string, SeriesPayload> };

/** Sweep panel → host. */
export type SweepWebviewMessage =
  | { type: 'openRun'; runDir: string }
  | { type: 'compareBest' }
  | { type: 'sweepAction'; action: 'stop' | 'resume' | 'report' };
