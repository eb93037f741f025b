// PNG and SVG export of a panel's charts (CSV and JSON: the host writes those), and what was drawn, for the host.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { post } from './vscodeApi';
import { el, toast } from './format';
import { LEGEND_ROW, type LegendItem } from './chart';
import { escapeHtml } from '../../src/html';
import type { Theme } from './theme';

/** What the exports need of a chart: the uPlot charts (chart.ts) and the bar charts (bars.ts) both offer it. */
export interface ExportableChart {
  readonly card: HTMLElement;
  readonly spec: { id: string; title: string };
  points: Record<string, number>;
  canvas(): HTMLCanvasElement | undefined;
  svg(x0: number, y0: number, clipId: string): { markup: string; width: number; height: number } | undefined;
  /** The legend wrapped to `width` CSS pixels, as the SVG has it; a chart without one (the bars) leaves it out. */
  legendLayout?(width: number): { items: LegendItem[]; height: number };
}

/** One PNG of the given charts stacked in a grid (titles and legends included), on the editor background. */
export function chartsPng(charts: ExportableChart[], title: string, theme: Theme): string | undefined {
  const drawn = charts
    .map((c) => ({ c, canvas: c.canvas() }))
    .filter((d): d is { c: ExportableChart; canvas: HTMLCanvasElement } => !!d.canvas && d.canvas.width > 0);
  if (!drawn.length) return undefined;
  const cols = drawn.length > 1 ? 2 : 1;
  const dpr = window.devicePixelRatio || 1;
  const cw = Math.max(...drawn.map((d) => d.canvas.width));
  // each chart's legend wrapped to the chart's width (CSS pixels), as the SVG has it
  const legends = drawn.map((d) => d.c.legendLayout?.(d.canvas.width / dpr) ?? { items: [], height: 0 });
  const lh = Math.ceil(Math.max(...legends.map((l) => l.height)) * dpr);
  const ch = Math.max(...drawn.map((d) => d.canvas.height)) + lh;
  const titleH = Math.round(22 * dpr);
  const gap = Math.round(12 * dpr);
  const rows = Math.ceil(drawn.length / cols);
  const out = document.createElement('canvas');
  out.width = cols * cw + (cols + 1) * gap;
  out.height = titleH * 1.5 + rows * (ch + titleH + gap) + gap;
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = theme.background;
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = theme.foreground;
  ctx.font = `600 ${Math.round(14 * dpr)}px ${theme.fontFamily}`;
  ctx.textBaseline = 'middle';
  ctx.fillText(title, gap, titleH * 0.75);
  drawn.forEach((d, i) => {
    const x = gap + (i % cols) * (cw + gap);
    const y = titleH * 1.5 + Math.floor(i / cols) * (ch + titleH + gap);
    ctx.fillStyle = theme.foreground;
    ctx.font = `${Math.round(12 * dpr)}px ${theme.fontFamily}`;
    ctx.fillText(d.c.spec.title, x, y + titleH / 2);
    drawLegend(ctx, legends[i].items, x, y + titleH, dpr, theme);
    ctx.drawImage(d.canvas, x, y + titleH + lh);
  });
  return out.toDataURL('image/png');
}

/** A chart's legend (Chart.legendLayout) on a canvas at (x, y), scaled by `dpr`: swatches and labels. */
function drawLegend(
  ctx: CanvasRenderingContext2D,
  items: LegendItem[],
  x: number,
  y: number,
  dpr: number,
  theme: Theme,
): void {
  ctx.save();
  ctx.textBaseline = 'middle';
  ctx.font = `${Math.round(11 * dpr)}px ${theme.fontFamily}`;
  for (const e of items) {
    const left = x + e.x * dpr;
    const cy = y + (e.y + LEGEND_ROW / 2) * dpr;
    ctx.globalAlpha = e.off ? 0.45 : 1;
    ctx.strokeStyle = e.color;
    ctx.fillStyle = e.color;
    if (e.points) {
      ctx.beginPath();
      ctx.arc(left + 8 * dpr, cy, 3.5 * dpr, 0, 2 * Math.PI);
      ctx.fill();
    } else {
      ctx.lineWidth = 2 * dpr;
      ctx.setLineDash((e.dash ?? []).map((v) => v * dpr));
      ctx.beginPath();
      ctx.moveTo(left, cy);
      ctx.lineTo(left + 16 * dpr, cy);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    ctx.fillStyle = theme.foreground;
    ctx.fillText(e.label, left + 22 * dpr, cy);
  }
  ctx.restore();
}

/**
 * One SVG document of the given charts in the same grid as the PNG (title, then per chart its title, legend, axes and
 * series as vectors), on the editor background. Undefined when no chart is drawn.
 */
export function chartsSvg(charts: ExportableChart[], title: string, theme: Theme): string | undefined {
  const gap = 16;
  const titleH = 34;
  const drawn = charts.filter((c) => c.canvas());
  if (!drawn.length) return undefined;
  // the charts where the page shows them (its grid: wide cards span the row), relative to the first card
  const rects = drawn.map((c) => c.card.getBoundingClientRect());
  const left0 = Math.min(...rects.map((r) => r.left));
  const top0 = Math.min(...rects.map((r) => r.top));
  const parts: { markup: string; width: number; height: number; x: number; y: number }[] = [];
  drawn.forEach((c, i) => {
    const x = gap + rects[i].left - left0;
    const y = titleH + rects[i].top - top0;
    const p = c.svg(x, y, `sbn-clip-${i}`);
    if (p) parts.push({ ...p, x, y });
  });
  if (!parts.length) return undefined;
  const width = Math.ceil(Math.max(...parts.map((p) => p.x + p.width)) + gap);
  const height = Math.ceil(Math.max(...parts.map((p) => p.y + p.height)) + gap);
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-theme="${theme.kind}">` +
    `<title>${escapeHtml(title)}</title>` +
    `<rect width="100%" height="100%" fill="${escapeHtml(theme.background)}"/>` +
    `<text x="${gap}" y="22" fill="${escapeHtml(theme.foreground)}" font-family="${escapeHtml(theme.fontFamily)}" ` +
    `font-size="14" font-weight="600">${escapeHtml(title)}</text>` +
    parts.map((p) => p.markup).join('') +
    '</svg>\n'
  );
}

/** Toolbar buttons Export PNG / SVG (the charts as drawn) and CSV / JSON (the host's full-resolution series). */
export function exportButtons(
  name: () => string,
  charts: () => ExportableChart[],
  theme: () => Theme,
  title: () => string,
): HTMLElement {
  const png = document.createElement('vscode-button');
  png.textContent = 'Export PNG';
  png.setAttribute('secondary', '');
  png.id = 'export-png';
  png.addEventListener('click', () => {
    const dataUrl = chartsPng(charts(), title(), theme());
    if (dataUrl) post({ type: 'export', format: 'png', dataUrl, name: name() });
    else toast('Nothing drawn yet', true);
  });
  const csv = document.createElement('vscode-button');
  csv.textContent = 'Export CSV';
  csv.setAttribute('secondary', '');
  csv.id = 'export-csv';
  csv.addEventListener('click', () => post({ type: 'export', format: 'csv', name: name() }));
  const svg = document.createElement('vscode-button');
  svg.textContent = 'Export SVG';
  svg.setAttribute('secondary', '');
  svg.id = 'export-svg';
  svg.addEventListener('click', () => {
    const doc = chartsSvg(charts(), title(), theme());
    if (doc) post({ type: 'export', format: 'svg', svg: doc, name: name() });
    else toast('Nothing drawn yet', true);
  });
  const json = document.createElement('vscode-button');
  json.textContent = 'Export JSON';
  json.setAttribute('secondary', '');
  json.id = 'export-json';
  json.addEventListener('click', () => post({ type: 'export', format: 'json', name: name() }));
  const group = el('span', 'toolbar-group');
  group.append(png, svg, csv, json);
  return group;
}

/** Tell the host what was drawn (tests and the panel-state command read it). */
export function reportRendered(charts: ExportableChart[], extras?: Record<string, number>): void {
  const points: Record<string, number> = {};
  for (const c of charts) Object.assign(points, c.points);
  post({ type: 'rendered', points, charts: charts.filter((c) => c.canvas()).length, ...(extras ? { extras } : {}) });
}
