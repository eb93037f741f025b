// The Runs table panel (src/extension/panels/runsTablePanel.ts, webview/runsTable.ts): one row per run, its columns
// computed by the host (every hyper-parameter that differs between the runs shown, best and final metrics), sent
// whole when a run folder changes; and the page's sorting, filtering and grouping — pure functions here, so that
// the page and the unit tests run the same code.
import type { RunStatus } from './shared';

/** A cell: text, a number (null: none), or a list (tags). */
export type RunsTableValue = string | number | null | string[];

/**
 * How a column's values read: `text`; `number`; `time` (ms since 1970, shown as a local time); `duration`
 * (seconds); `tags` (a list); `status` (a run status).
 */
export type RunsTableColumnKind = 'text' | 'number' | 'time' | 'duration' | 'tags' | 'status';

export interface RunsTableColumn {
  /** `name`, `status`, …; `hp:<config path>` a hyper-parameter; `metric:<split>.<metric>.<best|final>` a metric. */
  id: string;
  label: string;
  kind: RunsTableColumnKind;
  /** Where the column chooser lists it. */
  section: 'run' | 'hyperparameter' | 'metric';
  /** Shown until the user chooses otherwise. */
  shown: boolean;
  /** A metric's better direction (its best cell is marked). */
  better?: 'max' | 'min';
  /** A longer explanation (the header's tooltip). */
  description?: string;
}

export interface RunsTableRow {
  runDir: string;
  /** The display name, else the run's name. */
  label: string;
  /** The run folder's name (shown under a display name). */
  folder: string;
  status: RunStatus;
  notes: string;
  /** The cells, by column id. */
  values: Record<string, RunsTableValue>;
  /** Why part of the run could not be read (shown on its row). */
  problem?: string;
}

export interface RunsTableView {
  columns: RunsTableColumn[];
  rows: RunsTableRow[];
  /** Every tag of the runs, sorted (the tag filter offers them). */
  tags: string[];
}

/** Host → Runs table. */
export type RunsTableHostMessage = { type: 'runsTable'; view: RunsTableView };

/**
 * Runs table → host: open a run's dashboard, compare or delete the selected runs (the host confirms a deletion),
 * or edit a run's display name, tags or notes (the host asks for the new value).
 */
export type RunsTableWebviewMessage = {
  type: 'runsTableAction';
  action: 'open' | 'compare' | 'delete' | 'rename' | 'tags' | 'notes';
  runDirs: string[];
};

// ------------------------------------------------------------------------------------------------ sort, filter, group

/**
 * Order of two cells: numbers by value, text by natural order (`run-2` before `run-10`), lists by their text; none
 * last.
 */
export function compareCells(a: RunsTableValue | undefined, b: RunsTableValue | undefined): number {
  const none = (v: RunsTableValue | undefined) =>
    v === null || v === undefined || (Array.isArray(v) && v.length === 0) || v === '';
  if (none(a) || none(b)) return none(a) === none(b) ? 0 : none(a) ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const text = (v: RunsTableValue | undefined) => (Array.isArray(v) ? v.join(', ') : String(v));
  return text(a).localeCompare(text(b), undefined, { numeric: true, sensitivity: 'base' });
}

/** The rows sorted by a column (a stable sort; runs without a value last in both directions). */
export function sortRows(rows: readonly RunsTableRow[], column: string, direction: 'asc' | 'desc'): RunsTableRow[] {
  const sign = direction === 'asc' ? 1 : -1;
  const cell = (r: RunsTableRow) => (column === 'name' ? r.label : r.values[column]);
  return rows
    .map((r, i) => ({ r, i }))
    .sort((x, y) => {
      const a = cell(x.r);
      const b = cell(y.r);
      const c = compareCells(a, b);
      // "none last" holds in both directions: only real comparisons flip
      const noneOrder = compareCells(a, null) === 0 || compareCells(b, null) === 0;
      return (noneOrder ? c : sign * c) || x.i - y.i;
    })
    .map((x) => x.r);
}

export interface RunsTableFilter {
  /** Words that must all occur (case-insensitive) in the row's name, folder, notes, tags or a shown cell. */
  text: string;
  /** Only runs with this status ('' = any). */
  status: RunStatus | '';
  /** Only runs with this tag ('' = any). */
  tag: string;
}

/** The text of a cell as the filter and the page see it (numbers at full precision). */
export function cellText(v: RunsTableValue | undefined): string {
  if (v === null || v === undefined) return '';
  return Array.isArray(v) ? v.join(', ') : String(v);
}

/** The rows that pass a filter; `columns` are the shown columns whose cells the text is searched in. */
export function filterRows(
  rows: readonly RunsTableRow[],
  filter: RunsTableFilter,
  columns: readonly string[],
): RunsTableRow[] {
  const words = filter.text.toLowerCase().split(/\s+/).filter(Boolean);
  return rows.filter((r) => {
    if (filter.status && r.status !== filter.status) return false;
    const tags = r.values.tags;
    if (filter.tag && !(Array.isArray(tags) && tags.includes(filter.tag))) return false;
    if (!words.length) return true;
    const hay = [r.label, r.folder, r.notes, cellText(tags), ...columns.map((c) => cellText(r.values[c]))]
      .join('\n')
      .toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

export interface RunsTableGroup {
  /** The shared value as text ('' when the runs have none). */
  key: string;
  rows: RunsTableRow[];
}

/**
 * The rows in groups by a column's value, groups in the column's order (runs without a value last). A run with
 * several tags is in each tag's group; a number column groups by equal values.
 */
export function groupRows(rows: readonly RunsTableRow[], column: string): RunsTableGroup[] {
  const groups = new Map<string, { value: RunsTableValue; rows: RunsTableRow[] }>();
  const add = (key: string, value: RunsTableValue, r: RunsTableRow) => {
    const g = groups.get(key) ?? { value, rows: [] };
    g.rows.push(r);
    groups.set(key, g);
  };
  for (const r of rows) {
    const v = column === 'name' ? r.label : (r.values[column] ?? null);
    if (Array.isArray(v)) {
      if (v.length === 0) add('', null, r);
      for (const t of v) add(t, t, r);
    } else add(cellText(v), v, r);
  }
  return [...groups.entries()]
    .sort(([, a], [, b]) => compareCells(a.value, b.value))
    .map(([key, g]) => ({ key, rows: g.rows }));
}
