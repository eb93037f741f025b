// The panels' wiring: commands sbn.openDashboard / sbn.openDiagnostics / sbn.openLayerStats (argument: a Runs-view
// item, a run folder path or Uri; otherwise a pick), the serializers that restore panels after a window reload,
// the dashboard opening by itself when a training job starts (setting sbn.dashboard.openOnTrain), worker events
// forwarded so that panels read the run folder at once, and sbn.panelState (what each open panel has sent and
// drawn; for tests).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listRuns } from '../../engine/runs';
import type { RunManager } from '../runManager';
import { allRunsRoots } from '../modelFiles';
import { PanelRegistry, type PanelDescriptor } from './runPanel';
import { TrainingDashboardPanel } from './dashboardPanel';
import { GradientDiagnosticsPanel } from './diagnosticsPanel';
import { LayerStatisticsPanel } from './layersPanel';
import { ACTIVE_RUN_VIEW, ActiveRunViewProvider } from './activeRunView';
import { registerComparePanel } from './comparePanel';
import { PREVIEW_VIEW_TYPE, registerPreviewPanel } from './previewPanel';
import { registerReportPanel } from './reportPanel';
import { registerEnvironmentPanel } from './environmentPanel';
import { registerRunsTablePanel } from './runsTablePanel';
import { registerResultPanels } from './resultPanels';
import type { RunsTreeProvider } from '../runsTree';
import type { PanelState } from './webviewHost';

export const PANELS: readonly PanelDescriptor[] = [
  TrainingDashboardPanel,
  GradientDiagnosticsPanel,
  LayerStatisticsPanel,
];

/** A run folder from a command argument: a Runs-view item (`info.dir`), a path, a Uri; else the user picks one. */
async function runDirFrom(arg: unknown, what: string): Promise<string | undefined> {
  if (typeof arg === 'string' && arg) return path.resolve(arg);
  if (arg instanceof vscode.Uri) return arg.fsPath;
  const dir = (arg as { info?: { dir?: unknown } } | undefined)?.info?.dir;
  if (typeof dir === 'string') return dir;
  const runs = allRunsRoots()
    .flatMap((root) => listRuns(root))
    .filter((r) => !r.reason);
  if (runs.length === 0) {
    void vscode.window.showInformationMessage('No runs yet: train a model first.');
    return undefined;
  }
  runs.sort(
    (a, b) =>
      (a.status === 'running' ? 0 : 1) - (b.status === 'running' ? 0 : 1) ||
      (b.created ?? '').localeCompare(a.created ?? ''),
  );
  const pick = await vscode.window.showQuickPick(
    runs.map((r) => ({
      label: r.name,
      description: `${r.status ?? '?'} · ${r.estimator ?? '?'}`,
      detail: vscode.workspace.asRelativePath(r.dir),
      dir: r.dir,
    })),
    { placeHolder: `Run to show ${what} of` },
  );
  return pick?.dir;
}

export function registerPanels(
  context: vscode.ExtensionContext,
  deps: {
    runs: RunManager;
    log: vscode.LogOutputChannel;
    tree: RunsTreeProvider;
    /** The Sweep panels (src/extension/sweeps/sweepCommands.ts), listed by sbn.panelState too. */
    sweeps: { state(): PanelState[] };
  },
): PanelRegistry {
  const config = () => vscode.workspace.getConfiguration('sbn');
  const registry = new PanelRegistry({ extensionUri: context.extensionUri, log: deps.log }, () =>
    config().get<number>('maxPointsPerSeries', 2000),
  );
  context.subscriptions.push(registry);
  // ---- the Active Run sidebar view (activeRunView.ts) ----
  const activeRun = new ActiveRunViewProvider({
    extensionUri: context.extensionUri,
    store: registry.store,
    runs: deps.runs,
    log: deps.log,
  });
  context.subscriptions.push(activeRun, vscode.window.registerWebviewViewProvider(ACTIVE_RUN_VIEW, activeRun));
  // ---- Compare Runs (comparePanel.ts: command sbn.compareRuns, serializer) ----
  const compare = registerComparePanel(context, {
    extensionUri: context.extensionUri,
    store: registry.store,
    log: deps.log,
  });
  // ---- Model Preview beside the editor (previewPanel.ts: command sbn.previewModel, 'preview' worker jobs) ----
  const preview = registerPreviewPanel(context, { extensionUri: context.extensionUri, runs: deps.runs, log: deps.log });
  registry.serializers.set(PREVIEW_VIEW_TYPE, preview.serializer);
  // ---- experiment reports (reportPanel.ts: command sbn.openReport) ----
  const reports = registerReportPanel(context, deps.log);
  // ---- SBN: Show Environment (environmentPanel.ts: command sbn.showEnvironment, 'environment' worker jobs) ----
  const environment = registerEnvironmentPanel(context, {
    extensionUri: context.extensionUri,
    runs: deps.runs,
    log: deps.log,
    version: String((context.extension.packageJSON as { version?: unknown }).version),
  });
  // ---- the Runs table (runsTablePanel.ts: command sbn.openRunsTable; follows the Runs view's runs) ----
  const runsTable = registerRunsTablePanel(context, {
    extensionUri: context.extensionUri,
    log: deps.log,
    tree: deps.tree,
  });
  // ---- Compare Estimators' and Evaluate Run's results (resultPanels.ts: opened by their jobs' result events) ----
  const results = registerResultPanels(context, deps.runs, { extensionUri: context.extensionUri, log: deps.log });

  const open = (desc: PanelDescriptor, what: string) => async (arg: unknown, options?: { preserveFocus?: boolean }) => {
    const runDir = await runDirFrom(arg, what);
    if (!runDir) return undefined;
    const p = registry.open(desc, runDir, { preserveFocus: options?.preserveFocus });
    return p.state();
  };
  context.subscriptions.push(
    vscode.commands.registerCommand('sbn.openDashboard', open(TrainingDashboardPanel, 'the training dashboard')),
    vscode.commands.registerCommand('sbn.openDiagnostics', open(GradientDiagnosticsPanel, 'the gradient diagnostics')),
    vscode.commands.registerCommand('sbn.openLayerStats', open(LayerStatisticsPanel, 'the layer statistics')),
    vscode.commands.registerCommand('sbn.panelState', () => [
      ...registry.state(),
      activeRun.state(),
      ...compare.state(),
      ...preview.state(),
      ...environment.state(),
      ...reports.state(),
      ...runsTable.state(),
      ...results.state(),
      ...deps.sweeps.state(),
    ]),
    ...PANELS.map((d) => vscode.window.registerWebviewPanelSerializer(d.viewType, registry.serializer(d))),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('sbn.maxPointsPerSeries'))
        registry.store.setMaxPoints(config().get<number>('maxPointsPerSeries', 2000));
    }),
    deps.runs.onDidChange(({ job, event }) => {
      if (!job.runDir || (job.kind !== 'train' && job.kind !== 'resume')) return;
      const active = deps.runs.active.some((j) => j.id === job.id);
      registry.jobChanged(
        job.runDir,
        active
          ? { backend: job.backend, estimator: job.estimator, totalSteps: job.lastStep?.totalSteps, canStop: true }
          : undefined,
      );
      if (event?.type === 'started' && config().get<boolean>('dashboard.openOnTrain', true)) {
        registry.open(TrainingDashboardPanel, job.runDir, { preserveFocus: true, column: vscode.ViewColumn.Beside });
      }
    }),
  );
  return registry;
}
