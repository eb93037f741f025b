// Shared by the SBN webview scripts (dashboard, diagnostics, layer statistics): the VS Code API handle, the message
// loop (ready → snapshot → deltas), theme colours from VS Code's CSS variables, uPlot charts with a themed legend,
// the run header, and PNG and SVG export of a panel's charts (CSV and JSON: the host writes those). Runs in the
// webview under a strict CSP: no inline styles in markup (element.style via CSSOM only), no eval, nothing from the
// network.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import {
  applySeriesDelta,
  type HostToWebview,
  type PanelExtras,
  type RunState,
  type SeriesPayload,
  type WebviewToHost,
} from '../src/webviewProtocol';
import type { ChartColor } from '../src/estimators';

// ------------------------------------------------------------------------------------------------ VS Code API

interface VsCodeApi<S> {
  postMessage(message: WebviewToHost): void;
  getState(): S | undefined;
  setState(state: S): void;
}
declare const acquireVsCodeApi: (<S>() => VsCodeApi<S>) | undefined;

/** What every panel keeps in the webview state (restored after a reload; the serializer reads `runDir`). */
export interface BaseViewState {
  runDir?: string;
}

// Absent when a page runs outside VS Code (an experiment report opened in a browser, or rendered to PNG).
const api = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi<Record<string, unknown>>() : undefined;
document.getElementById('loading')?.remove();

/** True inside a VS Code webview. */
export const inVsCode = api !== undefined;

export function post(message: WebviewToHost): void {
  api?.postMessage(message);
}

export function loadState<S extends BaseViewState>(defaults: S): S {
  return { ...defaults, ...(api?.getState() as Partial<S> | undefined) };
}

export function saveState<S extends BaseViewState>(state: S): void {
  api?.setState(state as unknown as Record<string, unknown>);
}

// Errors go to the extension's log (the webview's console is out of sight).
window.addEventListener('error', (e) => post({ type: 'error', message: `${e.message} (${e.filename}:${e.lineno})` }));
window.addEventListener('unhandledrejection', (e) => post({ type: 'error', message: String(e.reason) }));

/** The panel's data as received: series (snapshot + deltas), extras and the run state. */
export class PanelData {
  series: Record<string, SeriesPayload> = {};
  extras: PanelExtras = {};
  run: RunState | undefined;
  /** Bumped on each snapshot (charts whose set of series changed rebuild). */
  generation = 0;
}

/**
 * The message loop: says `ready` now and whenever the page becomes visible again, keeps `data` up to date and calls
 * `render` (at most once per animation frame) after each change.
 */
export function startMessageLoop(
  data: PanelData,
  render: (what: { series: boolean; run: boolean; extras: boolean }) => void,
): void {
  let pending = { series: false, run: false, extras: false };
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const what = pending;
    pending = { series: false, run: false, extras: false };
    try {
      render(what);
    } catch (e) {
      post({ type: 'error', message: `render: ${(e as Error).stack ?? e}` });
    }
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    // requestAnimationFrame does not run in a hidden page; a timer backs it up.
    let done = false;
    const once = () => {
      if (!done) {
        done = true;
        flush();
      }
    };
    requestAnimationFrame(once);
    setTimeout(once, 120);
  };
  window.addEventListener('message', (event: MessageEvent<HostToWebview>) => {
    const m = event.data;
    if (!m || typeof m !== 'object') return;
    switch (m.type) {
      case 'snapshot':
        data.series = m.series;
        data.extras = m.extras ?? {};
        data.run = m.run;
        data.generation++;
        pending = { series: true, run: true, extras: true };
        schedule();
        break;
      case 'delta':
        for (const [k, d] of Object.entries(m.series)) {
          const s = (data.series[k] ??= { x: [], y: [] });
          applySeriesDelta(s, d);
        }
        if (m.extras) {
          data.extras = { ...data.extras, ...m.extras };
          pending.extras = true;
        }
        pending.series = true;
        schedule();
        break;
      case 'runState':
        data.run = m.run;
        pending.run = true;
        schedule();
        break;
      case 'exported':
        toast(m.ok ? `Saved ${m.file ?? ''}` : (m.message ?? 'Export failed'), !m.ok);
        break;
      default:
        break;
    }
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') post({ type: 'ready' });
  });
  post({ type: 'ready' });
}

// ------------------------------------------------------------------------------------------------------ theme

export type ColorName = ChartColor;

export interface Theme {
  kind: 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';
  colors: Record<ColorName, string>;
  foreground: string;
  muted: string;
  grid: string;
  border: string;
  background: string;
  font: string;
  fontFamily: string;
}

// VS Code's chart palette has six colours; cyan, brown, pink, gray, olive, teal, indigo, gold, magenta and salmon (for
// the up to 16 methods of a report) are ours, chosen to read on light and dark backgrounds.
const FALLBACK: Record<ColorName, string> = {
  blue: '#3794ff',
  orange: '#d18616',
  green: '#89d185',
  purple: '#b180d7',
  red: '#f14c4c',
  yellow: '#cca700',
  cyan: '#17becf',
  brown: '#a0522d',
  pink: '#e377c2',
  gray: '#8c8c8c',
  olive: '#b5b35c',
  teal: '#4db6ac',
  indigo: '#8c9eff',
  gold: '#ffcf40',
  magenta: '#ff6ec7',
  salmon: '#fa8072',
  foreground: '#cccccc',
};
/** The same colours for a light background where VS Code gives none (a report opened outside VS Code). */
const FALLBACK_LIGHT: Record<ColorName, string> = {
  blue: '#1f77b4',
  orange: '#ff7f0e',
  green: '#2ca02c',
  purple: '#9467bd',
  red: '#d62728',
  yellow: '#bcbd22',
  cyan: '#17becf',
  brown: '#8c564b',
  pink: '#e377c2',
  gray: '#7f7f7f',
  olive: '#808000',
  teal: '#00897b',
  indigo: '#3949ab',
  gold: '#b8860b',
  magenta: '#ad1457',
  salmon: '#e9967a',
  foreground: '#333333',
};

function cssVar(name: string): string {
  return (
    getComputedStyle(document.documentElement).getPropertyValue(name).trim() ||
    getComputedStyle(document.body).getPropertyValue(name).trim()
  );
}

const probe = document.createElement('canvas').getContext('2d');

/** A colour with alpha `a`, whatever CSS colour syntax VS Code gave us. */
export function withAlpha(color: string, a: number): string {
  if (!probe) return color;
  probe.fillStyle = '#000';
  probe.fillStyle = color;
  const c = String(probe.fillStyle);
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c);
  if (hex) return `rgba(${parseInt(hex[1], 16)}, ${parseInt(hex[2], 16)}, ${parseInt(hex[3], 16)}, ${a})`;
  const rgba = /^rgba?\(([^,]+),([^,]+),([^,)]+)/.exec(c);
  if (rgba) return `rgba(${rgba[1].trim()}, ${rgba[2].trim()}, ${rgba[3].trim()}, ${a})`;
  return c;
}

export function readTheme(): Theme {
  const cls = document.body.classList;
  const kind: Theme['kind'] = cls.contains('vscode-high-contrast-light')
    ? 'high-contrast-light'
    : cls.contains('vscode-high-contrast')
      ? 'high-contrast'
      : cls.contains('vscode-light')
        ? 'light'
        : 'dark';
  const hc = kind.startsWith('high-contrast');
  const fallback = document.body.classList.contains('report-offline') ? FALLBACK_LIGHT : FALLBACK;
  const pick = (name: ColorName) => cssVar(`--vscode-charts-${name}`) || fallback[name];
  const foreground = cssVar('--vscode-foreground') || (kind === 'light' ? '#3b3b3b' : FALLBACK.foreground);
  const muted = cssVar('--vscode-descriptionForeground') || withAlpha(foreground, 0.7);
  const border =
    (hc ? cssVar('--vscode-contrastBorder') : '') ||
    cssVar('--vscode-editorWidget-border') ||
    cssVar('--vscode-panel-border') ||
    withAlpha(foreground, 0.3);
  const fontFamily = cssVar('--vscode-font-family') || 'system-ui, sans-serif';
  return {
    kind,
    colors: {
      blue: pick('blue'),
      orange: pick('orange'),
      green: pick('green'),
      purple: pick('purple'),
      red: pick('red'),
      yellow: pick('yellow'),
      cyan: pick('cyan'),
      brown: pick('brown'),
      pink: pick('pink'),
      gray: pick('gray'),
      olive: pick('olive'),
      teal: pick('teal'),
      indigo: pick('indigo'),
      gold: pick('gold'),
      magenta: pick('magenta'),
      salmon: pick('salmon'),
      foreground: cssVar('--vscode-charts-foreground') || foreground,
    },
    foreground,
    muted,
    border,
    grid: withAlpha(foreground, hc ? 0.35 : kind === 'light' ? 0.1 : 0.12),
    background: cssVar('--vscode-editor-background') || (kind === 'light' ? '#ffffff' : '#1e1e1e'),
    font: `11px ${fontFamily}`,
    fontFamily,
  };
}

/** Calls `fn` when VS Code switches the colour theme (it changes the body's class and the CSS variables). */
export function onThemeChange(fn: () => void): void {
  let last = document.body.className;
  new MutationObserver(() => {
    if (document.body.className === last) return;
    last = document.body.className;
    fn();
  }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}

// ------------------------------------------------------------------------------------------------- formatting

export function fmt(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
}

export function pct(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(100 * v).toFixed(digits)}%`;
}

export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * A table of values (class `values`, scrolling in a `table-wrap`): cells are text, or elements placed as they are;
 * `numeric(i)` right-aligns column i. A header of empty strings (a two-column list of facts) gets no header row.
 */
export function valuesTable(
  id: string,
  head: string[],
  rows: (string | HTMLElement)[][],
  numeric: (i: number) => boolean = () => false,
): HTMLElement {
  const t = el('table', 'values');
  t.id = id;
  if (head.some((h) => h)) {
    const thead = el('thead');
    const hr = el('tr');
    head.forEach((h) => hr.append(el('th', '', h)));
    thead.append(hr);
    t.append(thead);
  }
  const tb = el('tbody');
  for (const r of rows) {
    const tr = el('tr');
    r.forEach((c, i) => {
      const td = el('td', numeric(i) ? 'num' : '');
      if (typeof c === 'string') td.textContent = c;
      else td.append(c);
      tr.append(td);
    });
    tb.append(tr);
  }
  t.append(tb);
  const wrap = el('div', 'table-wrap');
  wrap.append(t);
  return wrap;
}

export function toast(text: string, error = false): void {
  const t = el('div', `toast${error ? ' error' : ''}`, text);
  document.body.appendChild(t);
  setTimeout(() => t.remove(), 4000);
}

// ----------------------------------------------------------------------------------------------------- header

/** On a run update: refresh the header and remember the run folder (the panel serializer restores from it). */
export function followRun<S extends BaseViewState>(state: S, header: HeaderParts, data: PanelData): void {
  header.update(data.run);
  if (data.run && state.runDir !== data.run.runDir) {
    state.runDir = data.run.runDir;
    saveState(state);
  }
}

/** The toolbar's smoothing select and log-scale checkbox, bound to the view state; `onChange` redraws. */
export function viewControls<S extends BaseViewState & { smoothing: number; log: boolean }>(
  state: S,
  logLabel: string,
  onChange: () => void,
): HTMLElement[] {
  const label = el('label', 'toolbar-label', 'Smoothing');
  const smoothing = document.createElement('vscode-single-select') as HTMLElement & { value: string };
  smoothing.id = 'smoothing';
  smoothing.setAttribute('aria-label', 'Smoothing');
  for (const v of ['0', '0.6', '0.8', '0.9', '0.95', '0.99']) {
    const o = document.createElement('vscode-option');
    o.setAttribute('value', v);
    o.textContent = v === '0' ? 'off' : v;
    if (Number(v) === state.smoothing) o.setAttribute('selected', '');
    smoothing.append(o);
  }
  smoothing.addEventListener('change', () => {
    state.smoothing = Number(smoothing.value) || 0;
    saveState(state);
    onChange();
  });
  const logBox = document.createElement('vscode-checkbox') as HTMLElement & { checked: boolean };
  logBox.id = 'log-scale';
  logBox.setAttribute('label', logLabel);
  if (state.log) logBox.setAttribute('checked', '');
  logBox.addEventListener('change', () => {
    state.log = logBox.checked;
    saveState(state);
    onChange();
  });
  return [label, smoothing, logBox];
}

export interface HeaderParts {
  root: HTMLElement;
  update(run: RunState | undefined): void;
}

/** The run header: name, status, estimator, backend, epoch, step, ETA, latest accuracy, progress, Stop. */
export function createHeader(title: string, opts: { stop: boolean }): HeaderParts {
  const root = el('header', 'run-header');
  const top = el('div', 'title-row');
  const kind = el('span', 'panel-kind', title);
  const name = el('h1', 'run-name', 'Loading…');
  const badge = el('span', 'status-badge', '');
  const spacer = el('span', 'spacer');
  top.append(kind, name, badge, spacer);
  let stopButton: HTMLElement | undefined;
  if (opts.stop) {
    stopButton = document.createElement('vscode-button');
    stopButton.id = 'stop';
    stopButton.textContent = 'Stop training';
    stopButton.setAttribute('secondary', '');
    stopButton.hidden = true;
    stopButton.addEventListener('click', () => {
      stopButton!.setAttribute('disabled', '');
      stopButton!.textContent = 'Stopping…';
      post({ type: 'stop' });
    });
    top.append(stopButton);
  }
  const facts = el('div', 'facts');
  const progress = el('div', 'progress');
  const bar = el('div', 'progress-bar');
  progress.append(bar);
  root.append(top, facts, progress);
  const fact = (label: string, value: string, cls = '') => {
    const f = el('span', `fact ${cls}`);
    f.append(el('span', 'fact-label', label), el('span', 'fact-value', value));
    return f;
  };
  return {
    root,
    update(run) {
      if (!run) return;
      name.textContent = run.name;
      name.title = run.runDir;
      badge.textContent = run.status;
      badge.dataset.status = run.status;
      badge.title = run.statusDetail ?? '';
      facts.replaceChildren(
        fact('estimator', run.estimator ?? '—'),
        fact('backend', run.backendDetail ?? run.backend ?? '—', 'backend'),
        ...(run.kernels ? [fact('kernels', run.kernels, 'kernels')] : []),
        fact('epoch', run.epoch !== undefined ? `${run.epoch.toFixed(2)}${run.epochs ? ` / ${run.epochs}` : ''}` : '—'),
        fact('step', run.step !== undefined ? `${run.step}${run.totalSteps ? ` / ${run.totalSteps}` : ''}` : '—'),
        ...(run.status === 'running' ? [fact('ETA', duration(run.etaSeconds), 'eta')] : []),
        fact('elapsed', duration(run.elapsed)),
        ...(run.stepsPerSecond ? [fact('steps/s', fmt(run.stepsPerSecond, 3))] : []),
        ...(run.lastEval?.validation ? [fact('val acc_e', pct(run.lastEval.validation.acc_e))] : []),
        ...(run.lastEval?.test ? [fact('test acc_e', pct(run.lastEval.test.acc_e))] : []),
        ...(run.statusDetail && run.status !== 'running' ? [fact('detail', run.statusDetail, 'detail')] : []),
      );
      const frac =
        run.totalSteps && run.step !== undefined
          ? Math.min(1, run.step / run.totalSteps)
          : run.status === 'finished'
            ? 1
            : 0;
      bar.style.width = `${(100 * frac).toFixed(1)}%`;
      progress.dataset.status = run.status;
      if (stopButton) {
        const wasHidden = stopButton.hidden;
        stopButton.hidden = !run.canStop;
        if (run.canStop && wasHidden) {
          stopButton.removeAttribute('disabled');
          stopButton.textContent = 'Stop training';
        }
      }
    },
  };
}

// ------------------------------------------------------------------------------------------------------ charts

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
  /** Fixed y range (e.g. cosine in [-1, 1]). */
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

/** A titled uPlot chart card with a themed legend that shows values at the (synced) cursor. */
export class Chart {
  readonly card: HTMLElement;
  private readonly plotEl: HTMLElement;
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
    const decades = (_u: uPlot, splits: number[]) => splits.map((v) => (isPow10(v) ? v : null));
    const decadeLabels = (_u: uPlot, vals: (number | null)[]) =>
      vals.map((v) => (v === null || !isPow10(v) ? '' : fmt(v, 3)));
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
        x: spec.logX ? { time: false, distr: 3, log: 10 } : { time: false },
        y: log
          ? { distr: 3, log: 10 }
          : spec.yRange
            ? { range: spec.yRange }
            : { range: (_u, min, max) => padRange(min, max, !!spec.yFromZero) },
      },
      axes: [
        axis({ label: spec.xLabel, labelSize: spec.xLabel ? 16 : 0, size: 34, ...(spec.logX ? logAxis : {}) }),
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

  private updateLegendValues(cursorIdx: number | null): void {
    const u = this.plot;
    if (!u) return;
    const xs = u.data[0];
    let idx = cursorIdx;
    if (idx === null || idx === undefined || idx < 0) {
      this.cursorEl.textContent = xs.length ? `${this.spec.xName ?? 'step'} ${xLabel(xs[xs.length - 1])}` : '';
      idx = xs.length - 1;
    } else {
      this.cursorEl.textContent = `${this.spec.xName ?? 'step'} ${xLabel(xs[idx])}`;
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
    const legendRow = 18;
    const attrs = (o: Record<string, string | number | undefined>) =>
      Object.entries(o)
        .filter(([, v]) => v !== undefined && v !== '')
        .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
        .join('');
    out.push(`<g class="chart"${attrs({ 'data-chart': this.spec.id, transform: `translate(${r2(x0)},${r2(y0)})` })}>`);
    out.push(
      `<text${attrs({ class: 'chart-title', x: 0, y: 14, fill: t.foreground, 'font-family': t.fontFamily, 'font-size': 12, 'font-weight': 600 })}>${xmlEscape(this.spec.title)}</text>`,
    );
    // legend: swatch, label and the value shown, wrapped to the chart's width
    let lx = 0;
    let ly = titleH;
    const legendItems: string[] = [];
    for (const e of this.legend) {
      const label = `${e.spec.label}${e.value.textContent ? ` ${e.value.textContent}` : ''}`;
      const w = 22 + 6.2 * label.length + 12;
      if (lx > 0 && lx + w > W) {
        lx = 0;
        ly += legendRow;
      }
      const color = t.colors[e.spec.color];
      const off = e.row.classList.contains('off');
      const cy = ly + legendRow / 2;
      const swatch = e.spec.points
        ? `<circle${attrs({ cx: lx + 8, cy, r: 3.5, fill: color })}/>`
        : `<line${attrs({ x1: lx, y1: cy, x2: lx + 16, y2: cy, stroke: color, 'stroke-width': 2, 'stroke-dasharray': e.spec.dash?.join(' ') })}/>`;
      legendItems.push(
        `<g${attrs({ class: 'legend-item', 'data-key': e.spec.key, opacity: off ? 0.45 : undefined })}>${swatch}<text${attrs({ x: lx + 22, y: cy + 4, fill: t.foreground, 'font-family': t.fontFamily, 'font-size': 11 })}>${xmlEscape(label)}</text></g>`,
      );
      lx += w;
    }
    out.push(`<g class="legend">${legendItems.join('')}</g>`);
    const top = ly + (this.legend.length ? legendRow : 0) + 4;
    // the plot: canvas-sized group, plot area = uPlot's bbox (canvas pixels / dpr)
    const bx = u.bbox.left / dpr;
    const by = u.bbox.top / dpr;
    const bw = u.bbox.width / dpr;
    const bh = u.bbox.height / dpr;
    out.push(`<g class="plot"${attrs({ transform: `translate(0,${r2(top)})` })}>`);
    out.push(
      `<clipPath${attrs({ id: clipId })}><rect${attrs({ x: r2(bx), y: r2(by), width: r2(bw), height: r2(bh) })}/></clipPath>`,
    );
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
          labels.push(
            `<text${attrs({ x: px, y: r2(by + bh + 16), 'text-anchor': 'middle' })}>${xmlEscape(String(label))}</text>`,
          );
        } else {
          const py = r2(by + p);
          grid.push(`M${r2(bx)} ${py}H${r2(bx + bw)}`);
          ticks.push(`M${r2(bx)} ${py}h-4`);
          labels.push(
            `<text${attrs({ x: r2(bx - 8), y: r2(by + p + 4), 'text-anchor': 'end' })}>${xmlEscape(String(label))}</text>`,
          );
        }
      });
      out.push(
        `<g${attrs({ class: `axis axis-${scale}` })}>` +
          `<path${attrs({ class: 'grid', d: grid.join(''), stroke: t.grid, 'stroke-width': 1, fill: 'none' })}/>` +
          `<path${attrs({ class: 'ticks', d: ticks.join(''), stroke: t.grid, 'stroke-width': 1, fill: 'none' })}/>` +
          `<g${attrs({ class: 'tick-labels', ...font })}>${labels.join('')}</g>` +
          (ai === 0 && this.spec.xLabel
            ? `<text${attrs({ class: 'axis-label', x: r2(bx + bw / 2), y: r2(H - 4), 'text-anchor': 'middle', ...font })}>${xmlEscape(this.spec.xLabel)}</text>`
            : '') +
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
      const stroke = typeof s.stroke === 'function' ? String(s.stroke(u, i)) : String(s.stroke ?? t.foreground);
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
        series.push(
          `<path${attrs({ ...common, d: d.join(''), fill: 'none', stroke, 'stroke-width': s.width ?? 1, 'stroke-linejoin': 'round', 'stroke-linecap': 'round', 'stroke-dasharray': s.dash?.join(' ') })}/>`,
        );
        if (dots && dotD.length)
          series.push(
            `<path${attrs({ class: 'markers', 'data-key': meta.key, d: dotD.join(''), fill: stroke, stroke: 'none', 'clip-path': `url(#${clipId})` })}/>`,
          );
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

export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
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

// ---------------------------------------------------------------------------------------------------- export

/** One PNG of the given charts stacked in a grid (titles included), on the editor background. */
export function chartsPng(charts: Chart[], title: string, theme: Theme): string | undefined {
  const drawn = charts
    .map((c) => ({ c, canvas: c.canvas() }))
    .filter((d): d is { c: Chart; canvas: HTMLCanvasElement } => !!d.canvas && d.canvas.width > 0);
  if (!drawn.length) return undefined;
  const cols = drawn.length > 1 ? 2 : 1;
  const cw = Math.max(...drawn.map((d) => d.canvas.width));
  const ch = Math.max(...drawn.map((d) => d.canvas.height));
  const dpr = window.devicePixelRatio || 1;
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
    ctx.drawImage(d.canvas, x, y + titleH);
  });
  return out.toDataURL('image/png');
}

/**
 * One SVG document of the given charts in the same grid as the PNG (title, then per chart its title, legend, axes and
 * series as vectors), on the editor background. Undefined when no chart is drawn.
 */
export function chartsSvg(charts: Chart[], title: string, theme: Theme): string | undefined {
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
    `<title>${xmlEscape(title)}</title>` +
    `<rect width="100%" height="100%" fill="${xmlEscape(theme.background)}"/>` +
    `<text x="${gap}" y="22" fill="${xmlEscape(theme.foreground)}" font-family="${xmlEscape(theme.fontFamily)}" font-size="14" font-weight="600">${xmlEscape(title)}</text>` +
    parts.map((p) => p.markup).join('') +
    '</svg>\n'
  );
}

/** Toolbar buttons Export PNG / SVG (the charts as drawn) and CSV / JSON (the host's full-resolution series). */
export function exportButtons(
  name: () => string,
  charts: () => Chart[],
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
export function reportRendered(charts: Chart[], extras?: Record<string, number>): void {
  const points: Record<string, number> = {};
  for (const c of charts) Object.assign(points, c.points);
  post({ type: 'rendered', points, charts: charts.filter((c) => c.canvas()).length, ...(extras ? { extras } : {}) });
}
