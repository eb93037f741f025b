// SBN Studio: activation wires the pieces — the log, the worker manager, the Runs view, the status bar,
// commands, tasks and the model-file language features. Everything heavy runs in worker processes.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { createLog } from './log';
import { RunManager } from './runManager';
import { RunsTreeProvider } from './runsTree';
import { TrainingStatusBar } from './statusBar';
import { registerCommands } from './commands';
import { registerTasks } from './tasks';
import { allRunsRoots } from './modelFiles';
import { registerLanguageFeatures } from './language/register';
import { registerPanels } from './panels/register';
import { registerSweepFileFeatures } from './language/sweepFiles';
import { allSweepsRoots, registerSweeps } from './sweeps/sweepCommands';
import type { PanelRegistry } from './panels/runPanel';
import { configureDataStore } from './environment';
import { nativeWorkerEnv, registerNativeSetup } from './nativeSetup';
import { registerRunMetaCommands } from './runMetaCommands';

export interface SbnStudioApi {
  runs: RunManager;
  tree: RunsTreeProvider;
  /** The open dashboard / diagnostics / layer-statistics panels (src/extension/panels/). */
  panels: PanelRegistry;
}

export function activate(context: vscode.ExtensionContext): SbnStudioApi {
  const log = createLog();
  // before anything looks for data sets: the store in global storage, searched by the diagnostics and the workers
  const dataStore = configureDataStore(context);
  const { version } = context.extension.packageJSON as { version: string };
  const workspace = vscode.workspace.isTrusted ? 'trusted' : 'in Restricted Mode';
  log.info(`SBN Studio ${version} activating (workspace ${workspace}; data sets downloaded into ${dataStore})`);
  const runs = new RunManager(
    path.join(context.extensionPath, 'dist', 'worker.js'),
    log,
    () => vscode.workspace.getConfiguration('sbn').get<number>('stopGracePeriod', 10000),
    () => nativeWorkerEnv(context),
  );
  const tree = new RunsTreeProvider(allRunsRoots, allSweepsRoots);
  const status = new TrainingStatusBar();
  context.subscriptions.push(
    log,
    runs,
    tree,
    status,
    vscode.window.createTreeView('sbn.runs', { treeDataProvider: tree, showCollapseAll: false, canSelectMany: true }),
    runs.onDidChange(({ job, event }) => {
      status.update(runs.active);
      if (job.runDir && (job.kind === 'train' || job.kind === 'resume')) {
        const active = runs.active.some((j) => j.id === job.id);
        tree.setLive(job.runDir, active ? { step: job.lastStep?.step, total: job.lastStep?.totalSteps } : undefined);
      }
      if (!event || event.type === 'started' || event.type === 'done' || event.type === 'epoch') tree.refreshSoon();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('sbn.runsFolder')) {
        tree.watch();
        tree.refresh();
      }
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => {
      tree.watch();
      tree.refresh();
    }),
    registerTasks(runs),
  );
  registerCommands(context, { extensionPath: context.extensionPath, runs, tree, log });
  // Rename Run, Edit Run Tags, Edit Run Notes (meta.json of a run folder)
  registerRunMetaCommands(context, { refresh: () => tree.refresh() });
  registerLanguageFeatures(context, { log: (m) => log.debug(m) });
  // sweep files (diagnostics, ▶ Run Sweep), the sweep commands and the Sweep panel (src/extension/sweeps/)
  registerSweepFileFeatures(context, (m) => log.debug(m));
  const sweeps = registerSweeps(context, { extensionUri: context.extensionUri, runs, tree, log });
  registerNativeSetup(context, { runs, log });
  // Webview panels: training dashboard, gradient diagnostics, layer statistics (commands, serializers, auto-open).
  const panels = registerPanels(context, { runs, log, tree, sweeps });
  return { runs, tree, panels };
}

export function deactivate(): void {
  // disposables (workers included) are released through context.subscriptions
}
