// The sweep report as one self-contained HTML page: no script, no network; its styles inline under a nonce CSP and
// its charts inline SVG drawn here. One chart per swept field: the objective's mean over seeds against the field's
// value, one line per combination of the other fields, with its 95 % confidence band.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../engine/files';
import { CHART_PALETTES } from '../chartPalette';
import { contentSecurityPolicy, escapeHtml } from '../html';
import { reportPageHead } from './html';
import {
  SWEEP_REPORT_FILES,
  sweepReport,
  sweepReportCsv,
  runCountText,
  seriesByOtherFields,
  sweptValueText,
  type SweepReport,
} from '../engine/sweeps/report';

const NONCE = 'sbn-sweep-report';
/** The chart palette's variant for the report's light background. */
const PALETTE = CHART_PALETTES.light;
/** The series' colours in turn. */
const COLORS = (['blue', 'red', 'green', 'orange', 'purple', 'brown', 'pink', 'cyan', 'gray'] as const).map(
  (c) => PALETTE.colors[c],
);

function fmt(v: number | null | undefined, digits = 4): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(digits - 1) : Number(v.toPrecision(digits)).toString();
}

interface Series {
  label: string;
  points: { x: unknown; mean: number; lo: number; hi: number }[];
}

/** The objective against `field`: one series per combination of the other fields' values. */
function seriesOf(r: SweepReport, field: string): Series[] {
  return seriesByOtherFields(r, field).map(({ label, points }) => ({
    label,
    points: points
      .map((p) => {
        const s = p.metrics[r.objective.metric];
        if (!s || typeof s.mean !== 'number') return undefined;
        return { x: p.values[field], mean: s.mean, lo: s.ci95?.[0] ?? s.mean, hi: s.ci95?.[1] ?? s.mean };
      })
      .filter((p): p is Series['points'][number] => p !== undefined),
  }));
}

function chart(r: SweepReport, field: string): string {
  const series = seriesOf(r, field);
  const xs = [...new Set(r.points.map((p) => sweptValueText(p.values[field])))];
  const numeric = r.points.every((p) => typeof p.values[field] === 'number');
  const nums = numeric ? r.points.map((p) => p.values[field] as number) : [];
  const logX = numeric && nums.every((v) => v > 0) && Math.max(...nums) / Math.min(...nums) >= 10;
  const W = 560;
  const H = 300;
  const m = { l: 64, r: 16, t: 16, b: 44 };
  const tx = (x: unknown): number => {
    if (!numeric) {
      const i = xs.indexOf(sweptValueText(x));
      return m.l + ((i + 0.5) / xs.length) * (W - m.l - m.r);
    }
    const f = (v: number) => (logX ? Math.log10(v) : v);
    const lo = f(Math.min(...nums));
    const hi = f(Math.max(...nums));
    return m.l + (hi === lo ? 0.5 : (f(x as number) - lo) / (hi - lo)) * (W - m.l - m.r);
  };
  const ys = series.flatMap((s) => s.points.flatMap((p) => [p.lo, p.hi]));
  if (ys.length === 0) return `<p class="empty">No finished point has ${escapeHtml(r.objective.metric)} yet.</p>`;
  let yLo = Math.min(...ys);
  let yHi = Math.max(...ys);
  if (yHi === yLo) [yLo, yHi] = [yLo - 1e-9 - Math.abs(yLo) * 0.05, yHi + 1e-9 + Math.abs(yHi) * 0.05];
  const pad = (yHi - yLo) * 0.05;
  [yLo, yHi] = [yLo - pad, yHi + pad];
  const ty = (y: number) => m.t + (1 - (y - yLo) / (yHi - yLo)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" class="axis"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" class="axis"/>`,
  );
  for (let i = 0; i <= 4; i++) {
    const y = yLo + ((yHi - yLo) * i) / 4;
    parts.push(`<text x="${m.l - 6}" y="${ty(y) + 4}" class="tick" text-anchor="end">${fmt(y, 3)}</text>`);
  }
  const ticks = numeric ? [...new Set(nums)].sort((a, b) => a - b) : xs;
  for (const x of ticks)
    parts.push(
      `<text x="${tx(x)}" y="${H - m.b + 16}" class="tick" text-anchor="middle">` +
        `${escapeHtml(typeof x === 'number' ? fmt(x, 3) : String(x))}</text>`,
    );
  parts.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 6}" class="label" text-anchor="middle">` +
      `${escapeHtml(field)}${logX ? ' (log scale)' : ''}</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = [...s.points].sort((a, b) => tx(a.x) - tx(b.x));
    if (pts.length > 1) {
      const band = [
        ...pts.map((p) => `${tx(p.x)},${ty(p.hi)}`),
        ...[...pts].reverse().map((p) => `${tx(p.x)},${ty(p.lo)}`),
      ];
      parts.push(`<polygon points="${band.join(' ')}" fill="${color}" class="band"/>`);
      parts.push(
        `<polyline points="${pts.map((p) => `${tx(p.x)},${ty(p.mean)}`).join(' ')}" stroke="${color}" class="line"/>`,
      );
    }
    for (const p of pts) {
      parts.push(
        `<line x1="${tx(p.x)}" y1="${ty(p.lo)}" x2="${tx(p.x)}" y2="${ty(p.hi)}" stroke="${color}" class="bar"/>`,
      );
      parts.push(`<circle cx="${tx(p.x)}" cy="${ty(p.mean)}" r="3.5" fill="${color}"/>`);
    }
  });
  const legend = series
    .map(
      (s, i) =>
        `<li><svg width="10" height="10" class="swatch"><rect width="10" height="10" ` +
        `fill="${COLORS[i % COLORS.length]}"/></svg>${escapeHtml(s.label)}</li>`,
    )
    .join('');
  return (
    `<figure><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" ` +
    `aria-label="${escapeHtml(`${r.objective.metric} against ${field}`)}">${parts.join('')}</svg>` +
    `<figcaption>${escapeHtml(r.objective.metric)} (mean over seeds, 95 % confidence band) against ` +
    `${escapeHtml(field)}</figcaption><ul class="legend">${legend}</ul></figure>`
  );
}

function table(r: SweepReport): string {
  const metrics = r.metricNames;
  const head =
    `<tr><th>point</th>${r.fields.map((f) => `<th>${escapeHtml(f)}</th>`).join('')}<th>runs</th>` +
    metrics.map((m) => `<th>${escapeHtml(m)}<br><small>mean ± sd [95 % CI]</small></th>`).join('') +
    '</tr>';
  const rows = r.points
    .map((p) => {
      const runs = runCountText(p);
      const cells = metrics.map((m) => {
        const s = p.metrics[m];
        if (!s || s.mean === null) return '<td>—</td>';
        const ci = s.ci95 ? ` <small>[${fmt(s.ci95[0])}, ${fmt(s.ci95[1])}]</small>` : '';
        return `<td>${fmt(s.mean)}${s.sd !== null ? ` ± ${fmt(s.sd, 2)}` : ''}${ci}</td>`;
      });
      const cls = p.index === r.best ? ' class="best"' : '';
      return (
        `<tr${cls}><td>${p.index}</td>` +
        r.fields.map((f) => `<td>${escapeHtml(sweptValueText(p.values[f]))}</td>`).join('') +
        `<td>${runs}</td>${cells.join('')}</tr>`
      );
    })
    .join('\n');
  return `<table><thead>${head}</thead><tbody>\n${rows}\n</tbody></table>`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; }
body { color: ${PALETTE.colors.foreground}; background: ${PALETTE.background}; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; font-size: 12.5px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th { background: #f3f3f3; } tr.best td { background: #eaf6ea; font-weight: 600; }
figure { display: inline-block; margin: 8px 16px 16px 0; vertical-align: top; }
.axis { stroke: ${PALETTE.colors.gray}; } .tick { font-size: 11px; fill: ${PALETTE.colors.gray}; }
.label { font-size: 12px; fill: ${PALETTE.colors.foreground}; }
.band { opacity: 0.15; stroke: none; } .line { fill: none; stroke-width: 1.8; }
.bar { stroke-width: 1.2; opacity: 0.7; }
.legend { list-style: none; padding: 0; margin: 4px 0; font-size: 12px; }
.swatch { margin-right: 6px; }
.empty { color: ${PALETTE.colors.gray}; }
`;

/** The report page: one file, styles inline, no script. */
export function sweepReportHtml(r: SweepReport): string {
  const csp = contentSecurityPolicy({ style: `'nonce-${NONCE}'`, img: 'data:' });
  const best = r.points.find((p) => p.index === r.best);
  const bestText = best
    ? `Best point (${r.objective.mode} ${escapeHtml(r.objective.metric)}): ${best.index} — ` +
      r.fields.map((f) => `${escapeHtml(f)} = ${escapeHtml(sweptValueText(best.values[f]))}`).join(', ') +
      ` (mean ${fmt(best.metrics[r.objective.metric]?.mean)}).`
    : 'No point has finished yet.';
  return `${reportPageHead(csp, `Sweep ${r.sweepFile}`)}
<style nonce="${NONCE}">${STYLE}</style>
</head>
<body>
<h1>Sweep ${escapeHtml(r.sweepFile)}</h1>
<p>${r.points.length} points × seeds; objective ${escapeHtml(r.objective.metric)} (${r.objective.mode}). ${bestText}
Intervals are 95 % Student-t confidence intervals of the mean over seeds. Report of ${escapeHtml(r.created)}.</p>
<h2>Objective against each swept field</h2>
${r.fields.map((f) => chart(r, f)).join('\n')}
<h2>Every point</h2>
${table(r)}
</body>
</html>
`;
}

/** Writes sweep-report.json, .csv and .html of the sweep in `dir` into `outDir` (default: the sweep folder). */
export function writeSweepReport(dir: string, outDir = dir): { report: SweepReport; files: string[] } {
  const report = sweepReport(dir);
  fs.mkdirSync(outDir, { recursive: true });
  const files = [
    [SWEEP_REPORT_FILES.json, JSON.stringify(report, null, 1) + '\n'],
    [SWEEP_REPORT_FILES.csv, sweepReportCsv(report)],
    [SWEEP_REPORT_FILES.html, sweepReportHtml(report)],
  ].map(([name, text]) => {
    const file = path.join(outDir, name);
    writeFileAtomic(file, text);
    return file;
  });
  return { report, files };
}
