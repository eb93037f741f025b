// Compare Runs (src/extension/panels/comparePanel.ts feeds it): several runs' curves overlaid against the epoch —
// training objective, u_loss and acc_e (validation solid, train dashed) — one colour per run, a legend of run name +
// estimator, and a table. The host sends the whole picture in one `compare` message.
import { SERIES, type CompareRun, type SeriesPayload } from '../src/webviewProtocol';
import {
  ChartGrid,
  el,
  fmt,
  followWholeState,
  loadState,
  pct,
  reportRendered,
  saveState,
  type BaseViewState,
  type ChartSeriesSpec,
  type ChartSpec,
  type ColorName,
  type ViewOptions,
  toggleHidden,
} from './common';

interface CompareState extends BaseViewState, ViewOptions {
  runDirs?: string[];
}

const state = loadState<CompareState>({ smoothing: 0.6, log: false, hidden: [] });
const COLORS: ColorName[] = ['blue', 'orange', 'green', 'purple', 'red', 'yellow'];
const colorOf = (i: number): ColorName => COLORS[i % COLORS.length];

let runs: CompareRun[] = [];
let series: Record<string, SeriesPayload> = {};

const header = el('header', 'run-header');
const titleRow = el('div', 'title-row');
titleRow.append(el('span', 'panel-kind', 'Compare'), el('h1', 'run-name', 'Runs'));
const legend = el('div', 'compare-runs');
legend.id = 'runs-legend';
header.append(titleRow, legend);
const note = el(
  'div',
  'section-note',
  'x: epoch. Validation solid, train dashed. Each estimator minimises its own objective; u_loss and acc_e are ' +
    'comparable across runs.',
);
const grid = el('main', 'chart-grid');
const tableWrap = el('div', 'table-wrap');
document.body.append(header, note, grid, tableWrap);
const charts = new ChartGrid(grid, toggle, render);

function toggle(key: string): void {
  toggleHidden(state, key);
  render();
}

function label(r: CompareRun): string {
  return `${r.name}${r.estimator ? ` (${r.estimator})` : ''}`;
}

function specs(): ChartSpec[] {
  const per = (key: string, suffix: string, dash?: number[], smooth = false): ChartSeriesSpec[] =>
    runs.map((r, i) => ({
      key: `${i}/${key}`,
      label: `${label(r)}${suffix}`,
      color: colorOf(i),
      dash,
      smooth,
      width: dash ? 1.25 : 1.75,
    }));
  return [
    {
      id: 'objective',
      title: 'Training objective',
      subtitle: 'each estimator\u2019s own objective per step (smoothed)',
      xLabel: 'epoch',
      xName: 'epoch',
      sync: 'sbn-compare',
      wide: true,
      height: 240,
      series: per(SERIES.objective, '', undefined, true),
    },
    {
      id: 'u_loss',
      title: 'u_loss',
      subtitle: 'SBN loss at evaluations',
      xLabel: 'epoch',
      xName: 'epoch',
      sync: 'sbn-compare',
      series: [
        ...per(SERIES.evalKey('validation', 'u_loss'), ' validation'),
        ...per(SERIES.evalKey('train', 'u_loss'), ' train', [5, 4]),
      ],
    },
    {
      id: 'acc_e',
      title: 'acc_e',
      subtitle: 'expected accuracy at evaluations',
      y: 'percent',
      xLabel: 'epoch',
      xName: 'epoch',
      sync: 'sbn-compare',
      series: [
        ...per(SERIES.evalKey('validation', 'acc_e'), ' validation'),
        ...per(SERIES.evalKey('train', 'acc_e'), ' train', [5, 4]),
      ],
    },
  ];
}

function renderLegendAndTable(): void {
  legend.replaceChildren(
    ...runs.map((r, i) => {
      const item = el('span', 'compare-run');
      item.dataset.run = String(i);
      const sw = el('span', 'swatch');
      sw.style.setProperty('--swatch', charts.theme.colors[colorOf(i)]);
      item.append(sw, el('span', 'compare-name', r.name), el('span', 'est', `${r.estimator ?? '?'} · ${r.status}`));
      item.title = r.runDir;
      return item;
    }),
  );
  const table = el('table', 'values');
  table.id = 'compare-table';
  const head = el('thead');
  const hr = el('tr');
  for (const h of ['run', 'estimator', 'status', 'epochs', 'best val acc_e', 'last val u_loss'])
    hr.append(el('th', '', h));
  head.append(hr);
  const body = el('tbody');
  const best = Math.max(...runs.map((r) => r.bestValAccE ?? -Infinity));
  runs.forEach((r, i) => {
    const tr = el('tr');
    const name = el('td');
    const sw = el('span', 'swatch');
    sw.style.setProperty('--swatch', charts.theme.colors[colorOf(i)]);
    const cell = el('span', 'compare-run');
    cell.append(sw, el('span', '', r.name));
    name.append(cell);
    const acc = el(
      'td',
      r.bestValAccE !== null && r.bestValAccE !== undefined && r.bestValAccE === best ? 'best' : '',
      pct(r.bestValAccE),
    );
    tr.append(
      name,
      el('td', '', r.estimator ?? '—'),
      el('td', '', r.status),
      el('td', '', r.epochs !== undefined ? String(r.epochs) : '—'),
      acc,
      el('td', '', fmt(r.lastValULoss)),
    );
    body.append(tr);
  });
  table.append(head, body);
  tableWrap.replaceChildren(table);
}

function render(): void {
  charts.layout(JSON.stringify(runs.map((r) => [r.runDir, r.name, r.estimator])), specs);
  renderLegendAndTable();
  for (const c of charts.charts) c.update(series, state);
  reportRendered(charts.charts, { runs: runs.length, tableRows: runs.length });
}

followWholeState('compare', (m) => {
  runs = m.runs;
  series = m.series;
  state.runDirs = runs.map((r) => r.runDir);
  state.runDir = state.runDirs[0];
  saveState(state);
  document.title = `Compare: ${runs.map((r) => r.name).join(', ')}`;
  render();
});

(window as unknown as { sbnPanel: unknown }).sbnPanel = {
  get runs() {
    return runs;
  },
  get series() {
    return series;
  },
  charts: () => charts.charts,
  state,
};
