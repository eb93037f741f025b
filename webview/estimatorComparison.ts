// SBN: Compare Estimators' result (src/extension/panels/resultPanels.ts feeds it whole): per layer, bars of each
// estimator's cosine to the reference gradient (15–85% interval over the groups of M draws), relative RMSE (± one
// standard error) and SNR (∞ for a deterministic estimator) at a chosen M; cosine and relative RMSE against M with
// the 1/√M slope of an unbiased estimator; a table; Open as Markdown and the exports.
import type { EstimatorComparisonView, SeriesPayload } from '../src/webviewProtocol';
import { estimatorStyle } from '../src/estimators';
import {
  comparisonBars,
  snrText,
  sqrtReference,
  sqrtReferenceAnchor,
  sqrtReferenceKey,
  type BarValue,
} from '../src/gradientFigures';
import {
  BarChart,
  Chart,
  colorOf,
  dashOf,
  el,
  exportButtons,
  fmt,
  followWholeState,
  loadState,
  onThemeChange,
  post,
  readTheme,
  reportRendered,
  saveState,
  valuesTable,
  type BaseViewState,
  type ExportableChart,
  rmseVsMChart,
} from './common';

interface ComparisonState extends BaseViewState {
  /** The result, kept so that the panel restored after a reload shows it again (the host checks it first). */
  result?: EstimatorComparisonView;
  /** Index of the M of the bars. */
  mIndex: number;
  hidden: string[];
}

const state = loadState<ComparisonState>({ mIndex: 0, hidden: [] });
let theme = readTheme();
let view: EstimatorComparisonView | undefined;
let bars: BarChart[] = [];
let lines: Chart[] = [];

const header = el('header', 'run-header');
const titleRow = el('div', 'title-row');
const name = el('h1', 'run-name', '');
const markdown = document.createElement('vscode-button');
markdown.id = 'open-markdown';
markdown.textContent = 'Open as Markdown';
markdown.setAttribute('secondary', '');
markdown.addEventListener('click', () => post({ type: 'openMarkdown' }));
titleRow.append(el('span', 'panel-kind', 'Estimators'), name, el('span', 'spacer'));
const facts = el('div', 'section-note');
facts.id = 'comparison-facts';
header.append(titleRow, facts);

const toolbar = el('div', 'toolbar');
const mLabel = el('label', 'note', 'Bars at M = ');
const mSelect = el('select');
mSelect.id = 'bars-m';
mLabel.append(mSelect);
mSelect.addEventListener('change', () => {
  state.mIndex = Number(mSelect.value);
  saveState(state);
  render();
});
toolbar.append(
  mLabel,
  markdown,
  exportButtons(
    () => `${view?.model ?? 'model'}-estimators`,
    (): ExportableChart[] => [...bars, ...lines],
    () => theme,
    () => `${view?.model ?? ''} — estimator comparison`,
  ),
);
const barsGrid = el('main', 'chart-grid');
barsGrid.id = 'comparison-bars';
const linesTitle = el('h2', 'section-title', 'Against the number of samples M');
const linesNote = el('p', 'section-note', '');
const linesGrid = el('div', 'small-multiples');
linesGrid.id = 'comparison-lines';
const tableWrap = el('div');
document.body.append(header, toolbar, barsGrid, linesTitle, linesNote, linesGrid, tableWrap);

const labelOf = (e: string) => estimatorStyle(e).label;

function build(v: EstimatorComparisonView): void {
  for (const c of bars) c.destroy();
  for (const c of lines) c.destroy();
  barsGrid.replaceChildren();
  linesGrid.replaceChildren();
  const series = v.estimators.map((e, i) => ({
    key: e.estimator,
    label: labelOf(e.estimator),
    color: colorOf(e.estimator, i),
  }));
  const m = v.M[state.mIndex] ?? 1;
  bars = [
    new BarChart(
      barsGrid,
      {
        id: 'bars-cos',
        title: `Cosine to the reference, M = ${m}`,
        subtitle: 'whiskers: 15–85% of the groups of M draws; 1 = the reference direction',
        categories: v.layers,
        series,
        yMax: 1,
      },
      theme,
    ),
    new BarChart(
      barsGrid,
      {
        id: 'bars-rmse',
        title: `Relative RMSE, M = ${m}`,
        subtitle: 'whiskers: ± one standard error; log axis; lower is better',
        categories: v.layers,
        series,
        logY: true,
      },
      theme,
    ),
    new BarChart(
      barsGrid,
      {
        id: 'bars-snr',
        title: 'SNR = ‖mean‖² / variance of one draw',
        subtitle: 'log axis; ∞: deterministic (no variance)',
        categories: v.layers,
        series,
        logY: true,
      },
      theme,
    ),
  ];
  lines = [];
  for (const layer of v.layers) {
    const specs = v.estimators.map((e, i) => ({
      key: `m/cos/${layer}/${e.estimator}`,
      label: labelOf(e.estimator),
      color: colorOf(e.estimator, i),
      dash: dashOf(e.estimator),
      band: { lower: `m/cosLow/${layer}/${e.estimator}`, upper: `m/cosHigh/${layer}/${e.estimator}` },
    }));
    lines.push(
      new Chart(
        linesGrid,
        {
          id: `m-cos-${layer}`,
          title: `${layer} · cosine`,
          logX: true,
          markers: true,
          xLabel: 'M (samples)',
          xName: 'M =',
          height: 190,
          series: specs,
        },
        theme,
        toggle,
      ),
    );
  }
  for (const layer of v.layers) {
    const specs = v.estimators.map((e, i) => ({
      key: `m/rmse/${layer}/${e.estimator}`,
      label: labelOf(e.estimator),
      color: colorOf(e.estimator, i),
      dash: dashOf(e.estimator),
    }));
    lines.push(new Chart(linesGrid, rmseVsMChart(layer, specs), theme, toggle));
  }
}

function toggle(key: string): void {
  const est = key.split('/').pop()!;
  state.hidden = state.hidden.includes(est) ? state.hidden.filter((k) => k !== est) : [...state.hidden, est];
  saveState(state);
  render();
}

/** The per-M series of the line charts, keyed m/<figure>/<layer>/<estimator>, and the 1/√M slopes. */
function mSeries(v: EstimatorComparisonView): Record<string, SeriesPayload> {
  const out: Record<string, SeriesPayload> = {};
  for (const e of v.estimators) {
    for (const l of e.layers) {
      for (const f of ['cos', 'cosLow', 'cosHigh', 'rmse'] as const)
        out[`m/${f}/${l.layer}/${e.estimator}`] = { x: v.M.slice(0, l[f].length), y: l[f] };
    }
  }
  for (const layer of v.layers) {
    const atOne = v.estimators.map((e) => e.layers.find((l) => l.layer === layer)?.rmse[0] ?? NaN);
    const slope = sqrtReference(v.M, sqrtReferenceAnchor(atOne));
    if (slope) out[sqrtReferenceKey(layer)] = slope;
  }
  return out;
}

function renderTable(v: EstimatorComparisonView): void {
  const m = v.M[state.mIndex] ?? 1;
  const rows: string[][] = [];
  for (const layer of v.layers) {
    for (const e of v.estimators) {
      const l = e.layers.find((x) => x.layer === layer);
      if (!l) continue;
      const i = state.mIndex;
      rows.push([
        layer,
        labelOf(e.estimator),
        `${fmt(l.cos[i], 3)} [${fmt(l.cosLow[i], 3)}, ${fmt(l.cosHigh[i], 3)}]`,
        fmt(l.rmse[i], 3),
        fmt(l.variance, 3),
        l.snr === null ? '∞ (deterministic)' : snrText(l.variance, l.snr),
        fmt(l.bias, 3),
        `${fmt(1000 * e.secondsPerDraw, 3)} ms`,
      ]);
    }
  }
  tableWrap.replaceChildren(
    el('h2', 'section-title', 'Values'),
    valuesTable(
      'comparison-table',
      ['layer', 'estimator', `cos M=${m} [15%, 85%]`, `rel. RMSE M=${m}`, 'variance', 'SNR', 'rel. bias', 'per draw'],
      rows,
      (i) => i >= 2,
    ),
  );
}

let builtFor: EstimatorComparisonView | undefined;
let builtIndex = -1;

function render(): void {
  const v = view;
  if (!v) return;
  if (builtFor !== v || builtIndex !== state.mIndex) {
    build(v);
    builtFor = v;
    builtIndex = state.mIndex;
  }
  const figures = (['cos', 'rmse', 'snr'] as const).map((f) => comparisonBars(v, f, state.mIndex));
  figures.forEach((b, k) => {
    const values: Record<string, BarValue[]> = {};
    for (const s of b.series) if (!state.hidden.includes(s.estimator)) values[s.estimator] = s.values;
    bars[k].update(values);
  });
  const hiddenKeys = Object.keys(mSeries(v)).filter((key) => state.hidden.includes(key.split('/').pop()!));
  for (const c of lines) c.update(mSeries(v), { smoothing: 0, log: true, hidden: hiddenKeys });
  renderTable(v);
  const deterministic = v.estimators.filter((e) => e.layers.some((l) => l.snr === null)).length;
  reportRendered([...bars, ...lines], { estimators: v.estimators.length, layers: v.layers.length, deterministic });
}

followWholeState('estimatorComparison', (m) => {
  view = m.view;
  state.result = m.view;
  if (state.mIndex >= m.view.M.length) state.mIndex = 0;
  saveState(state);
  document.title = `Estimators: ${m.view.model}`;
  name.textContent = m.view.model;
  const perLayer = m.view.referenceError.map((e, k) => `${m.view.layers[k]} ${fmt(e, 3)}`).join(', ');
  const refError = m.view.exactReference ? '' : ` (relative standard error ${perLayer})`;
  facts.textContent =
    `Reference: ${m.view.reference}${refError}. ${m.view.draws} draws per estimator; ` +
    `M ∈ {${m.view.M.join(', ')}}. Computed for ${m.view.note}.`;
  mSelect.replaceChildren(
    ...m.view.M.map((mm, i) => {
      const o = el('option', '', String(mm));
      o.value = String(i);
      o.selected = i === state.mIndex;
      return o;
    }),
  );
  linesNote.textContent =
    'Cosine (band: 15–85% of the groups) and relative RMSE of the mean of M draws to the reference, per layer. ' +
    "Dotted grey: the 1/√M slope of an unbiased estimator's RMSE; a biased one levels off.";
  render();
});

onThemeChange(() => {
  theme = readTheme();
  for (const c of bars) c.setTheme(theme);
  for (const c of lines) c.setTheme(theme);
  render();
});

(window as unknown as { sbnPanel: unknown }).sbnPanel = {
  get view() {
    return view;
  },
  charts: () => [...bars, ...lines],
  state,
};
