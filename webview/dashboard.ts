// The training dashboard (TrainingDashboardPanel's page): loss, accuracy, learning rate, throughput and predictive
// entropy over optimizer steps, with smoothing, a log-scale toggle, a cursor synced across the charts, the run
// header with Stop, and PNG/SVG/CSV/JSON export. Data comes only from the host (src/webviewProtocol/). A learning
// rate constant over the run is a fact of the header, not a chart; the loss chart's epoch-mean dots have a toggle.
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import { SERIES } from '../src/webviewProtocol';
import {
  Chart,
  PanelData,
  createHeader,
  el,
  exportButtons,
  loadState,
  onThemeChange,
  readTheme,
  reportRendered,
  saveState,
  startMessageLoop,
  type BaseViewState,
  type ChartSpec,
  type ViewOptions,
  followRun,
  viewControls,
  toggleHidden,
} from './common';

interface DashboardState extends BaseViewState, ViewOptions {
  /** The user's choice for the loss chart's epoch-mean dots; unset: shown unless the run is long (see below). */
  epochMeans?: boolean;
}

/** Past this many epochs the epoch-mean dots crowd the loss chart: off until the user turns them on. */
const EPOCH_MEANS_MAX_EPOCHS = 20;

const state = loadState<DashboardState>({ smoothing: 0.6, log: false, hidden: [] });

const SYNC = 'sbn-steps';
const CHARTS: ChartSpec[] = [
  {
    id: 'loss',
    title: 'Loss',
    subtitle: 'estimator objective while training; u_loss of the SBN (flip-averaged last layer) at evaluations',
    logY: true,
    sync: SYNC,
    xLabel: 'step',
    wide: true,
    height: 260,
    series: [
      { key: SERIES.objective, label: 'objective (train)', color: 'purple', smooth: true },
      { key: SERIES.evalKey('train', 'u_loss'), label: 'u_loss train', color: 'blue', smooth: true },
      { key: SERIES.evalKey('validation', 'u_loss'), label: 'u_loss validation', color: 'orange', smooth: true },
      { key: SERIES.evalKey('test', 'u_loss'), label: 'u_loss test', color: 'green', points: true },
      { key: SERIES.epochObjective, label: 'epoch mean objective', color: 'red', points: true },
    ],
  },
  {
    id: 'accuracy',
    title: 'Accuracy',
    subtitle: 'acc_e: expected accuracy over samples; acc1: one sample (dashed)',
    y: 'percent',
    sync: SYNC,
    xLabel: 'step',
    series: [
      { key: SERIES.evalKey('train', 'acc_e'), label: 'acc_e train', color: 'blue', smooth: true },
      { key: SERIES.evalKey('validation', 'acc_e'), label: 'acc_e validation', color: 'orange', smooth: true },
      {
        key: SERIES.evalKey('train', 'acc1'),
        label: 'acc1 train',
        color: 'blue',
        dash: [5, 4],
        smooth: true,
        width: 1.25,
      },
      {
        key: SERIES.evalKey('validation', 'acc1'),
        label: 'acc1 validation',
        color: 'orange',
        dash: [5, 4],
        smooth: true,
        width: 1.25,
      },
      { key: SERIES.evalKey('test', 'acc_e'), label: 'acc_e test', color: 'green', points: true },
    ],
  },
  {
    id: 'lr',
    title: 'Learning rate',
    subtitle: 'per optimizer step',
    logY: true,
    sync: SYNC,
    xLabel: 'step',
    series: [{ key: SERIES.lr, label: 'lr', color: 'yellow' }],
  },
  {
    id: 'throughput',
    title: 'Step rate',
    subtitle: 'optimizer steps per second of training time',
    sync: SYNC,
    xLabel: 'step',
    yFromZero: true,
    series: [{ key: SERIES.stepsPerSecond, label: 'steps/s', color: 'green', smooth: true }],
  },
  {
    id: 'entropy',
    title: 'Predictive entropy',
    subtitle: 'bits, at evaluations',
    sync: SYNC,
    xLabel: 'step',
    series: [
      { key: SERIES.evalKey('train', 'entropy'), label: 'train', color: 'blue', smooth: true },
      { key: SERIES.evalKey('validation', 'entropy'), label: 'validation', color: 'orange', smooth: true },
    ],
  },
];

let theme = readTheme();
const data = new PanelData();
const header = createHeader('Training', { stop: true });

// toolbar: smoothing, log scale, export
const toolbar = el('div', 'toolbar');
toolbar.append(
  ...viewControls(state, 'Log scale (loss, lr)', () => renderCharts()),
  exportButtons(
    () => `${data.run?.name ?? 'run'}-dashboard`,
    () => shownCharts(),
    () => theme,
    () => `${data.run?.name ?? ''} — training`,
  ),
);

const grid = el('main', 'chart-grid');
document.body.append(header.root, toolbar, grid);

function toggle(key: string): void {
  toggleHidden(state, key);
  renderCharts();
}

const charts = CHARTS.map((spec) => new Chart(grid, spec, theme, toggle));
const chartById = (id: string) => charts.find((c) => c.spec.id === id)!;

const epochMeansShown = () => state.epochMeans ?? !((data.run?.epochs ?? 0) > EPOCH_MEANS_MAX_EPOCHS);
const epochMeansBox = document.createElement('vscode-checkbox') as HTMLElement & { checked: boolean };
epochMeansBox.id = 'epoch-means';
epochMeansBox.setAttribute('label', 'Epoch means');
epochMeansBox.title = `The mean objective of each epoch (off by default past ${EPOCH_MEANS_MAX_EPOCHS} epochs)`;
epochMeansBox.checked = epochMeansShown();
epochMeansBox.addEventListener('change', () => {
  state.epochMeans = epochMeansBox.checked;
  saveState(state);
  renderCharts();
});
chartById('loss').addControl(epochMeansBox);

/** The charts shown: all but the learning rate's when it is constant (the header says it). */
const shownCharts = () => charts.filter((c) => !c.card.hidden);

function renderCharts(): void {
  chartById('lr').card.hidden = data.run?.constantLr !== undefined;
  const means = epochMeansShown();
  epochMeansBox.checked = means;
  const series = means
    ? data.series
    : Object.fromEntries(Object.entries(data.series).filter(([k]) => k !== SERIES.epochObjective));
  for (const c of shownCharts()) c.update(series, state);
  // a chart with no series at all (e.g. no evaluation yet) stays, showing "Waiting for data…"
  reportRendered(shownCharts(), { epochMeans: means ? 1 : 0, lrChart: chartById('lr').card.hidden ? 0 : 1 });
}

onThemeChange(() => {
  theme = readTheme();
  for (const c of charts) c.setTheme(theme);
  renderCharts();
});

let lastRunKey = '';
startMessageLoop(data, (what) => {
  if (what.run) {
    followRun(state, header, data);
    document.title = data.run ? `Training: ${data.run.name}` : 'Training';
  }
  // the run's epochs and constant lr decide which charts and dots show
  const runKey = JSON.stringify([data.run?.epochs, data.run?.constantLr]);
  if (what.series || runKey !== lastRunKey) renderCharts();
  lastRunKey = runKey;
});

// Debugging aid for tests (read-only): the data as received.
(window as unknown as { sbnPanel: unknown }).sbnPanel = { data, charts: () => charts, state };
