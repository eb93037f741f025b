// Layer statistics (LayerStatisticsPanel's page): from the run's `layerStats` records — per layer over training the
// firing rate, mean unit entropy, pre-activation spread, saturation, weight and gradient norms; and for each hidden
// layer a heatmap of its pre-activation histogram over time (drawn on a canvas, one column per record) with its colour
// bar: the colour map (src/chartPalette.ts) is the same in every theme, so the bar, not a word, says what it means.
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import { LAYER_STATS, SERIES, type HistogramTrack, type LayerStat } from '../src/webviewProtocol';
import { sequentialColor } from '../src/chartPalette';
import {
  Chart,
  PanelData,
  createHeader,
  el,
  exportButtons,
  fmt,
  loadState,
  onThemeChange,
  readTheme,
  reportRendered,
  saveState,
  startMessageLoop,
  type BaseViewState,
  type ChartSpec,
  type ColorName,
  type ViewOptions,
  followRun,
  viewControls,
} from './common';

interface LayersState extends BaseViewState, ViewOptions {}

const state = loadState<LayersState>({ smoothing: 0, log: false, hidden: [] });

const LAYER_COLORS: ColorName[] = ['blue', 'orange', 'green', 'purple', 'red', 'yellow'];
const STAT_CHARTS: { stat: LayerStat; title: string; subtitle: string; y?: 'percent'; logY?: boolean }[] = [
  { stat: 'firingRate', title: 'Firing rate', subtitle: 'fraction of units on (hidden layers)', y: 'percent' },
  { stat: 'entropy', title: 'Unit entropy', subtitle: "mean entropy of the units' Bernoulli states, bits" },
  { stat: 'preStd', title: 'Pre-activation spread', subtitle: 'standard deviation of the pre-activations' },
  { stat: 'saturated', title: 'Saturation', subtitle: 'fraction of pre-activations with |a| > 4', y: 'percent' },
  { stat: 'weightNorm', title: 'Weight norm', subtitle: 'Frobenius norm per layer', logY: true },
  { stat: 'gradNorm', title: 'Gradient norm', subtitle: "of the step's weight gradient, per layer", logY: true },
];

let theme = readTheme();
const data = new PanelData();
const header = createHeader('Layer statistics', { stop: false });

const toolbar = el('div', 'toolbar');
toolbar.append(
  ...viewControls(state, 'Log scale (norms)', () => render()),
  exportButtons(
    () => `${data.run?.name ?? 'run'}-layers`,
    () => charts,
    () => theme,
    () => `${data.run?.name ?? ''} — layer statistics`,
  ),
);

const content = el('main');
document.body.append(header.root, toolbar, content);

let charts: Chart[] = [];
let heatmaps: Heatmap[] = [];
let layoutKey = '';

function layerNames(): string[] {
  const names: string[] = [];
  for (const k of Object.keys(data.series)) {
    const m = /^layer\/[^/]+\/(.+)$/.exec(k);
    if (m && !names.includes(m[1])) names.push(m[1]);
  }
  return names;
}

function toggle(key: string): void {
  const layer = key.split('/').slice(2).join('/');
  state.hidden = state.hidden.includes(layer) ? state.hidden.filter((k) => k !== layer) : [...state.hidden, layer];
  saveState(state);
  render();
}

const HEATMAP_TITLES: Record<HistogramTrack['kind'], string> = {
  pre: 'pre-activations',
  weight: 'weights',
  firing: 'unit firing rates',
};

/** What a heatmap cell counts, per kind (the colour bar's caption). */
const HEATMAP_COUNTS: Record<HistogramTrack['kind'], string> = {
  pre: 'pre-activations in the bin',
  weight: 'weights in the bin',
  firing: 'units in the bin',
};

/**
 * A cell's colour position: its count over its column's largest count, on a square-root scale (a bin with a hundredth
 * of the maximum still shows).
 */
const colorPosition = (share: number) => Math.sqrt(share);
/** The shares of the column's maximum the colour bar marks. */
const COLOR_BAR_TICKS = [0, 0.1, 0.25, 0.5, 1];

/** The colour bar under a heatmap: the colour map from 0 to the column's maximum, its ticks and what it counts. */
function colorBar(kind: HistogramTrack['kind']): HTMLElement {
  const bar = el('div', 'colorbar');
  bar.setAttribute('role', 'img');
  const caption = `${HEATMAP_COUNTS[kind]}, as a share of its column's largest count (square-root scale)`;
  bar.setAttribute('aria-label', `colour scale: ${caption}, from 0 % to 100 %`);
  const strip = el('canvas', 'colorbar-strip');
  strip.width = 256;
  strip.height = 1;
  const ctx = strip.getContext('2d');
  if (ctx)
    for (let x = 0; x < strip.width; x++) {
      ctx.fillStyle = sequentialColor(x / (strip.width - 1));
      ctx.fillRect(x, 0, 1, 1);
    }
  const ticks = el('div', 'colorbar-ticks');
  for (const share of COLOR_BAR_TICKS) {
    const tick = el('span', 'colorbar-tick', `${Math.round(100 * share)} %`);
    tick.style.left = `${(100 * colorPosition(share)).toFixed(2)}%`;
    ticks.append(tick);
  }
  bar.append(strip, ticks, el('div', 'colorbar-caption', caption));
  return bar;
}

/** A histogram over time: x = records (steps), y = bins (min at the bottom), colour = count (see its colour bar). */
class Heatmap {
  readonly card: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly axis: HTMLElement;
  private resize: ResizeObserver;
  private track: HistogramTrack | undefined;

  constructor(
    parent: HTMLElement,
    readonly layer: string,
    readonly kind: HistogramTrack['kind'],
  ) {
    this.card = el('section', 'chart-card');
    this.card.dataset.chart = `hist-${kind}-${layer}`;
    const head = el('div', 'chart-head');
    head.append(el('h2', 'chart-title', `${layer} · ${HEATMAP_TITLES[kind]}`));
    this.card.append(
      head,
      el(
        'div',
        'chart-subtitle',
        kind === 'firing'
          ? 'how many units fire how often, per record over training; each column scaled to its own maximum'
          : 'histogram per record over training; each column scaled to its own maximum',
      ),
    );
    this.canvas = el('canvas', 'heatmap');
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', `${layer} ${HEATMAP_TITLES[kind]} histogram over training`);
    this.axis = el('div', 'heatmap-axis');
    this.card.append(this.canvas, this.axis, colorBar(kind));
    parent.append(this.card);
    this.resize = new ResizeObserver(() => this.draw());
    this.resize.observe(this.canvas);
  }

  set(track: HistogramTrack): void {
    this.track = track;
    this.draw();
  }

  draw(): void {
    const t = this.track;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(200, Math.floor(this.canvas.clientWidth));
    const h = Math.max(80, Math.floor(this.canvas.clientHeight));
    if (this.canvas.width !== w * dpr || this.canvas.height !== h * dpr) {
      this.canvas.width = w * dpr;
      this.canvas.height = h * dpr;
    }
    const ctx = this.canvas.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = theme.background;
    ctx.fillRect(0, 0, w, h);
    if (!t || t.steps.length === 0) return;
    const labelW = 30;
    const plotW = w - labelW;
    const cols = t.steps.length;
    const bins = t.counts[0]?.length ?? 0;
    const cw = plotW / cols;
    const bh = h / Math.max(1, bins);
    for (let c = 0; c < cols; c++) {
      const counts = t.counts[c];
      const max = Math.max(1, ...counts);
      for (let b = 0; b < bins; b++) {
        ctx.fillStyle = sequentialColor(colorPosition(counts[b] / max));
        ctx.fillRect(labelW + c * cw, h - (b + 1) * bh, Math.ceil(cw), Math.ceil(bh));
      }
    }
    // y labels: the bin range and 0
    ctx.fillStyle = theme.muted;
    ctx.font = theme.font;
    ctx.textBaseline = 'middle';
    const yOf = (v: number) => h - ((v - t.min) / (t.max - t.min)) * h;
    const marks = t.min < 0 && t.max > 0 ? [t.max, 0, t.min] : [t.max, (t.min + t.max) / 2, t.min];
    for (const v of marks) ctx.fillText(fmt(v, 2), 2, Math.min(h - 6, Math.max(6, yOf(v))));
    if (t.min < 0 && t.max > 0) {
      // the zero line, dashed in the text colour over a band of the background: it shows over both ends of the map
      ctx.beginPath();
      ctx.moveTo(labelW, yOf(0));
      ctx.lineTo(w, yOf(0));
      ctx.strokeStyle = theme.background;
      ctx.lineWidth = 3;
      ctx.stroke();
      ctx.strokeStyle = theme.foreground;
      ctx.lineWidth = 1;
      ctx.setLineDash([4, 3]);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    this.axis.replaceChildren(
      el('span', '', `step ${t.steps[0]}`),
      el('span', '', `${cols} records`),
      el('span', '', `step ${t.steps[cols - 1]}`),
    );
  }

  destroy(): void {
    this.resize.disconnect();
    this.card.remove();
  }
}

function build(layers: string[], tracks: HistogramTrack[]): void {
  for (const c of charts) c.destroy();
  for (const hm of heatmaps) hm.destroy();
  charts = [];
  heatmaps = [];
  content.replaceChildren();
  if (layers.length === 0) {
    const empty = el('div', 'empty-state');
    empty.append(el('h2', '', 'No layer statistics yet'));
    const p = el('p', '', 'The trainer records them every ');
    p.append(
      el('code', '', 'diagnostics.statsInterval'),
      document.createTextNode(' steps (default: the log interval; 0 turns them off).'),
    );
    empty.append(p);
    content.append(empty);
    return;
  }
  content.append(el('h2', 'section-title', 'Per layer over training'));
  const grid = el('div', 'chart-grid');
  content.append(grid);
  for (const s of STAT_CHARTS) {
    const present = layers.filter((l) => data.series[SERIES.layerKey(s.stat, l)]);
    if (present.length === 0) continue;
    const spec: ChartSpec = {
      id: `stat-${s.stat}`,
      title: s.title,
      subtitle: s.subtitle,
      y: s.y,
      logY: s.logY,
      xLabel: 'step',
      sync: 'sbn-layer-steps',
      height: 200,
      series: present.map((l) => ({
        key: SERIES.layerKey(s.stat, l),
        label: l,
        color: LAYER_COLORS[layers.indexOf(l) % LAYER_COLORS.length],
        smooth: true,
      })),
    };
    charts.push(new Chart(grid, spec, theme, toggle));
  }
  for (const kind of ['pre', 'firing', 'weight'] as const) {
    const ofKind = tracks.filter((t) => t.kind === kind);
    if (ofKind.length === 0) continue;
    content.append(el('h2', 'section-title', `Histograms of ${HEATMAP_TITLES[kind]} over training`));
    const hgrid = el('div', 'chart-grid');
    content.append(hgrid);
    for (const t of ofKind) heatmaps.push(new Heatmap(hgrid, t.layer, kind));
  }
}

function render(): void {
  const layers = layerNames();
  const tracks = data.extras.histograms ?? [];
  const key = JSON.stringify([
    layers,
    tracks.map((t) => `${t.kind}/${t.layer}`),
    LAYER_STATS.map((s) => layers.filter((l) => data.series[SERIES.layerKey(s, l)]).length),
  ]);
  if (key !== layoutKey) {
    layoutKey = key;
    build(layers, tracks);
  }
  const hidden = Object.keys(data.series).filter((k) => state.hidden.includes(k.split('/').slice(2).join('/')));
  for (const c of charts) c.update(data.series, { smoothing: state.smoothing, log: state.log, hidden });
  for (const hm of heatmaps) {
    const t = tracks.find((x) => x.layer === hm.layer && x.kind === hm.kind);
    if (t) hm.set(t);
  }
  reportRendered(charts, {
    heatmaps: heatmaps.length,
    colorBars: content.querySelectorAll('.chart-card .colorbar').length,
    histogramColumns: tracks.reduce((n, t) => n + t.steps.length, 0),
  });
}

onThemeChange(() => {
  theme = readTheme();
  for (const c of charts) c.setTheme(theme);
  render();
});

startMessageLoop(data, (what) => {
  if (what.run) followRun(state, header, data);
  if (what.series || what.extras) render();
});

(window as unknown as { sbnPanel: unknown }).sbnPanel = { data, charts: () => charts, state };
