// uPlot charts with a themed legend, smoothing and series alignment; each chart also draws itself as SVG.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { SeriesPayload } from '../../src/webviewProtocol';
import { onThemeChange, readTheme, withAlpha, type ColorName, type Theme } from './theme';
import { el, fmt, pct } from './format';
import { logTick } from '../../src/logTick';
import { escapeHtml } from '../../src/html';

export interface ChartSeriesSpec {
  key: string;
  label: string;
  color: ColorName;
  dash?: number[];
  /** Draw the smoothed curve over a faint raw one when smoothing is on. */
  smooth?: boolean;
  /** Points only (sparse series, e.g. once per epoch or a single test evaluation). */
  points?: boolean;
  width?: number;
  /** A shaded band between two other series of the data (keys), e.g. the 15–85% quantiles around a mean. */
  band?: { lower: string; upper: string };
  /** false: drawn, but not listed in the legend (e.g. reference curves a note explains). */
  legend?: boolean;
}

export interface ChartSpec {
  id: string;
  title: string;
  subtitle?: string;
  series: ChartSeriesSpec[];
  y?: 'number' | 'percent';
  /** The log-scale toggle applies to this chart's y axis. */
  logY?: boolean;
  /** Log x axis (diagnostics: values vs M). */
  logX?: boolean;
  xLabel?: string;
  height?: number;
  /** Fixed y range (e.g. cosine in [-1, 1]; on a log axis too). */
  yRange?: [number, number];
  /** The y axis starts at 0 (rates). */
  yFromZero?: boolean;
  /** The card spans the whole row. */
  wide?: boolean;
  /** Draw a marker at every point (few points, e.g. values against M). */
  markers?: boolean;
  /** What x is called in the cursor read-out (default "step"). */
  xName?: string;
  /** Cursor sync group (charts over training steps share one). */
  sync?: string;
  /** x is a position 0, 1, 2… among these labels (a sweep's non-numeric field): ticks at the labels only. */
  xCategories?: string[];
}

export interface ViewOptions {
  smoothing: number;
  log: boolean;
  hidden: string[];
}

/** TensorBoard's debiased exponential moving average. */
export function smooth(y: readonly (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return y.slice();
  let last = 0;
  let n = 0;
  return y.map((v) => {
    if (v === null || !Number.isFinite(v)) return null;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - Math.pow(weight, n));
  });
}

/** Aligns series with different x onto their sorted union (null where a series has no point). */
export function align(list: SeriesPayload[]): { x: number[]; ys: (number | null)[][] } {
  const set = new Set<number>();
  for (const s of list) for (const v of s.x) set.add(v);
  const x = [...set].sort((a, b) => a - b);
  const index = new Map<number, number>();
  x.forEach((v, i) => index.set(v, i));
  const ys = list.map((s) => {
    const y = new Array<number | null>(x.length).fill(null);
    for (let i = 0; i < s.x.length; i++) y[index.get(s.x[i])!] = s.y[i];
    return y;
  });
  return { x, ys };
}

type LegendEntry = { spec: ChartSeriesSpec; row: HTMLElement; value: HTMLElement; idx: number[] };

/** One legend entry of an export (Chart.legendLayout): what to draw and where, in CSS pixels from the legend's top. */
export interface LegendItem {
  key: string;
  label: string;
  color: string;
  dash?: number[];
  points: boolean;
  off: boolean;
  x: number;
  y: number;
}

/** Height of one legend row in the exports (CSS pixels). */
export const LEGEND_ROW = 18;

/** Width of an export's legend entry: swatch, gap, label (11 px text, about 6.2 px a character), gap. */
function legendItemWidth(label: string): number {
  return 22 + 6.2 * label.length + 12;
}

/** A titled uPlot chart card with a themed legend that shows values at the (synced) cursor. */
/** An x axis of labelled positions 0, 1, 2…: a tick and a label at each. */
function categoryAxis(labels: string[]): Partial<uPlot.Axis> {
  return {
    splits: () => labels.map((_, i) => i),
    values: (_u: uPlot, vals: number[]) => vals.map((v) => labels[v] ?? ''),
  };
}

export class Chart {
  readonly card: HTMLElement;
  private readonly plotEl: HTMLElement;
  private readonly headEl: HTMLElement;
  private readonly legendEl: HTMLElement;
  private readonly emptyEl: HTMLElement;
  private readonly cursorEl: HTMLElement;
  private plot: uPlot | undefined;
  private structure = '';
  private legend: LegendEntry[] = [];
  private resize: ResizeObserver;
  /** The user zoomed in (drag): keep the scales while new data arrives, until a double-click resets them. */
  private zoomed = false;
  /** Per uPlot series (index - 1): the spec key it draws and whether it is the raw or the smoothed curve. */
  private seriesMeta: { key: string; role: 'raw' | 'smooth' | 'band' }[] = [];
  points: Record<string, number> = {};

  constructor(
    parent: HTMLElement,
    readonly spec: ChartSpec,
    private theme: Theme,
    private readonly onToggle: (key: string) => void,
  ) {
    this.card = el('section', 'chart-card');
    this.card.dataset.chart = spec.id;
    if (spec.wide) this.card.classList.add('wide');
    const head = el('div', 'chart-head');
    this.headEl = head;
    const title = el('h2', 'chart-title', spec.title);
    this.cursorEl = el('span', 'chart-cursor', '');
    head.append(title, this.cursorEl);
    if (spec.subtitle) this.card.append(head, el('div', 'chart-subtitle', spec.subtitle));
    else this.card.append(head);
    this.legendEl = el('div', 'chart-legend');
    this.plotEl = el('div', 'chart-plot');
    this.emptyEl = el('div', 'chart-empty', 'Waiting for data…');
    this.plotEl.append(this.emptyEl);
    this.card.append(this.legendEl, this.plotEl);
    parent.append(this.card);
    this.resize = new ResizeObserver(() => {
      if (this.plot) this.plot.setSize(this.size());
    });
    this.resize.observe(this.plotEl);
  }

  /** A control of this chart alone (e.g. a series' toggle), at the end of its title row. */
  addControl(control: HTMLElement): void {
    control.classList.add('chart-control');
    this.headEl.append(control);
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(200, Math.floor(this.plotEl.clientWidth)), height: this.spec.height ?? 220 };
  }

  setTheme(theme: Theme): void {
    this.theme = theme;
    this.structure = '';
  }

  /** The plot's canvas (for PNG export), if drawn. */
  canvas(): HTMLCanvasElement | undefined {
    return this.plot?.ctx.canvas;
  }

  update(all: Record<string, SeriesPayload>, view: ViewOptions): void {
    const present = this.spec.series.filter((s) => all[s.key] && all[s.key].x.length > 0);
    this.points = Object.fromEntries(present.map((s) => [s.key, all[s.key].x.length]));
    this.emptyEl.hidden = present.length > 0;
    const log = !!this.spec.logY && view.log;
    const smoothing = view.smoothing;
    // uPlot series: for each present spec, [raw] or [raw (faint), smoothed]
    const columns: SeriesPayload[] = [];
    const seriesOpts: uPlot.Series[] = [{}];
    const legend: { spec: ChartSeriesSpec; idx: number[] }[] = [];
    const meta: { key: string; role: 'raw' | 'smooth' | 'band' }[] = [];
    const bands: uPlot.Band[] = [];
    const c = this.theme.colors;
    for (const s of present) {
      const raw = all[s.key];
      const yRaw = log ? raw.y.map((v) => (v !== null && v > 0 ? v : null)) : raw.y;
      const color = c[s.color];
      const shown = !view.hidden.includes(s.key);
      const idx: number[] = [];
      const base: uPlot.Series = { label: s.label, scale: 'y', spanGaps: true, show: shown, dash: s.dash };
      if (s.points) {
        columns.push({ x: raw.x, y: yRaw });
        seriesOpts.push({
          ...base,
          stroke: color,
          width: 0,
          paths: () => null,
          points: { show: true, size: 7, stroke: color, fill: color },
        });
        idx.push(seriesOpts.length - 1);
        meta.push({ key: s.key, role: 'raw' });
      } else if (s.smooth && smoothing > 0) {
        columns.push({ x: raw.x, y: yRaw });
        seriesOpts.push({ ...base, stroke: withAlpha(color, 0.28), width: 1, points: { show: false } });
        idx.push(seriesOpts.length - 1);
        meta.push({ key: s.key, role: 'raw' });
        columns.push({ x: raw.x, y: smooth(yRaw, smoothing) });
        seriesOpts.push({ ...base, stroke: color, width: s.width ?? 2, points: { show: false } });
        idx.push(seriesOpts.length - 1);
        meta.push({ key: s.key, role: 'smooth' });
      } else {
        columns.push({ x: raw.x, y: yRaw });
        seriesOpts.push({
          ...base,
          stroke: color,
          width: s.width ?? 1.75,
          points: { show: !!this.spec.markers || raw.x.length < 3, size: 6, fill: color },
        });
        idx.push(seriesOpts.length - 1);
        meta.push({ key: s.key, role: 'raw' });
      }
      if (s.legend !== false) legend.push({ spec: s, idx });
      const lower = s.band && all[s.band.lower];
      const upper = s.band && all[s.band.upper];
      if (lower && upper && shown) {
        const invisible: uPlot.Series = {
          ...base,
          label: `${s.label} band`,
          stroke: withAlpha(color, 0),
          width: 1,
          points: { show: false },
        };
        for (const bound of [upper, lower]) {
          columns.push({ x: bound.x, y: log ? bound.y.map((v) => (v !== null && v > 0 ? v : null)) : bound.y });
          seriesOpts.push(invisible);
          meta.push({ key: s.key, role: 'band' });
        }
        bands.push({ series: [seriesOpts.length - 2, seriesOpts.length - 1], fill: withAlpha(color, 0.14) });
      }
    }
    this.seriesMeta = meta;
    const { x, ys } = align(columns);
    const data = [x, ...ys] as uPlot.AlignedData;
    // everything that is baked into the uPlot instance (a change rebuilds it; data alone goes through setData)
    const structure = JSON.stringify([
      seriesOpts.map((o) => [
        o.label,
        o.stroke,
        o.show,
        o.width,
        o.dash,
        (o.points as { show?: unknown } | undefined)?.show,
      ]),
      log,
      this.theme.kind,
      this.theme.colors,
      bands,
    ]);
    if (structure !== this.structure || !this.plot) {
      this.structure = structure;
      this.plot?.destroy();
      this.zoomed = false;
      this.plot = new uPlot({ ...this.options(seriesOpts, log), bands }, data, this.plotEl);
      this.plot.over.addEventListener('dblclick', () => {
        this.zoomed = false;
      });
      this.buildLegend(legend);
    } else {
      this.plot.setData(data, !this.zoomed);
    }
    this.updateLegendValues(this.plot.cursor.idx ?? null);
  }

  private options(series: uPlot.Series[], log: boolean): uPlot.Options {
    const t = this.theme;
    const spec = this.spec;
    const axis = (extra: Partial<uPlot.Axis>): uPlot.Axis => ({
      stroke: t.muted,
      font: t.font,
      labelFont: t.font,
      grid: { stroke: t.grid, width: 1 },
      ticks: { stroke: t.grid, width: 1, size: 4 },
      ...extra,
    });
    const yValues =
      spec.y === 'percent'
        ? (_u: uPlot, vals: number[]) => vals.map((v) => `${+(100 * v).toFixed(1)}%`)
        : (_u: uPlot, vals: number[]) => vals.map((v) => fmt(v, 3));
    // log axes: ticks, grid lines and labels at powers of ten only (uPlot adds 2…9 × 10^k otherwise)
    // powers of ten; on an axis that shows fewer than three of them also 2 and 5 times them, so that a range of a
    // decade or so (the lr chart's validation losses) is not read off a single tick
    const decades = (_u: uPlot, splits: number[]) => {
      const few = splits.filter(isPow10).length < 3;
      return splits.map((v) => (isPow10(v) || (few && (isPow10(v / 2) || isPow10(v / 5))) ? v : null));
    };
    const decadeLabels = (_u: uPlot, vals: (number | null)[]) => vals.map((v) => (v === null ? '' : logTick(v)));
    const categories = spec.xCategories;
    const logAxis: Partial<uPlot.Axis> = {
      values: decadeLabels,
      filter: decades,
      grid: { stroke: t.grid, width: 1, filter: decades },
      ticks: { stroke: t.grid, width: 1, size: 4, filter: decades },
    };
    return {
      ...this.size(),
      legend: { show: false },
      padding: [8, 22, 0, 0],
      cursor: {
        sync: spec.sync ? { key: spec.sync, setSeries: false } : undefined,
        points: { size: 6 },
        drag: { x: true, y: false, setScale: true },
      },
      scales: {
        x: spec.logX
          ? { time: false, distr: 3, log: 10 }
          : spec.xCategories
            ? { time: false, range: [-0.5, spec.xCategories.length - 0.5] }
            : { time: false },
        y: log
          ? { distr: 3, log: 10, ...(spec.yRange ? { range: spec.yRange } : {}) }
          : spec.yRange
            ? { range: spec.yRange }
            : { range: (_u, min, max) => padRange(min, max, !!spec.yFromZero) },
      },
      axes: [
        axis({
          label: spec.xLabel,
          labelSize: spec.xLabel ? 16 : 0,
          size: 34,
          ...(spec.logX ? logAxis : {}),
          ...(categories ? categoryAxis(categories) : {}),
        }),
        axis({ size: 54, ...(log ? logAxis : { values: yValues }) }),
      ],
      series,
      hooks: {
        setCursor: [(u) => this.updateLegendValues(u.cursor.idx ?? null)],
        setSelect: [
          (u) => {
            if (u.select.width > 0) this.zoomed = true;
          },
        ],
      },
    };
  }

  private buildLegend(entries: { spec: ChartSeriesSpec; idx: number[] }[]): void {
    this.legendEl.replaceChildren();
    this.legend = entries.map(({ spec, idx }) => {
      const row = el('button', 'legend-item');
      row.type = 'button';
      const swatch = el('span', `swatch${spec.dash ? ' dashed' : ''}${spec.points ? ' dot' : ''}`);
      swatch.style.setProperty('--swatch', this.theme.colors[spec.color]);
      const value = el('span', 'legend-value', '');
      row.append(swatch, el('span', 'legend-label', spec.label), value);
      row.title = `Show or hide ${spec.label}`;
      row.addEventListener('click', () => this.onToggle(spec.key));
      const shown = idx.every((i) => this.plot?.series[i]?.show !== false);
      row.classList.toggle('off', !shown);
      this.legendEl.append(row);
      return { spec, row, value, idx };
    });
  }

  /** x in the cursor read-out: its label on a category axis. */
  private xText(v: number): string {
    return this.spec.xCategories?.[v] ?? xLabel(v);
  }

  private updateLegendValues(cursorIdx: number | null): void {
    const u = this.plot;
    if (!u) return;
    const xs = u.data[0];
    let idx = cursorIdx;
    if (idx === null || idx === undefined || idx < 0) {
      this.cursorEl.textContent = xs.length ? `${this.spec.xName ?? 'step'} ${this.xText(xs[xs.length - 1])}` : '';
      idx = xs.length - 1;
    } else {
      this.cursorEl.textContent = `${this.spec.xName ?? 'step'} ${this.xText(xs[idx])}`;
    }
    for (const e of this.legend) {
      // the raw value (not the smoothed one), as the header and the CSV have it
      const col = u.data[e.idx[0]] as (number | null)[] | undefined;
      let v: number | null = null;
      if (col && idx >= 0) {
        // the nearest value at or before the cursor (series have their own x)
        for (let i = idx; i >= 0 && v === null; i--) v = col[i] ?? null;
      }
      e.value.textContent = this.spec.y === 'percent' ? pct(v) : fmt(v);
    }
  }

  /**
   * The legend as the SVG and the PNG exports draw it: per entry its swatch (colour, dash, dot), its label with the
   * value shown, whether it is hidden, and its place (CSS pixels) in rows wrapped to `width`; `height`: of all rows.
   */
  legendLayout(width: number): { items: LegendItem[]; height: number } {
    let x = 0;
    let y = 0;
    const items = this.legend.map((e): LegendItem => {
      const label = `${e.spec.label}${e.value.textContent ? ` ${e.value.textContent}` : ''}`;
      const w = legendItemWidth(label);
      if (x > 0 && x + w > width) {
        x = 0;
        y += LEGEND_ROW;
      }
      const item: LegendItem = {
        key: e.spec.key,
        label,
        color: this.theme.colors[e.spec.color],
        dash: e.spec.dash,
        points: !!e.spec.points,
        off: e.row.classList.contains('off'),
        x,
        y,
      };
      x += w;
      return item;
    });
    return { items, height: items.length ? y + LEGEND_ROW : 0 };
  }

  /**
   * The chart as SVG elements (a vector rendering of what the canvas shows): the chart's title, its legend, the
   * grid, ticks and tick labels of both axes as uPlot laid them out, the x axis label, and one <path class="series">
   * per drawn uPlot series (a polyline; points-only series as a path of dots) clipped to the plot area. `x`, `y`: the
   * top-left corner in the document; returns the markup and the height used. Undefined when nothing is drawn.
   */
  svg(x0: number, y0: number, clipId: string): { markup: string; width: number; height: number } | undefined {
    const u = this.plot;
    if (!u) return undefined;
    const t = this.theme;
    const dpr = uPlot.pxRatio || window.devicePixelRatio || 1;
    const W = u.width;
    const H = u.height;
    const out: string[] = [];
    const titleH = 20;
    const attrs = (o: Record<string, string | number | undefined>) =>
      Object.entries(o)
        .filter(([, v]) => v !== undefined && v !== '')
        .map(([k, v]) => ` ${k}="${escapeHtml(String(v))}"`)
        .join('');
    out.push(`<g class="chart"${attrs({ 'data-chart': this.spec.id, transform: `translate(${r2(x0)},${r2(y0)})` })}>`);
    const titleAttrs = attrs({
      class: 'chart-title',
      x: 0,
      y: 14,
      fill: t.foreground,
      'font-family': t.fontFamily,
      'font-size': 12,
      'font-weight': 600,
    });
    out.push(`<text${titleAttrs}>${escapeHtml(this.spec.title)}</text>`);
    // legend: swatch, label and the value shown, wrapped to the chart's width (as the PNG draws it)
    const legend = this.legendLayout(W);
    const legendItems = legend.items.map((e) => {
      const cy = titleH + e.y + LEGEND_ROW / 2;
      const swatch = e.points
        ? `<circle${attrs({ cx: e.x + 8, cy, r: 3.5, fill: e.color })}/>`
        : `<line${attrs({
            x1: e.x,
            y1: cy,
            x2: e.x + 16,
            y2: cy,
            stroke: e.color,
            'stroke-width': 2,
            'stroke-dasharray': e.dash?.join(' '),
          })}/>`;
      const itemAttrs = attrs({ class: 'legend-item', 'data-key': e.key, opacity: e.off ? 0.45 : undefined });
      const textAttrs = attrs({
        x: e.x + 22,
        y: cy + 4,
        fill: t.foreground,
        'font-family': t.fontFamily,
        'font-size': 11,
      });
      return `<g${itemAttrs}>${swatch}<text${textAttrs}>${escapeHtml(e.label)}</text></g>`;
    });
    out.push(`<g class="legend">${legendItems.join('')}</g>`);
    const top = titleH + legend.height + 4;
    // the plot: canvas-sized group, plot area = uPlot's bbox (canvas pixels / dpr)
    const bx = u.bbox.left / dpr;
    const by = u.bbox.top / dpr;
    const bw = u.bbox.width / dpr;
    const bh = u.bbox.height / dpr;
    out.push(`<g class="plot"${attrs({ transform: `translate(0,${r2(top)})` })}>`);
    const clipRect = attrs({ x: r2(bx), y: r2(by), width: r2(bw), height: r2(bh) });
    out.push(`<clipPath${attrs({ id: clipId })}><rect${clipRect}/></clipPath>`);
    const font = { 'font-family': t.fontFamily, 'font-size': 11, fill: t.muted };
    u.axes.forEach((axis, ai) => {
      const a = axis as uPlot.Axis & {
        _splits?: number[] | null;
        _values?: (string | number | null)[] | null;
        _show?: boolean;
      };
      if (axis.show === false || a._show === false || !a._splits || !a._values) return;
      const scale = ai === 0 ? 'x' : 'y';
      const grid: string[] = [];
      const ticks: string[] = [];
      const labels: string[] = [];
      a._splits.forEach((v, k) => {
        const label = a._values![k];
        if (v === null || label === null || label === '' || !Number.isFinite(v)) return;
        const p = u.valToPos(v, scale);
        if (ai === 0) {
          const px = r2(bx + p);
          grid.push(`M${px} ${r2(by)}V${r2(by + bh)}`);
          ticks.push(`M${px} ${r2(by + bh)}v4`);
          const at = attrs({ x: px, y: r2(by + bh + 16), 'text-anchor': 'middle' });
          labels.push(`<text${at}>${escapeHtml(String(label))}</text>`);
        } else {
          const py = r2(by + p);
          grid.push(`M${r2(bx)} ${py}H${r2(bx + bw)}`);
          ticks.push(`M${r2(bx)} ${py}h-4`);
          const at = attrs({ x: r2(bx - 8), y: r2(by + p + 4), 'text-anchor': 'end' });
          labels.push(`<text${at}>${escapeHtml(String(label))}</text>`);
        }
      });
      const xLabelAttrs = attrs({
        class: 'axis-label',
        x: r2(bx + bw / 2),
        y: r2(H - 4),
        'text-anchor': 'middle',
        ...font,
      });
      out.push(
        `<g${attrs({ class: `axis axis-${scale}` })}>` +
          `<path${attrs({ class: 'grid', d: grid.join(''), stroke: t.grid, 'stroke-width': 1, fill: 'none' })}/>` +
          `<path${attrs({ class: 'ticks', d: ticks.join(''), stroke: t.grid, 'stroke-width': 1, fill: 'none' })}/>` +
          `<g${attrs({ class: 'tick-labels', ...font })}>${labels.join('')}</g>` +
          (ai === 0 && this.spec.xLabel ? `<text${xLabelAttrs}>${escapeHtml(this.spec.xLabel)}</text>` : '') +
          '</g>',
      );
    });
    // the series, in uPlot's drawing order
    const xs = u.data[0] as number[];
    const series: string[] = [];
    for (let i = 1; i < u.series.length; i++) {
      const s = u.series[i];
      const meta = this.seriesMeta[i - 1];
      if (!meta || s.show === false) continue;
      // the charts stroke with colour strings (never a gradient or pattern)
      const strokeStyle = typeof s.stroke === 'function' ? s.stroke(u, i) : s.stroke;
      const stroke = typeof strokeStyle === 'string' ? strokeStyle : t.foreground;
      const ys = u.data[i] as (number | null | undefined)[];
      const pts = s.points as
        | {
            show?: boolean | ((u: uPlot, i: number) => boolean);
            size?: number | ((u: uPlot, i: number) => number);
            fill?: unknown;
          }
        | undefined;
      const dots = s.width === 0 || (typeof pts?.show === 'function' ? pts.show(u, i) : !!pts?.show);
      const d: string[] = [];
      const dotD: string[] = [];
      let pen = false;
      for (let k = 0; k < xs.length; k++) {
        const v = ys[k];
        if (v === null || v === undefined || !Number.isFinite(v)) {
          if (!s.spanGaps) pen = false;
          continue;
        }
        const px = r2(bx + u.valToPos(xs[k], 'x'));
        const py = r2(by + u.valToPos(v, 'y'));
        if (s.width !== 0) {
          d.push(`${pen ? 'L' : 'M'}${px} ${py}`);
          pen = true;
        }
        if (dots) {
          const size = typeof pts?.size === 'function' ? pts.size(u, i) : (pts?.size ?? 6);
          const r = r2(size / 2);
          dotD.push(`M${r2(px - r)} ${py}a${r} ${r} 0 1 0 ${r2(2 * r)} 0a${r} ${r} 0 1 0 ${r2(-2 * r)} 0`);
        }
      }
      const common = { class: 'series', 'data-key': meta.key, 'data-role': meta.role, 'clip-path': `url(#${clipId})` };
      if (s.width === 0) {
        series.push(`<path${attrs({ ...common, d: dotD.join(''), fill: stroke, stroke: 'none' })}/>`);
      } else {
        const line = attrs({
          ...common,
          d: d.join(''),
          fill: 'none',
          stroke,
          'stroke-width': s.width ?? 1,
          'stroke-linejoin': 'round',
          'stroke-linecap': 'round',
          'stroke-dasharray': s.dash?.join(' '),
        });
        series.push(`<path${line}/>`);
        if (dots && dotD.length) {
          const markers = attrs({
            class: 'markers',
            'data-key': meta.key,
            d: dotD.join(''),
            fill: stroke,
            stroke: 'none',
            'clip-path': `url(#${clipId})`,
          });
          series.push(`<path${markers}/>`);
        }
      }
    }
    out.push(`<g class="series-group">${series.join('')}</g>`);
    out.push('</g></g>');
    return { markup: out.join(''), width: W, height: top + H };
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot?.destroy();
    this.card.remove();
  }
}

/** An x value in the cursor read-out: integers as they are (steps, M), others to 4 significant digits (lr). */
function xLabel(v: number): string {
  return Number.isInteger(v) ? String(v) : fmt(v, 4);
}

function r2(v: number): number {
  return Math.round(v * 100) / 100;
}

function isPow10(v: number | null): boolean {
  if (v === null || !(v > 0)) return false;
  const l = Math.log10(v);
  return Math.abs(l - Math.round(l)) < 1e-9;
}

/** The y range for data in [min, max]: 6% margins, at least 2% of the magnitude wide (a flat series). */
function padRange(min: number | null, max: number | null, fromZero: boolean): [number, number] {
  if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (fromZero && min >= 0) return [0, max > 0 ? max * 1.08 : 1];
  const minSpan = 0.02 * Math.max(Math.abs(min), Math.abs(max)) || 1;
  if (max - min < minSpan) {
    const mid = (max + min) / 2;
    return [mid - (minSpan / 2) * 1.12, mid + (minSpan / 2) * 1.12];
  }
  const pad = (max - min) * 0.06;
  return [min - pad, max + pad];
}

/**
 * The charts of a page whose set of charts changes with its data (Compare, Sweep): rebuilt only when their layout
 * changes, re-themed (and the page rendered again) when VS Code's theme does.
 */
export class ChartGrid {
  charts: Chart[] = [];
  theme = readTheme();
  private layoutKey = '';

  constructor(
    private readonly parent: HTMLElement,
    private readonly onToggle: (key: string) => void,
    render: () => void,
  ) {
    onThemeChange(() => {
      this.theme = readTheme();
      for (const c of this.charts) c.setTheme(this.theme);
      render();
    });
  }

  /** Rebuild the charts from `specs` when `layoutKey` (what they show, as text) differs from the last one. */
  layout(layoutKey: string, specs: () => ChartSpec[]): void {
    if (layoutKey === this.layoutKey) return;
    this.layoutKey = layoutKey;
    for (const c of this.charts) c.destroy();
    this.charts = specs().map((spec) => new Chart(this.parent, spec, this.theme, this.onToggle));
  }
}
