// The run header (name, status, facts, progress, Stop) and the toolbar's view controls.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { RunState } from '../../src/webviewProtocol';
import { post, saveState, type BaseViewState } from './vscodeApi';
import type { PanelData } from './messageLoop';
import { duration, el, fmt, pct } from './format';

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

/** "step / total steps" (or "—" before the first step), as every run header shows it. */
export function stepText(run: RunState): string {
  return run.step !== undefined ? `${run.step}${run.totalSteps ? ` / ${run.totalSteps}` : ''}` : '—';
}

/** "epoch / epochs" with two decimals (or "—" before the first step). */
export function epochText(run: RunState): string {
  return run.epoch !== undefined ? `${run.epoch.toFixed(2)}${run.epochs ? ` / ${run.epochs}` : ''}` : '—';
}

/** Show the run's progress on a bar: the fraction of steps done (all of it once finished), coloured by status. */
export function showProgress(progress: HTMLElement, bar: HTMLElement, run: RunState): void {
  const frac =
    run.totalSteps && run.step !== undefined
      ? Math.min(1, run.step / run.totalSteps)
      : run.status === 'finished'
        ? 1
        : 0;
  bar.style.width = `${(100 * frac).toFixed(1)}%`;
  progress.dataset.status = run.status;
}

export interface HeaderParts {
  root: HTMLElement;
  update(run: RunState | undefined): void;
}

/**
 * The run header: name, status, estimator, backend, epoch, step, a constant learning rate, ETA, latest accuracy,
 * progress, Stop.
 */
export function createHeader(title: string, opts: { stop: boolean }): HeaderParts {
  const root = el('header', 'run-header');
  const top = el('div', 'title-row');
  const kind = el('span', 'panel-kind', title);
  const name = el('h1', 'run-name', 'Loading…');
  const badge = el('span', 'status-badge', '');
  const tags = el('span', 'run-tags');
  const spacer = el('span', 'spacer');
  top.append(kind, name, badge, tags, spacer);
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
      tags.replaceChildren(...(run.tags ?? []).map((t) => el('span', 'tag', t)));
      facts.replaceChildren(
        fact('estimator', run.estimator ?? '—'),
        fact('backend', run.backendDetail ?? run.backend ?? '—', 'backend'),
        ...(run.kernels ? [fact('kernels', run.kernels, 'kernels')] : []),
        fact('epoch', epochText(run)),
        fact('step', stepText(run)),
        ...(run.constantLr !== undefined ? [fact('lr', `${fmt(run.constantLr, 3)} constant`, 'lr')] : []),
        ...(run.status === 'running' ? [fact('ETA', duration(run.etaSeconds), 'eta')] : []),
        fact('elapsed', duration(run.elapsed)),
        ...(run.stepsPerSecond ? [fact('steps/s', fmt(run.stepsPerSecond, 3))] : []),
        ...(run.lastEval?.validation ? [fact('val acc_e', pct(run.lastEval.validation.acc_e))] : []),
        ...(run.lastEval?.test ? [fact('test acc_e', pct(run.lastEval.test.acc_e))] : []),
        ...(run.statusDetail && run.status !== 'running' ? [fact('detail', run.statusDetail, 'detail')] : []),
      );
      showProgress(progress, bar, run);
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
