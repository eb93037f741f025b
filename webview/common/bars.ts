// Grouped bar charts with intervals (one group per category, one bar per series, a whisker from low to high), drawn
// once as a list of shapes that both the canvas and the SVG export render, so that the two agree. A bar without
// variance (an infinite SNR) reaches the top of the plot, outlined and dashed, labelled ∞. It offers what the
// exports need of a chart (card, canvas, svg, points), so that exportButtons takes it beside the uPlot charts.
import type { BarValue } from '../../src/gradientFigures';
import { escapeHtml } from '../../src/html';
import { el, fmt } from './format';
import { logTick } from '../../src/logTick';
import { withAlpha, type ColorName, type Theme } from './theme';

export interface BarSeriesSpec {
  key: string;
  label: string;
  color: ColorName;
}

export interface BarChartSpec {
  id: string;
  title: string;
  subtitle?: string;
  categories: string[];
  series: BarSeriesSpec[];
  /** Log y axis (RMSE, SNR: values over decades). */
  logY?: boolean;
  /** Fixed y range (cosine: at most 1). */
  yMax?: number;
  height?: number;
}

type Shape =
  | { kind: 'rect'; x: number; y: number; w: number; h: number; fill: string; stroke?: string; dash?: boolean }
  | { kind: 'line'; x1: number; y1: number; x2: number; y2: number; stroke: string; width: number }
  | {
      kind: 'text';
      x: number;
      y: number;
      text: string;
      fill: string;
      size: number;
      anchor: 'start' | 'middle' | 'end';
    };

/** The y axis of the given values: its range and ticks (decades on a log axis). */
export function barScale(
  values: number[],
  log: boolean,
  yMax?: number,
): { lo: number; hi: number; ticks: number[] } | undefined {
  const v = values.filter((x) => Number.isFinite(x) && (!log || x > 0));
  if (!v.length) return undefined;
  if (log) {
    const lo = 10 ** Math.floor(Math.log10(Math.min(...v)));
    let hi = 10 ** Math.ceil(Math.log10(Math.max(...v)));
    if (hi <= lo) hi = lo * 10;
    const ticks: number[] = [];
    for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
    return { lo, hi, ticks };
  }
  const lo = Math.min(0, ...v);
  const hi = yMax ?? Math.max(0, ...v) * 1.08;
  const span = hi - lo || 1;
  const raw = span / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * span; t += step) ticks.push(+t.toPrecision(12));
  return { lo, hi: hi === lo ? lo + 1 : hi, ticks };
}

export class BarChart {
  readonly card: HTMLElement;
  private readonly canvasEl: HTMLCanvasElement;
  private readonly emptyEl: HTMLElement;
  private values: Record<string, BarValue[]> = {};
  private shapes: Shape[] = [];
  private width = 0;
  private drawn = false;
  private readonly resize: ResizeObserver;
  points: Record<string, number> = {};

  constructor(
    parent: HTMLElement,
    readonly spec: BarChartSpec,
    private theme: Theme,
  ) {
    this.card = el('section', 'chart-card');
    this.card.dataset.chart = spec.id;
    const head = el('div', 'chart-head');
    head.append(el('h2', 'chart-title', spec.title));
    this.card.append(head);
    if (spec.subtitle) this.card.append(el('div', 'chart-subtitle', spec.subtitle));
    const plot = el('div', 'chart-plot');
    this.canvasEl = document.createElement('canvas');
    this.emptyEl = el('div', 'chart-empty', 'No values');
    plot.append(this.canvasEl, this.emptyEl);
    this.card.append(plot);
    parent.append(this.card);
    this.resize = new ResizeObserver(() => this.draw());
    this.resize.observe(plot);
  }

  setTheme(theme: Theme): void {
    this.theme = theme;
    this.draw();
  }

  /** Values per series key, one per category. */
  update(values: Record<string, BarValue[]>): void {
    this.values = values;
    this.points = Object.fromEntries(
      this.spec.series.map((s) => [s.key, (values[s.key] ?? []).filter((v) => v.value !== null || v.infinite).length]),
    );
    this.draw();
  }

  /** The canvas (for the PNG export) once something is drawn. */
  canvas(): HTMLCanvasElement | undefined {
    return this.drawn ? this.canvasEl : undefined;
  }

  private layout(width: number): Shape[] {
    const t = this.theme;
    const H = this.spec.height ?? 220;
    const shapes: Shape[] = [];
    // legend: swatch and label per series, wrapped to the width
    let lx = 0;
    let ly = 0;
    for (const s of this.spec.series) {
      const w = 22 + 6.4 * s.label.length + 12;
      if (lx > 0 && lx + w > width) {
        lx = 0;
        ly += 18;
      }
      shapes.push({ kind: 'rect', x: lx, y: ly + 4, w: 14, h: 10, fill: t.colors[s.color] });
      shapes.push({
        kind: 'text',
        x: lx + 20,
        y: ly + 13,
        text: s.label,
        fill: t.foreground,
        size: 11,
        anchor: 'start',
      });
      lx += w;
    }
    const top = ly + 28;
    const left = 58;
    const bottom = H - 30;
    const right = width - 10;
    const all: number[] = [];
    for (const s of this.spec.series) {
      for (const v of this.values[s.key] ?? []) {
        for (const x of [v.value, v.low, v.high]) if (x !== null) all.push(x);
      }
    }
    const scale = barScale(all, !!this.spec.logY, this.spec.yMax);
    const anyInfinite = this.spec.series.some((s) => (this.values[s.key] ?? []).some((v) => v.infinite));
    if (!scale && !anyInfinite) return [];
    const { lo, hi, ticks } = scale ?? { lo: 1, hi: 10, ticks: [1, 10] };
    const log = !!this.spec.logY;
    const yOf = (v: number): number => {
      const f = log ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (v - lo) / (hi - lo);
      return bottom - Math.max(0, Math.min(1, f)) * (bottom - top);
    };
    for (const tick of ticks) {
      const y = yOf(tick);
      shapes.push({ kind: 'line', x1: left, y1: y, x2: right, y2: y, stroke: t.grid, width: 1 });
      shapes.push({
        kind: 'text',
        x: left - 6,
        y: y + 4,
        text: log ? logTick(tick) : fmt(tick, 3),
        fill: t.muted,
        size: 11,
        anchor: 'end',
      });
    }
    const base = log ? lo : 0;
    const n = this.spec.categories.length;
    const group = (right - left) / Math.max(n, 1);
    const barW = (group * 0.8) / Math.max(this.spec.series.length, 1);
    this.spec.categories.forEach((cat, c) => {
      const gx = left + c * group + group * 0.1;
      shapes.push({
        kind: 'text',
        x: left + (c + 0.5) * group,
        y: bottom + 18,
        text: cat,
        fill: t.muted,
        size: 11,
        anchor: 'middle',
      });
      this.spec.series.forEach((s, i) => {
        const v = (this.values[s.key] ?? [])[c];
        if (!v) return;
        const color = t.colors[s.color];
        const x = gx + i * barW;
        if (v.infinite) {
          shapes.push({
            kind: 'rect',
            x: x + 1,
            y: top,
            w: barW - 2,
            h: bottom - top,
            fill: 'none',
            stroke: color,
            dash: true,
          });
          shapes.push({
            kind: 'text',
            x: x + barW / 2,
            y: top + 14,
            text: '∞',
            fill: color,
            size: 13,
            anchor: 'middle',
          });
          return;
        }
        if (v.value === null) return;
        const y0 = yOf(base);
        const y1 = yOf(v.value);
        shapes.push({
          kind: 'rect',
          x: x + 1,
          y: Math.min(y0, y1),
          w: barW - 2,
          h: Math.abs(y0 - y1),
          fill: withAlpha(color, 0.75),
        });
        if (v.low !== null && v.high !== null) {
          const cx = x + barW / 2;
          const [ya, yb] = [yOf(v.low), yOf(v.high)];
          const cap = Math.min(6, barW / 3);
          shapes.push({ kind: 'line', x1: cx, y1: ya, x2: cx, y2: yb, stroke: t.foreground, width: 1.25 });
          shapes.push({ kind: 'line', x1: cx - cap, y1: ya, x2: cx + cap, y2: ya, stroke: t.foreground, width: 1.25 });
          shapes.push({ kind: 'line', x1: cx - cap, y1: yb, x2: cx + cap, y2: yb, stroke: t.foreground, width: 1.25 });
        }
      });
    });
    shapes.push({ kind: 'line', x1: left, y1: bottom, x2: right, y2: bottom, stroke: t.border, width: 1 });
    return shapes;
  }

  private draw(): void {
    const width = Math.max(260, Math.floor(this.canvasEl.parentElement?.clientWidth ?? 0));
    const height = this.spec.height ?? 220;
    this.width = width;
    this.shapes = this.layout(width);
    this.drawn = this.shapes.length > 0;
    this.emptyEl.hidden = this.drawn;
    const dpr = window.devicePixelRatio || 1;
    this.canvasEl.width = Math.round(width * dpr);
    this.canvasEl.height = Math.round(height * dpr);
    this.canvasEl.style.width = `${width}px`;
    this.canvasEl.style.height = `${height}px`;
    const ctx = this.canvasEl.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    for (const s of this.shapes) {
      if (s.kind === 'rect') {
        if (s.fill !== 'none') {
          ctx.fillStyle = s.fill;
          ctx.fillRect(s.x, s.y, s.w, s.h);
        }
        if (s.stroke) {
          ctx.setLineDash(s.dash ? [4, 3] : []);
          ctx.strokeStyle = s.stroke;
          ctx.lineWidth = 1.5;
          ctx.strokeRect(s.x, s.y, s.w, s.h);
          ctx.setLineDash([]);
        }
      } else if (s.kind === 'line') {
        ctx.strokeStyle = s.stroke;
        ctx.lineWidth = s.width;
        ctx.beginPath();
        ctx.moveTo(s.x1, s.y1);
        ctx.lineTo(s.x2, s.y2);
        ctx.stroke();
      } else {
        ctx.fillStyle = s.fill;
        ctx.font = `${s.size}px ${this.theme.fontFamily}`;
        ctx.textAlign = s.anchor === 'middle' ? 'center' : s.anchor === 'end' ? 'right' : 'left';
        ctx.fillText(s.text, s.x, s.y);
      }
    }
  }

  /** The chart as SVG (title, then the same shapes as the canvas) at (x0, y0); undefined when nothing is drawn. */
  svg(x0: number, y0: number): { markup: string; width: number; height: number } | undefined {
    if (!this.drawn) return undefined;
    const t = this.theme;
    const font = escapeHtml(t.fontFamily);
    const n = (v: number) => Math.round(v * 100) / 100;
    const body = this.shapes.map((s) => {
      if (s.kind === 'rect') {
        const stroke = s.stroke
          ? ` stroke="${escapeHtml(s.stroke)}" stroke-width="1.5"${s.dash ? ' stroke-dasharray="4 3"' : ''}`
          : '';
        const box = `x="${n(s.x)}" y="${n(s.y)}" width="${n(s.w)}" height="${n(s.h)}"`;
        return `<rect ${box} fill="${escapeHtml(s.fill)}"${stroke}/>`;
      }
      if (s.kind === 'line')
        return (
          `<line x1="${n(s.x1)}" y1="${n(s.y1)}" x2="${n(s.x2)}" y2="${n(s.y2)}" ` +
          `stroke="${escapeHtml(s.stroke)}" stroke-width="${s.width}"/>`
        );
      return (
        `<text x="${n(s.x)}" y="${n(s.y)}" fill="${escapeHtml(s.fill)}" font-family="${font}" font-size="${s.size}" ` +
        `text-anchor="${s.anchor}">${escapeHtml(s.text)}</text>`
      );
    });
    const height = (this.spec.height ?? 220) + 22;
    return {
      markup:
        `<g class="chart" data-chart="${escapeHtml(this.spec.id)}" transform="translate(${n(x0)},${n(y0)})">` +
        `<text class="chart-title" x="0" y="14" fill="${escapeHtml(t.foreground)}" font-family="${font}" ` +
        `font-size="12" font-weight="600">${escapeHtml(this.spec.title)}</text>` +
        `<g transform="translate(0,22)">${body.join('')}</g></g>`,
      width: this.width,
      height,
    };
  }

  destroy(): void {
    this.resize.disconnect();
    this.card.remove();
  }
}
