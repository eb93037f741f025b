// A panel's raw (full-resolution) series as CSV or JSON, for Export.

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
