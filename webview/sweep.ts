// The Sweep panel (src/extension/panels/sweepPanel.ts feeds it): a sweep's progress, the objective against each
// swept field (mean over seeds with its 95 % band, one line per combination of the other fields) and the table of
// grid points. A click on a row opens that point's run in the training dashboard; Compare best opens Compare Runs
// on the best points. The host sends the whole picture in one `sweep` message whenever sweep.json changes.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { SeriesPayload, SweepTableRow, SweepView, SweepWebviewMessage } from '../src/webviewProtocol';
import {
  ChartGrid,
  el,
  fmt,
  followWholeState,
  loadState,
  post,
  reportRendered,
  saveState,
  type BaseViewState,
  type ChartSpec,
  type ColorName,
  type ViewOptions,
  toggleHidden,
} from './common';

interface SweepPageState extends BaseViewState, ViewOptions {}

const state = loadState<SweepPageState>({ smoothing: 0, log: false, hidden: [] });
const COLORS: ColorName[] = ['blue', 'orange', 'green', 'purple', 'red', 'yellow'];

let view: SweepView | undefined;
let series: Record<string, SeriesPayload> = {};

const header = el('header', 'run-header');
const titleRow = el('div', 'title-row');
const title = el('h1', 'run-name', 'Sweep');
titleRow.append(el('span', 'panel-kind', 'Sweep'), title);
const progress = el('div', 'sweep-progress');
progress.id = 'sweep-progress';
const buttons = el('div', 'active-buttons');
function button(id: string, text: string, message: SweepWebviewMessage, secondary = true): HTMLElement {
  const b = document.createElement('vscode-button');
  b.id = id;
  b.textContent = text;
  if (secondary) b.setAttribute('secondary', '');
  b.addEventListener('click', () => post(message));
  return b;
}
const compareBest = button('compare-best', 'Compare best', { type: 'compareBest' }, false);
const stop = button('stop', 'Stop', { type: 'sweepAction', action: 'stop' });
const resume = button('resume', 'Resume', { type: 'sweepAction', action: 'resume' });
const report = button('report', 'Report', { type: 'sweepAction', action: 'report' });
buttons.append(compareBest, stop, resume, report);
header.append(titleRow, progress, buttons);
const note = el('div', 'section-note', '');
const grid = el('main', 'chart-grid');
const tableWrap = el('div', 'table-wrap');
document.body.append(header, note, grid, tableWrap);
const charts = new ChartGrid(grid, toggle, render);

function toggle(key: string): void {
  toggleHidden(state, key);
  render();
}

function specs(v: SweepView): ChartSpec[] {
  return v.charts.map((c) => ({
    id: `field-${c.field}`,
    title: `${v.objective.metric} against ${c.field}`,
    subtitle: `mean over seeds, 95 % band (${v.objective.mode === 'min' ? 'lower' : 'higher'} is better)`,
    xLabel: c.field,
    xName: c.field,
    logX: c.logX,
    xCategories: c.categories,
    markers: true,
    series: c.series.map((s, i) => ({
      key: s.key,
      label: s.label,
      color: COLORS[i % COLORS.length],
      band: { lower: `${s.key}/lo`, upper: `${s.key}/hi` },
    })),
  }));
}

function interval(r: SweepTableRow): string {
  if (r.mean === null) return '—';
  const sd = r.sd === null ? '' : ` ± ${fmt(r.sd)}`;
  const ci = r.ci95 ? ` [${fmt(r.ci95[0])}, ${fmt(r.ci95[1])}]` : '';
  return `${fmt(r.mean)}${sd}${ci}`;
}

function statusText(r: SweepTableRow): string {
  const parts = [`${r.status.finished}/${r.seeds} finished`];
  if (r.status.running) parts.push(`${r.status.running} running`);
  if (r.status.failed) parts.push(`${r.status.failed} failed`);
  return parts.join(', ');
}

function renderTable(v: SweepView): void {
  const table = el('table', 'values sweep-table');
  table.id = 'sweep-table';
  const head = el('thead');
  const hr = el('tr');
  for (const h of ['point', ...v.fields, 'runs', `${v.objective.metric} mean ± sd [95 % CI]`])
    hr.append(el('th', '', h));
  head.append(hr);
  const body = el('tbody');
  for (const r of v.rows) {
    const tr = el('tr', r.runs.length ? 'clickable' : '');
    tr.dataset.point = String(r.index);
    tr.append(
      el('td', '', String(r.index)),
      ...r.values.map((x) => el('td', '', x)),
      el('td', '', statusText(r)),
      el('td', r.best ? 'best' : '', interval(r)),
    );
    tr.title = r.failure
      ? `failed: ${r.failure}`
      : r.runs.length
        ? 'Open this point\u2019s run in the training dashboard'
        : 'No run of this point has finished yet';
    // its first finished run (seed order); the others are in the Runs view under the sweep
    if (r.runs.length) tr.addEventListener('click', () => post({ type: 'openRun', runDir: r.runs[0] }));
    body.append(tr);
  }
  table.append(head, body);
  tableWrap.replaceChildren(table);
}

function render(): void {
  if (!view) return;
  const v = view;
  title.textContent = v.name;
  progress.textContent = v.problem ?? v.progress;
  stop.hidden = !v.running;
  resume.hidden = !v.resumable;
  compareBest.toggleAttribute('disabled', !v.rows.some((r) => r.runs.length > 0));
  note.textContent = v.problem
    ? ''
    : `Objective ${v.objective.metric} (${v.objective.mode}). Click a row to open its run in the training dashboard.`;
  charts.layout(JSON.stringify(specs(v)), () => specs(v));
  renderTable(v);
  for (const c of charts.charts) c.update(series, state);
  reportRendered(charts.charts, { rows: v.rows.length, finishedPoints: v.rows.filter((r) => r.mean !== null).length });
}

followWholeState('sweep', (m) => {
  view = m.view;
  series = m.series;
  state.runDir = view.dir;
  saveState(state);
  document.title = `Sweep: ${view.name}`;
  render();
});

(window as unknown as { sbnPanel: unknown }).sbnPanel = {
  get view() {
    return view;
  },
  get series() {
    return series;
  },
  charts: () => charts.charts,
  state,
};
