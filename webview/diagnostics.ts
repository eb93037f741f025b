// Gradient diagnostics (GradientDiagnosticsPanel's page): from the run's `diagnostics` records — per layer, the
// cosine similarity and relative RMSE of each estimator's gradient to the reference against the number of samples M
// (log axis) at the latest pass; cosine and RMSE at the smallest M over training; a table of the latest values; and
// what the reference is (exact enumeration, or an unbiased mean with its relative standard error).
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import { SERIES, type DiagnosticsPass, type SeriesPayload } from '../src/webviewProtocol';
import { snrText, sqrtReference, sqrtReferenceAnchor, sqrtReferenceKey } from '../src/gradientFigures';
import { estimatorStyle } from '../src/estimators';
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
  type ChartSeriesSpec,
  type ChartSpec,
  type ViewOptions,
  followRun,
  colorOf,
  dashOf,
  rmseVsMChart,
} from './common';

interface DiagnosticsState extends BaseViewState, ViewOptions {}

const state = loadState<DiagnosticsState>({ smoothing: 0, log: true, hidden: [] });

let theme = readTheme();
const data = new PanelData();
const header = createHeader('Gradient diagnostics', { stop: false });

const toolbar = el('div', 'toolbar');
const logBox = document.createElement('vscode-checkbox') as HTMLElement & { checked: boolean };
logBox.id = 'log-scale';
logBox.setAttribute('label', 'Log scale (relative RMSE)');
if (state.log) logBox.setAttribute('checked', '');
logBox.addEventListener('change', () => {
  state.log = logBox.checked;
  saveState(state);
  render();
});
const passNote = el('span', 'note', '');
toolbar.append(
  logBox,
  passNote,
  exportButtons(
    () => `${data.run?.name ?? 'run'}-gradients`,
    () => charts,
    () => theme,
    () => `${data.run?.name ?? ''} — gradient diagnostics`,
  ),
);

const reference = el('div', 'reference');
const content = el('main', 'diagnostics');
document.body.append(header.root, toolbar, reference, content);

let charts: Chart[] = [];
let layoutKey = '';
let tableBody: HTMLTableSectionElement | undefined;

function toggle(key: string): void {
  // an estimator is shown or hidden in every chart at once
  const est = key.split('/').pop()!;
  state.hidden = state.hidden.includes(est) ? state.hidden.filter((k) => k !== est) : [...state.hidden, est];
  saveState(state);
  render();
}

function layersAndEstimators(): { layers: string[]; estimators: string[] } {
  const pass = data.extras.latestDiagnostics;
  if (pass) return { layers: pass.layers, estimators: pass.estimators.map((e) => e.estimator) };
  // no pass in the snapshot (e.g. dropped by a resume): fall back to the series names diag/<metric>/<layer>/<est>
  const layers = new Set<string>();
  const estimators = new Set<string>();
  for (const k of Object.keys(data.series)) {
    const m = /^diag\/(?:cos|rmse)\/(.+)\/([^/]+)$/.exec(k);
    if (m) {
      layers.add(m[1]);
      estimators.add(m[2]);
    }
  }
  return { layers: [...layers], estimators: [...estimators] };
}

function seriesSpecs(estimators: string[], key: (est: string) => string): ChartSeriesSpec[] {
  return estimators.map((e, i) => ({
    key: key(e),
    label: estimatorStyle(e).label,
    color: colorOf(e, i),
    dash: dashOf(e),
    width: e === 'psa' ? 2.25 : 1.75,
  }));
}

/** estimator auto's layers and candidates, from the series names diag/auto/<layer>/<candidate> (first seen first). */
function autoLanes(): { layers: string[]; candidates: string[] } {
  const layers = new Set<string>();
  const candidates = new Set<string>();
  for (const k of Object.keys(data.series)) {
    const m = /^diag\/auto\/(.+)\/([^/]+)$/.exec(k);
    if (m) {
      layers.add(m[1]);
      candidates.add(m[2]);
    }
  }
  return { layers: [...layers], candidates: [...candidates] };
}

function build(layers: string[], estimators: string[], M: number[]): void {
  for (const c of charts) c.destroy();
  charts = [];
  content.replaceChildren();
  tableBody = undefined;
  if (layers.length === 0) {
    const empty = el('div', 'empty-state');
    empty.append(el('h2', '', 'No gradient diagnostics in this run'));
    const p = el('p', '', 'Add a diagnostics section to the model file and train again; every ');
    p.append(
      el('code', '', 'interval'),
      document.createTextNode(
        " steps the trainer compares each estimator's gradient with a reference gradient on a fixed batch " +
          '(its own random stream: training is unchanged).',
      ),
    );
    const pre = el('pre', '', '"diagnostics": { "interval": 50, "estimators": ["psa", "dste", "reinforce", "arm"] }');
    empty.append(p, pre);
    content.append(empty);
    return;
  }
  const mText = M.length ? `M ∈ {${M.join(', ')}}` : 'M';
  const section = (title: string, note: string) => {
    content.append(el('h2', 'section-title', title), el('p', 'section-note', note));
    const grid = el('div', 'small-multiples');
    // one column per layer (rows: cosine, RMSE) while they fit; wider models wrap
    if (layers.length <= 4) {
      grid.classList.add('per-layer');
      grid.style.setProperty('--cols', String(layers.length));
    }
    content.append(grid);
    return grid;
  };
  const mGrid = section(
    'Latest pass: accuracy against the number of samples M',
    'Cosine similarity and relative RMSE of the mean of M estimator samples to the reference gradient, per layer ' +
      `(${mText}, log axis). Dotted grey: the 1/√M slope of an unbiased estimator's RMSE; a biased one levels off.`,
  );
  for (const layer of layers) {
    charts.push(
      new Chart(
        mGrid,
        {
          id: `m-cos-${layer}`,
          title: `${layer} · cosine`,
          logX: true,
          markers: true,
          xLabel: 'M (samples)',
          xName: 'M =',
          height: 190,
          series: seriesSpecs(estimators, (e) => `m/cos/${layer}/${e}`),
        },
        theme,
        toggle,
      ),
    );
  }
  for (const layer of layers) {
    charts.push(
      new Chart(
        mGrid,
        rmseVsMChart(
          layer,
          seriesSpecs(estimators, (e) => `m/rmse/${layer}/${e}`),
        ),
        theme,
        toggle,
      ),
    );
  }
  const tGrid = section(
    `Over training, at M = ${M[0] ?? 1}`,
    "How each estimator's gradient quality evolves as the network trains (cursor synced across these charts).",
  );
  for (const layer of layers) {
    charts.push(
      new Chart(
        tGrid,
        {
          id: `t-cos-${layer}`,
          title: `${layer} · cosine`,
          xLabel: 'step',
          sync: 'sbn-diag-steps',
          height: 190,
          series: seriesSpecs(estimators, (e) => SERIES.diagKey('cos', layer, e)),
        },
        theme,
        toggle,
      ),
    );
  }
  for (const layer of layers) {
    charts.push(
      new Chart(
        tGrid,
        {
          id: `t-rmse-${layer}`,
          title: `${layer} · relative RMSE`,
          xLabel: 'step',
          logY: true,
          sync: 'sbn-diag-steps',
          height: 190,
          series: seriesSpecs(estimators, (e) => SERIES.diagKey('rmse', layer, e)),
        } satisfies ChartSpec,
        theme,
        toggle,
      ),
    );
  }
  const auto = autoLanes();
  if (auto.layers.length > 0) {
    const lanes = auto.candidates.map((c, i) => `${i + 1} ${estimatorStyle(c).label}`).join(', ');
    const aGrid = section(
      'estimator: auto — the estimator each layer trains with',
      'After every pass each layer takes the candidate of least error per unit cost (docs/math.md §3.9); a line at ' +
        `height i marks candidate i (${lanes}).`,
    );
    for (const layer of auto.layers) {
      charts.push(
        new Chart(
          aGrid,
          {
            id: `auto-${layer}`,
            title: `${layer} · chosen estimator`,
            xLabel: 'step',
            sync: 'sbn-diag-steps',
            height: 150,
            markers: true,
            series: seriesSpecs(auto.candidates, (c) => SERIES.autoKey(layer, c)),
          },
          theme,
          toggle,
        ),
      );
    }
  }
  content.append(el('h2', 'section-title', 'Latest values'));
  const wrap = el('div', 'table-wrap');
  const table = el('table', 'values');
  table.id = 'latest-values';
  const head = el('thead');
  const hr = el('tr');
  const last = M[M.length - 1] ?? 1;
  for (const h of [
    'estimator',
    'layer',
    `cos M=${M[0] ?? 1}`,
    'cos 15–85%',
    `cos M=${last}`,
    `rel. RMSE M=${M[0] ?? 1}`,
    `rel. RMSE M=${last}`,
    'SNR',
    'bias',
    'variance',
    's / pass',
  ])
    hr.append(el('th', '', h));
  head.append(hr);
  tableBody = el('tbody');
  table.append(head, tableBody);
  wrap.append(table);
  content.append(wrap);
}

function fillTable(pass: DiagnosticsPass): void {
  if (!tableBody) return;
  const rows: HTMLTableRowElement[] = [];
  const bestCos = new Map<string, number>();
  for (const e of pass.estimators)
    for (const l of e.layers) bestCos.set(l.name, Math.max(bestCos.get(l.name) ?? -Infinity, l.cos[0] ?? -Infinity));
  pass.layers.forEach((layer) => {
    pass.estimators.forEach((e, i) => {
      const l = e.layers.find((x) => x.name === layer);
      if (!l) return;
      const tr = el('tr');
      const estCell = el('td');
      const est = el('span', 'est');
      const sw = el('span', 'swatch');
      sw.style.setProperty('--swatch', theme.colors[colorOf(e.estimator, i)]);
      est.append(sw, document.createTextNode(estimatorStyle(e.estimator).label));
      estCell.append(est);
      const k = l.cos.length - 1;
      const cos1 = el('td', l.cos[0] !== null && l.cos[0] === bestCos.get(layer) ? 'best' : '', fmt(l.cos[0], 3));
      tr.append(
        estCell,
        el('td', '', layer),
        cos1,
        el('td', '', `${fmt(l.cosQ15[0], 2)} – ${fmt(l.cosQ85[0], 2)}`),
        el('td', '', fmt(l.cos[k], 3)),
        el('td', '', fmt(l.rmse[0], 3)),
        el('td', '', fmt(l.rmse[k], 3)),
        el('td', '', snrText(l.variance, l.snr)),
        el('td', '', fmt(l.bias, 3)),
        el('td', '', fmt(l.variance, 3)),
        el('td', '', fmt(e.seconds, 2)),
      );
      rows.push(tr);
    });
  });
  tableBody.replaceChildren(...rows);
}

function renderReference(pass: DiagnosticsPass | null | undefined): void {
  reference.replaceChildren();
  reference.hidden = !pass;
  if (!pass) return;
  reference.classList.toggle('unbiased', pass.reference !== 'exact');
  const b = (t: string) => el('strong', '', t);
  if (pass.reference === 'exact') {
    reference.append(
      'Reference: the ',
      b('exact'),
      " gradient (enumeration of every hidden state: errors below are the estimators' own).",
    );
  } else {
    reference.append(
      'Reference: an ',
      b('unbiased mean'),
      pass.referenceEstimator === 'local-expectation'
        ? ` of ${pass.referenceDraws ?? 'many'} local-expectation draws`
        : ` of ${pass.referenceDraws ?? 'many'} REINFORCE (leave-one-out) draws`,
      ' — exact enumeration does not fit this model. Its relative standard error per layer: ',
      pass.layers.map((l, k) => `${l} ${fmt(pass.referenceError[k], 3)}`).join(', '),
      ". Errors of an estimator below that level are indistinguishable from the reference's own.",
    );
  }
  reference.append(
    el('br'),
    `Pass at step ${pass.step} (epoch ${pass.epoch.toFixed(2)}), ${pass.draws} draws per estimator on a fixed batch, ` +
      `${fmt(pass.seconds, 3)} s.`,
  );
}

/** Per-M series of the latest pass, keyed m/<metric>/<layer>/<estimator>. */
function mSeries(pass: DiagnosticsPass | null | undefined): Record<string, SeriesPayload> {
  const out: Record<string, SeriesPayload> = {};
  if (!pass) return out;
  for (const e of pass.estimators) {
    for (const l of e.layers) {
      out[`m/cos/${l.name}/${e.estimator}`] = { x: pass.M.slice(0, l.cos.length), y: l.cos };
      out[`m/rmse/${l.name}/${e.estimator}`] = { x: pass.M.slice(0, l.rmse.length), y: l.rmse };
    }
  }
  for (const layer of pass.layers) {
    const atOne = pass.estimators.map((e) => e.layers.find((l) => l.name === layer)?.rmse[0] ?? NaN);
    const slope = sqrtReference(pass.M, sqrtReferenceAnchor(atOne));
    if (slope) out[sqrtReferenceKey(layer)] = slope;
  }
  return out;
}

function render(): void {
  const pass = data.extras.latestDiagnostics;
  const { layers, estimators } = layersAndEstimators();
  const M = pass?.M ?? [1];
  const key = JSON.stringify([layers, estimators, M, autoLanes()]);
  if (key !== layoutKey) {
    layoutKey = key;
    build(layers, estimators, M);
  }
  renderReference(pass);
  passNote.textContent = data.extras.diagnosticsPasses
    ? `${data.extras.diagnosticsPasses} pass${data.extras.diagnosticsPasses === 1 ? '' : 'es'} so far`
    : '';
  const all = { ...data.series, ...mSeries(pass) };
  // hidden estimators: ViewOptions.hidden lists estimator names; the charts expect series keys
  const hiddenKeys = Object.keys(all).filter((k) => state.hidden.includes(k.split('/').pop()!));
  for (const c of charts) c.update(all, { smoothing: 0, log: state.log, hidden: hiddenKeys });
  if (pass) fillTable(pass);
  reportRendered(charts, { passes: data.extras.diagnosticsPasses ?? 0, tableRows: tableBody?.rows.length ?? 0 });
}

onThemeChange(() => {
  theme = readTheme();
  for (const c of charts) c.setTheme(theme);
  if (data.extras.latestDiagnostics) fillTable(data.extras.latestDiagnostics);
  render();
});

startMessageLoop(data, (what) => {
  if (what.run) followRun(state, header, data);
  if (what.series || what.extras) render();
});

(window as unknown as { sbnPanel: unknown }).sbnPanel = { data, charts: () => charts, state };
