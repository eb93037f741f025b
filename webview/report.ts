// An experiment report page (`sbn experiment gradacc | train`), drawn with the panels' chart code (common.ts), in two
// places: the standalone report.html that the experiment writes for browsers (the result JSON embedded in the page
// as a data element; also rendered to PNG figures in headless Chromium, each figure a <section data-figure="name">),
// and the extension's report panel (src/extension/panels/reportPanel.ts), where the host sends the data, checked,
// in a `report` message. Every string of the data is set as text (el() → textContent), never parsed as markup.
import type {
  GradaccCheckpoint,
  GradaccExperiment,
  SuiteBiasEntry,
  TrainSuiteMethod,
  TrainSuiteReport,
} from '../src/engine/experiments/types';
import type { HostToWebview, SeriesPayload } from '../src/webviewProtocol';
import { estimatorStyle } from '../src/estimators';
import {
  Chart,
  el,
  fmt,
  inVsCode,
  logPageError,
  onThemeChange,
  pct,
  post,
  readTheme,
  saveState,
  type BaseViewState,
  type ChartSpec,
  type ColorName,
  type Theme,
} from './common';

type ReportData = GradaccExperiment | TrainSuiteReport;

// Outside VS Code there are no theme variables: the page is a light document (and so are the PNGs).
if (!inVsCode && !document.body.className.includes('vscode-'))
  document.body.classList.add('vscode-light', 'report-offline');

const root = el('main', 'report');
document.body.append(root);
const charts: { id: string; chart: Chart; series: Record<string, SeriesPayload>; log: boolean }[] = [];
const hidden = new Set<string>();
const COMPANIONS = [':ref', ':objective', ':acc1'];
let theme: Theme = readTheme();

function addChart(
  parent: HTMLElement,
  spec: ChartSpec,
  series: Record<string, SeriesPayload>,
  log = !!spec.logY,
): Chart {
  const chart = new Chart(parent, spec, theme, (key) => {
    // one legend entry per method: it also hides the method's companion curves (the authors' curve, the method's own
    // objective, acc1), drawn but not listed
    const off = !hidden.has(key);
    for (const k of [key, ...COMPANIONS.map((suffix) => key + suffix)])
      if (off) hidden.add(k);
      else hidden.delete(k);
    redraw();
  });
  charts.push({ id: spec.id, chart, series, log });
  return chart;
}

function redraw(): void {
  for (const c of charts) c.chart.update(c.series, { smoothing: 0, log: c.log, hidden: [...hidden] });
  document.body.dataset.rendered = String(charts.filter((c) => c.chart.canvas()).length);
}

function figure(parent: HTMLElement, name: string, title: string, note?: string): HTMLElement {
  const section = el('section', 'report-figure');
  section.dataset.figure = name;
  section.append(el('h3', 'figure-title', title));
  if (note) section.append(el('p', 'figure-note', note));
  const grid = el('div', 'chart-grid');
  section.append(grid);
  parent.append(section);
  return grid;
}

function table(parent: HTMLElement, head: string[], rows: (string | number)[][], cls = 'report-table'): void {
  const t = el('table', cls);
  const tr = el('tr');
  head.forEach((h) => tr.append(el('th', undefined, h)));
  t.append(el('thead'));
  t.tHead!.append(tr);
  const body = el('tbody');
  for (const r of rows) {
    const row = el('tr');
    r.forEach((c) => row.append(el('td', undefined, String(c))));
    body.append(row);
  }
  t.append(body);
  parent.append(t);
}

function header(title: string, lines: string[]): void {
  const h = el('header', 'report-header');
  h.append(el('h1', undefined, title));
  for (const l of lines) h.append(el('p', 'report-meta', l));
  root.append(h);
}

function environmentLines(d: ReportData): string[] {
  const e = d.environment;
  return [
    `${e.created.slice(0, 19).replace('T', ' ')} UTC · backend ${e.backend} · PSA kernels ${e.kernels}`,
    `${e.cpu} × ${e.cpus} · Node ${e.node} · ${e.platform}`,
    `reproduce: ${e.command}`,
  ];
}

// ---------------------------------------------------------------------------------------- Experiment 1 (gradacc)

const LAYER_NAMES = ['hidden layer 1', 'hidden layer 2', 'hidden layer 3', 'output layer'];

function gradaccCheckpoint(c: GradaccCheckpoint): void {
  const section = el('section', 'report-section');
  section.append(el('h2', undefined, c.title));
  const r = c.result;
  section.append(
    el(
      'p',
      'report-meta',
      `${r.draws} draws per estimator, seed ${r.seed}; exact expected loss ${r.exactLoss.toFixed(6)}; ` +
        `exact gradient norms ${r.exactNorms.map((n) => n.norm.toPrecision(3)).join(', ')}`,
    ),
  );
  root.append(section);
  const ref = c.reference;
  const note = ref
    ? `Solid: ours; dashed: the authors' published curves at ${ref.checkpoint} (` +
      (ref.kind === 'quantitative'
        ? 'the same parameters: they should match within Monte-Carlo error'
        : 'their training run, not these parameters: compare the picture, not the numbers') +
      '). Shaded: 15–85% of the cosine over trials.'
    : 'Shaded: 15–85% of the cosine over trials.';
  const grid = figure(
    section,
    `gradacc-${c.id}`,
    `${c.title}: accuracy of M-sample averages vs the exact gradient`,
    note,
  );
  const M = r.M;
  r.estimators[0]?.layers.forEach((layer, k) => {
    for (const metric of ['cos', 'rmse'] as const) {
      const series: Record<string, SeriesPayload> = {};
      const specs: ChartSpec['series'] = [];
      for (const e of r.estimators) {
        const l = e.layers[k];
        // the estimators' one palette and labels (src/estimators.ts: the authors' colours, docs/math.md §3.6)
        const { color, label: name } = estimatorStyle(e.label);
        series[e.label] = { x: M, y: metric === 'cos' ? l.cos : l.rmse };
        if (metric === 'cos') {
          series[`${e.label}:q15`] = { x: M, y: l.cosQ15 };
          series[`${e.label}:q85`] = { x: M, y: l.cosQ85 };
        }
        specs.push({
          key: e.label,
          label: name,
          color,
          width: 1.75,
          ...(metric === 'cos' ? { band: { lower: `${e.label}:q15`, upper: `${e.label}:q85` } } : {}),
        });
        const theirs = ref?.curves[e.label]?.[k];
        if (theirs) {
          const y = metric === 'cos' ? theirs.cos : theirs.rmse;
          const xs: number[] = [];
          const ys: number[] = [];
          y.forEach((v, i) => {
            if (v !== null) {
              xs.push(M[i]);
              ys.push(v);
            }
          });
          if (xs.length) {
            series[`${e.label}:ref`] = { x: xs, y: ys };
            specs.push({
              key: `${e.label}:ref`,
              label: `${name} (authors)`,
              color,
              dash: [5, 4],
              width: 1.25,
              legend: false,
            });
          }
        }
      }
      addChart(
        grid,
        {
          id: `${c.id}-${k}-${metric}`,
          title: `${LAYER_NAMES[k] ?? layer.layer}: ${metric === 'cos' ? 'cosine similarity' : 'relative RMSE'}`,
          series: specs,
          logX: true,
          logY: metric === 'rmse',
          xLabel: 'M (draws averaged)',
          xName: 'M',
          height: 230,
          ...(metric === 'cos' ? { yRange: [-1, 1] as [number, number] } : {}),
        },
        series,
        metric === 'rmse',
      );
    }
  });
  if (ref) {
    const rows: (string | number)[][] = [];
    for (const [label, devs] of Object.entries(ref.deviations)) {
      rows.push([
        estimatorStyle(label).label,
        ...devs.map(
          (dv) =>
            `${dv.maxCosDeviation.toFixed(3)} @${dv.atMCos} · ` +
            `${(100 * dv.maxRmseRelDeviation).toFixed(1)}% @${dv.atMRmse}`,
        ),
      ]);
    }
    section.append(
      el(
        'h3',
        'figure-title',
        ref.kind === 'quantitative'
          ? `Largest deviation from the authors' ${ref.checkpoint} curves ` +
              '(|Δcos| and |RMSE ratio − 1|, with the M where it occurs)'
          : `Difference from the authors' ${ref.checkpoint} curves (a different training run: for orientation only)`,
      ),
    );
    table(section, ['estimator', ...LAYER_NAMES], rows);
  }
  if (c.findings.length) {
    section.append(el('h3', 'figure-title', 'Findings'));
    const ul = el('ul', 'findings');
    c.findings.forEach((f) => ul.append(el('li', undefined, f)));
    section.append(ul);
  }
}

function gradaccReport(d: GradaccExperiment): void {
  header('Experiment 1 — gradient accuracy on the 5-5-5 SBN (docs/math.md §3)', [
    `${d.draws} single-draw estimates per estimator and checkpoint, ` +
      `cut into groups of M ∈ {${d.M[0]} … ${d.M[d.M.length - 1]}}; ` +
      'cosine similarity (mean, 15–85% band) and relative RMSE against the exact gradient per layer.',
    ...environmentLines(d),
  ]);
  const t = d.training;
  if (t) {
    const section = el('section', 'report-section');
    section.append(
      el('h2', undefined, 'Re-created checkpoints: REINFORCE training of the 5-5-5 net (docs/math.md §3.2)'),
    );
    section.append(
      el(
        'p',
        'report-meta',
        `AP2 initialisation, SGD lr ${t.lr}, momentum ${t.momentum}, batch ${t.batchSize}, ${t.epochs} epochs, ` +
          `seed ${t.seed}, ${t.seconds.toFixed(0)} s. ` +
          `Exact expected loss at the saved epochs: ${Object.entries(t.exactLoss)
            .map(([e, v]) => `${e}: ${v.toFixed(6)}`)
            .join(', ')}.`,
      ),
    );
    root.append(section);
    const grid = figure(
      section,
      'gradacc-training',
      'Training objective (REINFORCE estimate of the expected loss, mean per epoch)',
    );
    addChart(
      grid,
      {
        id: 'training-loss',
        title: 'objective per epoch',
        series: [{ key: 'loss', label: 'REINFORCE objective', color: 'orange' }],
        logX: true,
        xLabel: 'epoch',
        xName: 'epoch',
        height: 220,
        wide: true,
      },
      { loss: { x: t.loss.map((_, i) => i + 1), y: t.loss } },
    );
  }
  for (const c of d.checkpoints) gradaccCheckpoint(c);
}

// ------------------------------------------------------------------------------------------ Experiment 2 (train)

/**
 * The authors' choices beside ours (trainSuite.ts SUITE_METHODS: Concrete at τ = 0.5, the deterministic tanh(a)
 * network) get colours no other suite method uses; the others their estimator's.
 */
const AUTHORS_COLORS: Record<string, ColorName> = { 'concrete-authors': 'teal', 'tanh-det': 'brown' };
const methodColor = (method: string): ColorName => AUTHORS_COLORS[method] ?? estimatorStyle(method).color;
const methodLabel = (m: TrainSuiteMethod): string => (m.authors ? `${m.label} — authors' choice` : m.label);

/** Whether a band (trainSuite.ts SEED_CURVES' names) is of an accuracy, a value in [0, 1]. */
const isAccuracy = (band: string): boolean => /(^|\.)acc/.test(band);

/**
 * One series per method from `pick`, or with bands over seeds (m.bands[band]) their mean and, as `<key>:lower` and
 * `<key>:upper`, the 95 % interval that seriesSpecs' `band` draws.
 */
function curveSeries(
  methods: TrainSuiteMethod[],
  pick: (m: TrainSuiteMethod) => { x: number[]; y: number[] } | undefined,
  suffix = '',
  band?: string,
): Record<string, SeriesPayload> {
  const out: Record<string, SeriesPayload> = {};
  for (const m of methods) {
    const b = band === undefined ? undefined : m.bands?.[band];
    const key = m.method + suffix;
    if (b && b.x.length) {
      // an accuracy's interval is drawn within [0, 1] (few seeds give wide Student-t intervals; the table keeps them)
      const bound = (y: (number | null)[]) =>
        isAccuracy(band!) ? y.map((v) => (v === null ? null : Math.min(1, Math.max(0, v)))) : y;
      out[key] = { x: b.x, y: b.mean };
      out[`${key}:lower`] = { x: b.x, y: bound(b.lower) };
      out[`${key}:upper`] = { x: b.x, y: bound(b.upper) };
      continue;
    }
    const c = pick(m);
    if (c && c.x.length) out[key] = { x: c.x, y: c.y };
  }
  return out;
}

/**
 * A final value for a table: with bands over seeds, the mean ± half the 95 % interval at the curve's last (or first)
 * point, the seeds counted; else the one run's value.
 */
function bandValue(
  m: TrainSuiteMethod,
  band: string,
  one: number | undefined,
  format: (v: number) => string,
  at: 'first' | 'last' = 'last',
): string {
  const b = m.bands?.[band];
  if (!b || b.x.length === 0) return one === undefined ? '—' : format(one);
  const i = at === 'first' ? 0 : b.x.length - 1;
  const mean = b.mean[i];
  const [lo, hi] = [b.lower[i], b.upper[i]];
  if (mean === null) return '—';
  if (lo === null || hi === null) return `${format(mean)} (n=${b.n[i]})`;
  const half = (hi - lo) / 2;
  return `${format(mean)} ± ${format === pct ? `${(100 * half).toFixed(2)} pt` : format(half)} (n=${b.n[i]})`;
}

function trainReport(d: TrainSuiteReport): void {
  header(`Experiment 2 — ${d.title} (docs/math.md §4)`, [d.description, ...environmentLines(d)]);
  const methods = d.methods;
  const summary = el('section', 'report-section');
  summary.append(el('h2', undefined, 'Summary'));
  const last = (c: { u_loss: number[]; acc1: number[]; acc_e: number[] }, key: 'u_loss' | 'acc1' | 'acc_e') =>
    c[key][c[key].length - 1];
  const seeded = methods.some((m) => m.bands);
  summary.append(
    el(
      'p',
      undefined,
      (seeded
        ? 'Final values: mean ± half the 95 % Student-t interval over the finished seeds (n), which trained at the ' +
          'rate seed 1 chose; a method without several finished seeds shows its one run. '
        : 'Final values of one seed per method (the protocol is 3: sbn experiment train --seeds 3). ') +
        "lr: the rate the method's search chose (grid: by the validation u_loss; search: Brent's, by the " +
        "method's own training objective). Methods marked \u201cauthors' choice\u201d are the paper's settings where " +
        'ours differ (docs/math.md §2.9, §4.3).',
    ),
  );
  table(
    summary,
    [
      'method',
      'status',
      'lr (chosen by)',
      'epochs',
      's / epoch',
      'train u_loss',
      'val u_loss',
      'val acc1',
      'val acc_e',
      'test acc, 1 sample',
      'test acc, all samples',
    ],
    methods.map((m) => [
      methodLabel(m),
      m.status,
      m.lr === null
        ? '—'
        : `${m.lr.toExponential(2)} (${m.lrCriterion === 'validation.u_loss' ? 'grid, val u_loss' : 'search'})`,
      m.epochs,
      m.secondsPerEpoch === null ? '—' : m.secondsPerEpoch.toFixed(1),
      bandValue(m, 'train.u_loss', last(m.curves.train, 'u_loss'), fmt),
      bandValue(m, 'validation.u_loss', last(m.curves.validation, 'u_loss'), fmt),
      bandValue(m, 'validation.acc1', last(m.curves.validation, 'acc1'), pct),
      bandValue(m, 'validation.acc_e', last(m.curves.validation, 'acc_e'), pct),
      bandValue(m, 'test.accuracy', m.test?.accuracy[0], pct, 'first'),
      m.test
        ? `${bandValue(m, 'test.accuracy', m.test.accuracy[m.test.accuracy.length - 1], pct)} ` +
          `(${m.test.samples[m.test.samples.length - 1]})`
        : '—',
    ]),
  );
  root.append(summary);
  seedSpread(methods);
  layerBias(d.bias ?? []);

  const curves = el('section', 'report-section');
  curves.append(el('h2', undefined, 'Training curves'));
  root.append(curves);
  const grid = figure(
    curves,
    'train-curves',
    'Loss and accuracy as true SBNs (the suite’s evaluation samples per example), every method from the same ' +
      'initial network',
    "Loss: solid = expected NLL of the SBN (u_loss), dotted = the method's own training objective; " +
      'accuracy: solid = ensemble of the evaluation samples (acc_e), dotted = one sample (acc1).' +
      (seeded ? ' With several seeds: lines = the mean over seeds, shaded = its 95 % interval.' : ''),
  );
  // every series may have a band over seeds (curveSeries gives its bounds where the method has them)
  const seriesSpecs = (suffix: string, dash?: number[]): ChartSpec['series'] =>
    methods.map((m) => ({
      key: m.method + suffix,
      label: dash ? `${methodLabel(m)} (${suffix.slice(1)})` : methodLabel(m),
      color: methodColor(m.method),
      dash,
      width: dash ? 1.25 : 1.75,
      legend: !dash,
      band: { lower: `${m.method}${suffix}:lower`, upper: `${m.method}${suffix}:upper` },
    }));
  const xy = (c: { epoch: number[] }, y: number[]) => ({ x: c.epoch, y });
  addChart(
    grid,
    {
      id: 'train-loss',
      title: 'training set: loss',
      series: [...seriesSpecs(''), ...seriesSpecs(':objective', [2, 3])],
      logY: true,
      xLabel: 'epoch',
      xName: 'epoch',
      sync: 'epochs',
    },
    {
      ...curveSeries(methods, (m) => xy(m.curves.train, m.curves.train.u_loss), '', 'train.u_loss'),
      ...curveSeries(
        methods,
        (m) => ({ x: m.curves.objective.epoch, y: m.curves.objective.value }),
        ':objective',
        'objective',
      ),
    },
  );
  addChart(
    grid,
    {
      id: 'val-loss',
      title: 'validation set: loss (u_loss)',
      series: seriesSpecs(''),
      logY: true,
      xLabel: 'epoch',
      xName: 'epoch',
      sync: 'epochs',
    },
    curveSeries(methods, (m) => xy(m.curves.validation, m.curves.validation.u_loss), '', 'validation.u_loss'),
  );
  addChart(
    grid,
    {
      id: 'train-acc',
      title: 'training set: accuracy',
      series: [...seriesSpecs(''), ...seriesSpecs(':acc1', [2, 3])],
      y: 'percent',
      xLabel: 'epoch',
      xName: 'epoch',
      sync: 'epochs',
    },
    {
      ...curveSeries(methods, (m) => xy(m.curves.train, m.curves.train.acc_e), '', 'train.acc_e'),
      ...curveSeries(methods, (m) => xy(m.curves.train, m.curves.train.acc1), ':acc1', 'train.acc1'),
    },
  );
  addChart(
    grid,
    {
      id: 'val-acc',
      title: 'validation set: accuracy',
      series: [...seriesSpecs(''), ...seriesSpecs(':acc1', [2, 3])],
      y: 'percent',
      xLabel: 'epoch',
      xName: 'epoch',
      sync: 'epochs',
    },
    {
      ...curveSeries(methods, (m) => xy(m.curves.validation, m.curves.validation.acc_e), '', 'validation.acc_e'),
      ...curveSeries(methods, (m) => xy(m.curves.validation, m.curves.validation.acc1), ':acc1', 'validation.acc1'),
    },
  );

  const test = el('section', 'report-section');
  test.append(el('h2', undefined, 'Test accuracy vs number of samples (docs/math.md §4.7)'));
  root.append(test);
  const tgrid = figure(
    test,
    'train-test-accuracy',
    'Accuracy of the averaged predictive distribution of s SBN samples',
  );
  addChart(
    tgrid,
    {
      id: 'test-acc',
      title: 'test accuracy',
      series: seriesSpecs(''),
      y: 'percent',
      logX: true,
      markers: true,
      xLabel: 'samples averaged',
      xName: 'samples',
    },
    curveSeries(methods, (m) => (m.test ? { x: m.test.samples, y: m.test.accuracy } : undefined), '', 'test.accuracy'),
  );
  lrChart(methods);
  const notes = methods.filter((m) => m.message);
  if (notes.length) {
    const ul = el('ul', 'findings');
    notes.forEach((m) => ul.append(el('li', undefined, `${m.label}: ${m.message}`)));
    test.append(ul);
  }
}

/**
 * Every method's lr trials against the rate (diverged trials left out), the chosen rate marked by a foreground dot:
 * the validation u_loss of the grid search, or the training objective of Brent's search.
 */
function lrChart(methods: TrainSuiteMethod[]): void {
  const section = el('section', 'report-section');
  section.append(el('h2', undefined, 'Learning-rate selection (docs/math.md §4.5)'));
  root.append(section);
  const criteria = new Set(methods.filter((m) => m.lrTrials.length).map((m) => m.lrCriterion ?? 'train.objective'));
  const byValidation = criteria.size === 1 && criteria.has('validation.u_loss');
  const objective =
    criteria.size > 1
      ? 'trial objective (grid: validation u_loss; search: training objective)'
      : criteria.has('validation.u_loss')
        ? 'validation u_loss at the end of the trial'
        : "the method's training objective over the trial's last epoch";
  const diverged = methods.filter((m) => m.lrTrials.some((t) => t.diverged));
  const notes: string[] = [];
  if (diverged.length)
    notes.push(
      `Diverged trials (+∞, not drawn): ${diverged
        .map(
          (m) =>
            `${methodLabel(m)} at ${m.lrTrials
              .filter((t) => t.diverged)
              .map((t) => t.lr.toPrecision(2))
              .join(', ')}`,
        )
        .join('; ')}.`,
    );
  const yRange = lrChartRange(methods);
  if (yRange) {
    const above = methods.flatMap((m) => m.lrTrials.filter((t) => !t.diverged && t.objective > yRange[1]));
    notes.push(
      `The axis ends at ${yRange[1].toPrecision(3)}, ten times the highest chosen trial's value: ${above.length} ` +
        `trial${above.length === 1 ? '' : 's'} above it run off the top.`,
    );
  }
  const grid = figure(
    section,
    'train-lr-search',
    `Every trial of the learning-rate search: ${objective}; the chosen rate is marked by a dot in the text colour`,
    notes.length ? notes.join(' ') : undefined,
  );
  const series: Record<string, SeriesPayload> = {};
  for (const m of methods) {
    const ok = m.lrTrials.filter((t) => !t.diverged).sort((a, b) => a.lr - b.lr);
    if (ok.length) series[m.method] = { x: ok.map((t) => t.lr), y: ok.map((t) => t.objective) };
    const chosen = chosenTrial(m);
    if (chosen) series[`${m.method}:chosen`] = { x: [chosen.lr], y: [chosen.objective] };
  }
  addChart(
    grid,
    {
      id: 'lr-search',
      title: `learning-rate search: ${byValidation ? 'validation u_loss' : 'trial objective'}`,
      // the chosen rates last, so that no method's line or marker hides them
      series: [
        ...methods.map((m) => ({ key: m.method, label: methodLabel(m), color: methodColor(m.method), width: 1.25 })),
        ...methods.map((m) => ({
          key: `${m.method}:chosen`,
          label: `${methodLabel(m)} (chosen)`,
          color: 'foreground' as const,
          points: true,
          legend: false,
        })),
      ],
      logX: true,
      logY: true,
      markers: true,
      xLabel: 'learning rate',
      xName: 'lr',
      wide: true,
      ...(yRange ? { yRange } : {}),
    },
    series,
    true,
  );
}

/** The trial at the rate the search chose (not diverged), if the report has it. */
function chosenTrial(m: TrainSuiteMethod): TrainSuiteMethod['lrTrials'][number] | undefined {
  const lr = m.lr;
  return lr === null ? undefined : m.lrTrials.find((t) => !t.diverged && Math.abs(Math.log10(t.lr / lr)) < 1e-9);
}

/**
 * The lr chart's y range when far-off trials would squeeze the chosen ones into the bottom of the axis (a trial at
 * a rate that blew up reaches hundreds where the chosen ones differ in the second digit): up to a decade above the
 * worst chosen trial. Undefined when every trial fits within that.
 */
function lrChartRange(methods: TrainSuiteMethod[]): [number, number] | undefined {
  const finite = methods.flatMap((m) => m.lrTrials.filter((t) => !t.diverged && t.objective > 0));
  const chosen = methods.flatMap((m) => chosenTrial(m) ?? []).filter((t) => t.objective > 0);
  if (chosen.length === 0) return undefined;
  const top = 10 * Math.max(...chosen.map((t) => t.objective));
  if (Math.max(...finite.map((t) => t.objective)) <= top) return undefined;
  return [Math.min(...finite.map((t) => t.objective)) / 1.2, top];
}

/** The metrics of the spread table, as the report's `spread` names them, with how each value is written. */
const SPREAD_COLUMNS: { key: string; label: string; format: (v: number) => string }[] = [
  { key: 'validation.u_loss', label: 'val u_loss', format: fmt },
  { key: 'validation.acc_e', label: 'val acc_e', format: pct },
  { key: 'test.acc1', label: 'test acc, 1 sample', format: pct },
  { key: 'test.acc', label: 'test acc, all samples', format: pct },
];

/** With several seeds: per method the mean ± sd and the 95 % interval of the final metrics over its seeds. */
function seedSpread(methods: TrainSuiteMethod[]): void {
  const withSeeds = methods.filter((m) => m.spread && m.seeds);
  if (withSeeds.length === 0) return;
  const section = el('section', 'report-section');
  section.append(el('h2', undefined, 'Spread over seeds'));
  section.append(
    el(
      'p',
      undefined,
      "Seed 1 searched each method's learning rate; the other seeds trained at the rate it chose. " +
        'Mean ± sample standard deviation [95 % Student-t interval] over the finished seeds.',
    ),
  );
  table(
    section,
    ['method', 'seeds finished', ...SPREAD_COLUMNS.map((c) => c.label)],
    withSeeds.map((m) => [
      m.label,
      `${m.seeds!.filter((r) => r.status === 'finished').length}/${m.seeds!.length}`,
      ...SPREAD_COLUMNS.map((c) => {
        const s = m.spread![c.key];
        if (!s || s.mean === null) return '—';
        const sd = s.sd === null ? '' : ` ± ${c.format(s.sd)}`;
        const ci = s.ci95 ? ` [${c.format(s.ci95[0])}, ${c.format(s.ci95[1])}]` : '';
        return `${c.format(s.mean)}${sd}${ci}`;
      }),
    ]),
  );
  root.append(section);
}

/** The per-layer bias of the estimators at init and at the end of seed 1 (`sbn experiment bias`), where measured. */
function layerBias(entries: SuiteBiasEntry[]): void {
  if (entries.length === 0) return;
  const section = el('section', 'report-section');
  section.append(el('h2', undefined, 'Per-layer bias against the reference'));
  section.append(
    el(
      'p',
      undefined,
      "Each method's mean gradient over its draws against the diagnostics reference (exact, or the mean of " +
        'local-expectation draws) on the first training examples, at initialisation and at the last checkpoint of ' +
        'seed 1: cosine, relative error ‖mean − ref‖ / ‖ref‖, and the relative standard errors of both means (a ' +
        'relative error below twice their combined noise floor √(mean SE² + reference SE²) is marked: there it says ' +
        'nothing about bias).',
    ),
  );
  const stageOrder = (e: SuiteBiasEntry) => (e.stage === 'init' ? 0 : 1);
  table(
    section,
    [
      'stage',
      'method',
      'layer',
      'cosine',
      'relative error',
      'noise floor',
      'mean SE',
      'reference SE',
      'reference',
      'examples × draws',
    ],
    [...entries]
      .sort((a, b) => stageOrder(a) - stageOrder(b))
      .flatMap((e) =>
        e.layers.map((l) => [
          e.stage === 'init' ? 'initialisation' : `epoch ${e.epoch}`,
          estimatorStyle(e.estimator).label,
          l.layer,
          fmt(l.cos),
          `${fmt(l.relativeError)}${l.relativeError < 2 * l.noiseFloor ? ' (within noise)' : ''}`,
          fmt(l.noiseFloor),
          fmt(l.meanError),
          fmt(l.referenceError),
          `${e.reference}${e.reference === 'exact' ? '' : ` (${e.referenceDraws} draws)`}`,
          `${e.examples} × ${e.draws}`,
        ]),
      ),
  );
  root.append(section);
}

function draw(data: ReportData): void {
  for (const c of charts) c.chart.destroy();
  charts.length = 0;
  root.replaceChildren();
  if (data.format === 'sbn-experiment-gradacc') gradaccReport(data);
  else trainReport(data);
  document.title = root.querySelector('h1')?.textContent ?? 'SBN Studio report';
  redraw();
}

onThemeChange(() => {
  theme = readTheme();
  for (const c of charts) c.chart.setTheme(theme);
  redraw();
});

const embedded = document.getElementById('report-data');
if (embedded) {
  // the standalone report.html
  draw(JSON.parse(embedded.textContent) as ReportData);
} else {
  // the extension's report panel: the host sends the data (and again whenever the page reloads)
  window.addEventListener('message', (event: MessageEvent<HostToWebview>) => {
    const m = event.data;
    if (!m || typeof m !== 'object' || m.type !== 'report') return;
    // the serializer restores the panel after a window reload from this
    if (m.file) saveState<BaseViewState & { file: string }>({ file: m.file });
    try {
      draw(m.data as unknown as ReportData);
      // what was drawn, for the panel-state command and the tests; the last five count elements in the report that
      // only markup in the data could have made (always 0: every string is set as text)
      const points: Record<string, number> = {};
      for (const c of charts) points[c.id] = Object.values(c.series).reduce((n, s) => n + s.x.length, 0);
      const all = [...root.querySelectorAll('*')];
      post({
        type: 'rendered',
        points,
        charts: charts.filter((c) => c.chart.canvas()).length,
        extras: {
          sections: root.querySelectorAll('section.report-section').length,
          figures: root.querySelectorAll('[data-figure]').length,
          tables: root.querySelectorAll('table').length,
          scripts: root.querySelectorAll('script').length,
          images: root.querySelectorAll('img, svg').length,
          links: root.querySelectorAll('a, area').length,
          frames: root.querySelectorAll('iframe, frame, object, embed').length,
          handlers: all.filter((e) => [...e.attributes].some((a) => a.name.toLowerCase().startsWith('on'))).length,
        },
      });
    } catch (e) {
      logPageError('report', e);
    }
  });
  post({ type: 'ready' });
}
