// The Active Run sidebar view (src/extension/panels/activeRunView.ts feeds it): the training run at a glance —
// status, step / epoch / ETA, sparklines of the objective and the validation acc_e, Stop and Open Dashboard; or, when
// nothing trains, an empty state with New Model File. Same message loop as the panels (snapshot → deltas → runState)
// plus `idle`.
import uPlot from 'uplot';
import { SERIES, type HostToWebview, type SeriesPayload } from '../src/webviewProtocol';
import {
  PanelData,
  duration,
  el,
  epochText,
  fmt,
  onThemeChange,
  pct,
  post,
  readTheme,
  showProgress,
  startMessageLoop,
  stepText,
  withAlpha,
  type ColorName,
  type Theme,
} from './common';

let theme = readTheme();
const data = new PanelData();
let idle: Extract<HostToWebview, { type: 'idle' }> | undefined;

const root = el('main', 'active-run');
document.body.append(root);

// ------------------------------------------------------------------------------------------------ empty state
const empty = el('section', 'active-empty');
empty.id = 'empty';
const emptyTitle = el('p', 'active-empty-title', 'No training run in progress.');
const emptyLine = el(
  'p',
  'active-empty-line',
  'Open a model file (*.sbn.yaml or *.sbn.json) and use Train Model — the ▶ Train lens above the model or the ' +
    'editor title button — to follow the run here.',
);
const newModel = document.createElement('vscode-button');
newModel.id = 'new-model';
newModel.textContent = 'New Model File';
newModel.addEventListener('click', () => post({ type: 'command', command: 'newModelFile' }));
const lastRun = el('p', 'active-last');
const lastOpen = el('a', 'active-link', 'Open its dashboard');
lastOpen.id = 'last-dashboard';
lastOpen.setAttribute('href', '#');
lastOpen.addEventListener('click', (e) => {
  e.preventDefault();
  post({ type: 'command', command: 'openDashboard' });
});
empty.append(emptyTitle, emptyLine, newModel, lastRun);

// -------------------------------------------------------------------------------------------------- run state
const running = el('section', 'active-running');
running.id = 'running';
const titleRow = el('div', 'active-title-row');
const name = el('span', 'active-name', '');
const badge = el('span', 'status-badge', '');
titleRow.append(name, badge);
const facts = el('div', 'active-facts');
const progress = el('div', 'progress');
const bar = el('div', 'progress-bar');
progress.append(bar);
const buttons = el('div', 'active-buttons');
const stop = document.createElement('vscode-button');
stop.id = 'stop';
stop.textContent = 'Stop';
stop.setAttribute('secondary', '');
stop.addEventListener('click', () => {
  stop.setAttribute('disabled', '');
  stop.textContent = 'Stopping…';
  post({ type: 'stop' });
});
const openDash = document.createElement('vscode-button');
openDash.id = 'open-dashboard';
openDash.textContent = 'Open Dashboard';
openDash.addEventListener('click', () => post({ type: 'command', command: 'openDashboard' }));
buttons.append(openDash, stop);

/** A sparkline: no axes, no legend, no cursor; the latest value beside its title. */
class Sparkline {
  readonly box: HTMLElement;
  private readonly plotEl: HTMLElement;
  private readonly valueEl: HTMLElement;
  private plot: uPlot | undefined;
  private themeKey = '';
  points = 0;

  constructor(
    readonly key: string,
    label: string,
    private readonly color: ColorName,
    private readonly percent: boolean,
  ) {
    this.box = el('div', 'spark');
    this.box.dataset.series = key;
    const head = el('div', 'spark-head');
    this.valueEl = el('span', 'spark-value', '—');
    head.append(el('span', 'spark-label', label), this.valueEl);
    this.plotEl = el('div', 'spark-plot');
    this.box.append(head, this.plotEl);
    new ResizeObserver(() => this.plot?.setSize(this.size())).observe(this.plotEl);
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(80, Math.floor(this.plotEl.clientWidth)), height: 38 };
  }

  canvas(): HTMLCanvasElement | undefined {
    return this.plot?.ctx.canvas;
  }

  update(s: SeriesPayload | undefined, t: Theme): void {
    const x = s?.x ?? [];
    const y = s?.y ?? [];
    this.points = x.length;
    let last: number | null = null;
    for (let i = y.length - 1; i >= 0 && last === null; i--) last = y[i];
    this.valueEl.textContent = this.percent ? pct(last) : fmt(last);
    this.box.classList.toggle('spark-empty', x.length === 0);
    if (x.length === 0) {
      // a new run (or one without this series yet): nothing of the previous run stays under "waiting for data…"
      this.plot?.destroy();
      this.plot = undefined;
      this.themeKey = '';
      return;
    }
    const tk = JSON.stringify([t.kind, t.colors[this.color]]);
    const d = [x, y] as uPlot.AlignedData;
    if (!this.plot || tk !== this.themeKey) {
      this.themeKey = tk;
      this.plot?.destroy();
      const stroke = t.colors[this.color];
      this.plot = new uPlot(
        {
          ...this.size(),
          legend: { show: false },
          cursor: { show: false },
          select: { show: false, left: 0, top: 0, width: 0, height: 0 },
          padding: [3, 2, 2, 2],
          scales: {
            x: { time: false },
            y: {
              range: (_u, min, max) =>
                min === max || min === null || max === null ? [(min ?? 0) - 1, (max ?? 0) + 1] : [min, max],
            },
          },
          axes: [{ show: false }, { show: false }],
          series: [
            {},
            {
              stroke,
              width: 1.5,
              fill: withAlpha(stroke, 0.14),
              spanGaps: true,
              points: { show: (u: uPlot) => u.data[0].length < 3, size: 4, fill: stroke },
            },
          ],
        },
        d,
        this.plotEl,
      );
    } else {
      this.plot.setData(d);
    }
  }
}

const sparks = [
  new Sparkline(SERIES.objective, 'Loss (objective)', 'purple', false),
  new Sparkline(SERIES.evalKey('validation', 'acc_e'), 'Validation acc_e', 'orange', true),
];
const sparkBox = el('div', 'sparks');
sparkBox.append(...sparks.map((s) => s.box));
running.append(titleRow, facts, progress, sparkBox, buttons);
root.append(empty, running);
running.hidden = true;
empty.hidden = true;

function fact(label: string, value: string, id: string): HTMLElement {
  const f = el('div', 'active-fact');
  f.dataset.fact = id;
  f.append(el('span', 'fact-label', label), el('span', 'fact-value', value));
  return f;
}

function renderRun(): void {
  const run = data.run;
  if (!run) return;
  name.textContent = run.name;
  name.title = run.runDir;
  badge.textContent = run.status;
  badge.dataset.status = run.status;
  facts.replaceChildren(
    fact('step', stepText(run), 'step'),
    fact('epoch', epochText(run), 'epoch'),
    fact('ETA', run.status === 'running' ? duration(run.etaSeconds) : '—', 'eta'),
    fact('estimator', run.estimator ?? '—', 'estimator'),
  );
  showProgress(progress, bar, run);
  const wasHidden = stop.hidden;
  stop.hidden = !run.canStop;
  if (run.canStop && wasHidden) {
    stop.removeAttribute('disabled');
    stop.textContent = 'Stop';
  }
}

function report(): void {
  const points: Record<string, number> = {};
  if (!running.hidden) for (const s of sparks) if (s.points) points[s.key] = s.points;
  post({
    type: 'rendered',
    points,
    charts: running.hidden ? 0 : sparks.filter((s) => s.canvas()).length,
    extras: {
      idle: empty.hidden ? 0 : 1,
      running: running.hidden ? 0 : 1,
      stop: !running.hidden && !stop.hidden ? 1 : 0,
      // sparklines still drawn without a point of this run (a previous run's curve): always 0
      staleSparks: sparks.filter((s) => s.canvas() && s.points === 0).length,
    },
  });
}

function renderIdle(): void {
  empty.hidden = false;
  running.hidden = true;
  const last = idle?.last;
  lastRun.replaceChildren();
  if (last) {
    lastRun.append(
      el('span', 'fact-label', 'Last run: '),
      el('span', 'active-last-name', `${last.name} (${last.status})`),
      document.createTextNode(' · '),
      lastOpen,
    );
  }
  report();
}

onThemeChange(() => {
  theme = readTheme();
  if (!running.hidden) {
    for (const s of sparks) s.update(data.series[s.key], theme);
  }
});

window.addEventListener('message', (event: MessageEvent<HostToWebview>) => {
  const m = event.data;
  if (m?.type === 'idle') {
    idle = m;
    data.run = undefined;
    data.series = {};
    renderIdle();
  } else if (m?.type === 'snapshot') {
    idle = undefined;
  }
});

startMessageLoop(data, (what) => {
  if (!data.run) return;
  empty.hidden = true;
  running.hidden = false;
  if (what.run) renderRun();
  if (what.series || what.run) for (const s of sparks) s.update(data.series[s.key], theme);
  report();
});

(window as unknown as { sbnPanel: unknown }).sbnPanel = { data, sparks };
