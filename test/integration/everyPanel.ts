// Every kind of SBN panel open at once, on one tiny finished run (for the reload test and the screenshot tour):
// the run's dashboard, gradient diagnostics and layer statistics, Compare Runs, a one-point sweep, the Runs table,
// Compare Estimators' and Evaluate Run's results, the environment, the model preview and an experiment report.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { SbnStudioApi } from '../../src/extension/extension';
import type { Job } from '../../src/extension/runManager';
import type { PanelKind } from '../../src/webviewProtocol';
import type { PanelState } from '../../src/extension/panels/webviewHost';
import { until } from './wait';

/** The panels (editor tabs) `openEveryPanel` opens, one of each. */
export const EVERY_PANEL: readonly PanelKind[] = [
  'dashboard',
  'diagnostics',
  'layers',
  'compare',
  'sweep',
  'runsTable',
  'estimatorComparison',
  'runEvaluation',
  'environment',
  'preview',
  'report',
];

/** A toy-2d model that trains in about two seconds, with gradient diagnostics and layer statistics. */
const TINY = {
  name: 'toy2d-every-panel',
  input: { shape: [2] },
  states: 'pm1',
  layers: [
    { type: 'dense', units: 16 },
    { type: 'dense', units: 16 },
  ],
  output: { units: 1, loss: 'logistic' },
  data: { dataset: 'toy-2d', validation: 40 },
  train: { estimator: 'psa', lr: 0.03, batchSize: 10, epochs: 6, evalSamples: 10, logInterval: 4, evalInterval: 8 },
  diagnostics: { interval: 5, budgetSeconds: 1, draws: 40 },
};

const SWEEP = `model: toy2d-every-panel.sbn.json
grid:
  train.estimator: [psa]
seeds: 1
overrides:
  train.epochs: 1
objective: { metric: validation.u_loss, mode: min }
`;

export async function panelStates(): Promise<PanelState[]> {
  return vscode.commands.executeCommand<PanelState[]>('sbn.panelState');
}

async function finished(job: Job | undefined, what: string): Promise<void> {
  if (!job) throw new Error(`${what} did not start`);
  const end = await job.finished;
  if (end.type !== 'done' || end.status !== 'finished') throw new Error(`${what}: ${JSON.stringify(end)}`);
}

/** Trains the tiny model once per workspace (its finished run is reused) and returns the run folder. */
export async function tinyRun(api: SbnStudioApi, folder: string): Promise<{ runDir: string; model: vscode.Uri }> {
  const model = vscode.Uri.file(path.join(folder, 'toy2d-every-panel.sbn.json'));
  if (!fs.existsSync(model.fsPath)) fs.writeFileSync(model.fsPath, JSON.stringify(TINY, null, 2));
  const done = () =>
    api.tree.runItems().find((i) => i.contextValue === 'sbnRun.finished' && i.info.name.startsWith(TINY.name));
  let run = done();
  if (!run) {
    await finished(await vscode.commands.executeCommand<Job>('sbn.trainModel', model), 'training');
    run = await until('the tiny run in the Runs view', done);
  }
  return { runDir: run.info.dir, model };
}

/** Opens one panel of every kind in EVERY_PANEL and waits until each has drawn; returns the run they show. */
export async function openEveryPanel(api: SbnStudioApi, folder: string): Promise<string> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  const { runDir, model } = await tinyRun(api, folder);
  const exec = <T>(command: string, ...args: unknown[]) => vscode.commands.executeCommand<T>(command, ...args);
  await exec('sbn.openDashboard', runDir);
  await exec('sbn.openDiagnostics', runDir);
  await exec('sbn.openLayerStats', runDir);
  await exec('sbn.compareRuns', [runDir]);
  const sweepFile = path.join(folder, 'every-panel.sbn-sweep.yaml');
  fs.writeFileSync(sweepFile, SWEEP);
  await finished(await exec<Job>('sbn.runSweep', vscode.Uri.file(sweepFile), { jobs: 1 }), 'the sweep');
  await exec('sbn.openRunsTable');
  await finished(await exec<Job>('sbn.compareEstimators', model), 'Compare Estimators');
  await finished(await exec<Job>('sbn.evaluateRun', runDir), 'Evaluate Run');
  await exec('sbn.showEnvironment');
  await exec('sbn.previewModel', model);
  const report = path.join(folder, 'experiments', 'every-panel', 'gradacc.json');
  if (!fs.existsSync(report)) {
    fs.mkdirSync(path.dirname(report), { recursive: true });
    const repo = path.resolve(__dirname, '..', '..', '..');
    fs.copyFileSync(path.join(repo, 'docs', 'results', 'gradacc.json'), report);
  }
  await exec('sbn.openReport', vscode.Uri.file(report));
  await exec('workbench.action.joinAllGroups'); // one group: nextEditor then visits every tab
  await everyPanelDrawn('opened');
  return runDir;
}

/** The state of the panel in the active tab once it has drawn (since `since`, a Date.now()). */
export async function activePanelDrawn(what: string, since = 0): Promise<PanelState> {
  const label = vscode.window.tabGroups.activeTabGroup.activeTab?.label;
  return until(
    `${what}: the panel ${label} drawn`,
    async () =>
      (await panelStates()).find(
        (p) => p.visible && p.active && p.title === label && p.rendered && p.rendered.at >= since,
      ),
    60_000,
  ).catch(async (e: Error) => {
    const seen = (await panelStates()).map((p) => `${p.kind} "${p.title}" visible ${p.visible} active ${p.active}`);
    throw new Error(`${e.message}; the panels: ${seen.join('; ')}`);
  });
}

/**
 * Shows each editor tab in turn (a restored panel's page loads when it is shown) until every kind in EVERY_PANEL has
 * reported a drawing; `onEach` looks at each while it is shown. Returns their states.
 */
export async function everyPanelDrawn(
  what: string,
  onEach?: (kind: PanelKind, state: PanelState) => Promise<void>,
): Promise<Map<PanelKind, PanelState>> {
  const drawn = new Map<PanelKind, PanelState>();
  const tabs = vscode.window.tabGroups.all.reduce((n, g) => n + g.tabs.length, 0);
  for (let i = 0; i <= tabs + 1 && drawn.size < EVERY_PANEL.length; i++) {
    const active = vscode.window.tabGroups.activeTabGroup.activeTab;
    const input = active?.input;
    if (input instanceof vscode.TabInputWebview) {
      const state = await activePanelDrawn(what);
      drawn.set(state.kind, state);
      await onEach?.(state.kind, state);
    }
    await vscode.commands.executeCommand('workbench.action.nextEditor');
  }
  const missing = EVERY_PANEL.filter((k) => !drawn.has(k));
  if (missing.length) throw new Error(`${what}: not drawn: ${missing.join(', ')} (drawn: ${[...drawn.keys()].join()})`);
  return drawn;
}
