// SBN: Evaluate Run's result (src/extension/panels/resultPanels.ts feeds it whole): the accuracy of the ensemble of
// s samples (the mean prediction of s draws of the network's binary states) against s, beside the accuracy of a
// single sample; the metrics; Open as Markdown and the exports.
import type { RunEvaluationView, SeriesPayload } from '../src/webviewProtocol';
import {
  Chart,
  el,
  exportButtons,
  fmt,
  followWholeState,
  loadState,
  onThemeChange,
  pct,
  post,
  readTheme,
  reportRendered,
  saveState,
  toggleHidden,
  valuesTable,
  type BaseViewState,
} from './common';
import { evaluationSeries, EVALUATION_SERIES } from '../src/gradientFigures';

interface EvaluationState extends BaseViewState {
  /** The result, kept so that the panel restored after a reload shows it again (the host checks it first). */
  result?: RunEvaluationView;
  hidden: string[];
}

const state = loadState<EvaluationState>({ hidden: [] });
let theme = readTheme();
let view: RunEvaluationView | undefined;

const header = el('header', 'run-header');
const titleRow = el('div', 'title-row');
const name = el('h1', 'run-name', '');
titleRow.append(el('span', 'panel-kind', 'Evaluation'), name, el('span', 'spacer'));
const facts = el('div', 'section-note');
facts.id = 'evaluation-facts';
header.append(titleRow, facts);
const markdown = document.createElement('vscode-button');
markdown.id = 'open-markdown';
markdown.textContent = 'Open as Markdown';
markdown.setAttribute('secondary', '');
markdown.addEventListener('click', () => post({ type: 'openMarkdown' }));
const toolbar = el('div', 'toolbar');
const grid = el('main', 'chart-grid');
const tableWrap = el('div');
const chart = new Chart(
  grid,
  {
    id: 'accuracy-vs-samples',
    title: 'Accuracy against the number of samples',
    subtitle: 'ensemble: the mean prediction of s samples; single sample: one draw of the binary states',
    logX: true,
    markers: true,
    xLabel: 'samples s',
    xName: 's =',
    y: 'percent',
    wide: true,
    height: 260,
    series: [
      { key: EVALUATION_SERIES.ensemble, label: 'ensemble of s samples', color: 'blue', width: 2.25 },
      { key: EVALUATION_SERIES.single, label: 'single sample', color: 'orange', dash: [6, 3] },
    ],
  },
  theme,
  (key) => {
    toggleHidden(state, key);
    render();
  },
);
toolbar.append(
  markdown,
  exportButtons(
    () => `${view?.run ?? 'run'}-evaluation`,
    () => [chart],
    () => theme,
    () => `${view?.run ?? ''} — accuracy against the number of samples`,
  ),
);
document.body.append(header, toolbar, grid, tableWrap);

function render(): void {
  const v = view;
  if (!v) return;
  const series: Record<string, SeriesPayload> = evaluationSeries(v.ensemble, v.acc1);
  chart.update(series, { smoothing: 0, log: false, hidden: state.hidden });
  tableWrap.replaceChildren(
    el('h2', 'section-title', 'Metrics'),
    valuesTable(
      'evaluation-table',
      ['', ''],
      [
        ['single-sample accuracy (acc1)', pct(v.acc1)],
        [`ensemble accuracy, ${v.ensemble.length} samples`, pct(v.ensemble[v.ensemble.length - 1])],
        [`acc_e (${v.metricSamples} samples)`, pct(v.accE)],
        ['u_loss', fmt(v.uLoss)],
        ['predictive entropy', `${fmt(v.entropy, 3)} bits`],
        ['saved to', v.file],
      ],
      (i) => i === 1,
    ),
  );
  reportRendered([chart], { samples: v.ensemble.length });
}

followWholeState('runEvaluation', (m) => {
  view = m.view;
  state.result = m.view;
  saveState(state);
  document.title = `Evaluation: ${m.view.run}`;
  name.textContent = m.view.run;
  facts.textContent =
    `${m.view.model} trained with ${m.view.estimator}; checkpoint at step ${m.view.step} ` +
    `(epoch ${fmt(m.view.epoch, 4)}); ${m.view.split} split, ${m.view.examples} examples; backend ${m.view.backend}.`;
  render();
});

onThemeChange(() => {
  theme = readTheme();
  chart.setTheme(theme);
  render();
});

(window as unknown as { sbnPanel: unknown }).sbnPanel = {
  get view() {
    return view;
  },
  charts: () => [chart],
  state,
};
