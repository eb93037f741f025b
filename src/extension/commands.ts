// The SBN commands. Each one that runs work starts a worker job through the RunManager and reports its end;
// all take an optional argument from menus, the Runs view or a CodeLens.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listRuns, type RunInfo } from '../engine/runs';
import { parseModelText, formatSpecError } from '../engine/spec';
import type { BackendPreference, TrainOverrides } from '../protocol';
import type { Job, RunManager } from './runManager';
import { RunItem, type RunsTreeProvider } from './runsTree';
import { allRunsRoots, diagnosticsIntervalSetting, modelText, pickModelFile, runsRootFor } from './modelFiles';
import { requireTrust } from './trust';
import { progressText } from './statusBar';
import { ensureDataset, showErrorWithEnvironment } from './environment';
import { notificationText } from './untrustedText';
import { SAMPLING_ESTIMATORS } from '../estimators';
import { exportRunCommand, type ExportRunOptions } from './exportRun';
import { canTrain, NO_TRAIN_SECTION } from '../engine/spec/model';

export interface CommandContext {
  extensionPath: string;
  runs: RunManager;
  tree: RunsTreeProvider;
  log: vscode.LogOutputChannel;
}

function backend(): BackendPreference {
  return vscode.workspace.getConfiguration('sbn').get<BackendPreference>('backend', 'auto');
}

/** Show a job's progress as a cancellable notification; Cancel stops the job. */
function followWithProgress(job: Job, ctx: CommandContext, title: string): void {
  void vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: notificationText(title), cancellable: true },
    (progress, token) => {
      token.onCancellationRequested(() => job.stop());
      let lastFraction = 0;
      const sub = ctx.runs.onDidChange(({ job: j, event }) => {
        if (j.id !== job.id || !event) return;
        if (event.type === 'step') {
          const fraction = event.step / Math.max(event.totalSteps, 1);
          progress.report({ message: progressText(job), increment: Math.max(0, 100 * (fraction - lastFraction)) });
          lastFraction = fraction;
        } else if (event.type === 'message') {
          progress.report({ message: notificationText(event.text) });
        }
      });
      // Disposable.dispose() is typed `any`: a block body keeps it out of the promise chain
      return job.finished.finally(() => {
        sub.dispose();
      });
    },
  );
}

/** The action of a stop notification that resumes the run. */
export const RESUME_ACTION = 'Resume';
/** The action offered to a model file that cannot be trained (no `train` section). */
const COMPARE_ACTION = 'Compare Estimators';

async function reportEnd(job: Job, ctx: CommandContext, what: string): Promise<void> {
  const end = await job.finished;
  if (end.type === 'error') {
    const choice = await showErrorWithEnvironment(notificationText(`${what} failed: ${end.message}`), 'Show Log');
    if (choice === 'Show Log') ctx.log.show();
    return;
  }
  // their result panels (panels/resultPanels.ts) are the answer of these jobs
  if (end.status === 'finished' && (job.kind === 'compare' || job.kind === 'evaluate')) return;
  const acc = job.lastEval ? ` · ${job.lastEval.split} acc_e ${(100 * job.lastEval.acc_e).toFixed(2)}%` : '';
  const text =
    end.status === 'finished'
      ? `${what} finished${acc}.`
      : end.status === 'stopped'
        ? `${what} ${end.message ?? 'stopped'}.`
        : `${what} diverged: ${end.message}`;
  const show = end.status === 'diverged' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
  // a stopped run goes on from its checkpoint: offer that first
  const resumable = end.status === 'stopped' && (job.kind === 'train' || job.kind === 'resume');
  const actions = end.runDir ? [...(resumable ? [RESUME_ACTION] : []), 'Open Run Folder'] : [];
  const choice = await show(notificationText(text), ...actions);
  if (choice === RESUME_ACTION && end.runDir) await vscode.commands.executeCommand('sbn.resumeRun', end.runDir);
  else if (choice && end.runDir) await vscode.commands.executeCommand('sbn.openRunFolder', end.runDir);
}

async function trainModel(ctx: CommandContext, arg: unknown, overrides: TrainOverrides = {}): Promise<Job | undefined> {
  if (!(await requireTrust('Training'))) return undefined;
  const uri = await pickModelFile(arg);
  if (!uri) return undefined;
  const text = await modelText(uri);
  const parsed = parseModelText(text, uri.fsPath);
  if (!parsed.ok) {
    const e = parsed.errors[0];
    const choice = await vscode.window.showErrorMessage(
      notificationText(`Cannot train: ${formatSpecError({ ...e, file: vscode.workspace.asRelativePath(uri) })}`),
      'Open Problem',
    );
    if (choice) {
      const doc = await vscode.window.showTextDocument(uri);
      const pos = new vscode.Position(Math.max(0, (e.line ?? 1) - 1), Math.max(0, (e.column ?? 1) - 1));
      doc.selection = new vscode.Selection(pos, pos);
    }
    return undefined;
  }
  // a gradient-evaluation file: say so, and offer what it can do
  if (!canTrain(parsed.model)) {
    const choice = await vscode.window.showErrorMessage(
      notificationText(`Cannot train ${vscode.workspace.asRelativePath(uri)}: ${NO_TRAIN_SECTION}.`),
      COMPARE_ACTION,
    );
    if (choice === COMPARE_ACTION) await vscode.commands.executeCommand('sbn.compareEstimators', uri);
    return undefined;
  }
  // a built-in data set that is not on this machine: offer the download before the run
  if (!(await ensureDataset(parsed.model.data, ctx.log))) return undefined;
  const name = path.basename(uri.fsPath);
  const job = ctx.runs.start(
    {
      type: 'train',
      modelFile: uri.fsPath,
      modelText: text,
      overrides,
      runsRoot: runsRootFor(uri),
      backend: backend(),
      diagnosticsInterval: diagnosticsIntervalSetting(uri),
      startedBy: `VS Code: SBN: Train Model (${vscode.workspace.asRelativePath(uri)})`,
    },
    `train ${name}`,
  );
  followWithProgress(job, ctx, `Training ${name}`);
  void reportEnd(job, ctx, `Training ${name}`);
  return job;
}

/** A run from a command argument (tree item, path) or from a pick among the runs that pass `filter`. */
async function pickRun(
  arg: unknown,
  filter: (r: RunInfo) => boolean,
  placeHolder: string,
): Promise<RunInfo | undefined> {
  if (arg instanceof RunItem) return arg.info;
  const runs = allRunsRoots().flatMap((root) => listRuns(root));
  if (typeof arg === 'string')
    return runs.find((r) => path.resolve(r.dir) === path.resolve(arg)) ?? { dir: arg, name: path.basename(arg) };
  const candidates = runs.filter(filter);
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(`No runs to choose from (${placeHolder.toLowerCase()}).`);
    return undefined;
  }
  const item = await vscode.window.showQuickPick(
    candidates.map((r) => ({ label: r.name, description: `${r.status ?? '?'} · ${r.estimator ?? '?'}`, run: r })),
    { placeHolder },
  );
  return item?.run;
}

const TEMPLATES = [
  {
    label: 'MNIST MLP',
    detail: 'Dense SBN 784-512-512-10 on MNIST, trained with PSA',
    file: 'mnist-mlp-psa.sbn.yaml',
    name: 'mnist-mlp.sbn.yaml',
  },
  {
    label: 'Fashion-MNIST conv',
    detail: 'Two binary conv layers and a binary dense layer, trained with PSA',
    file: 'fashion-conv-psa.sbn.yaml',
    name: 'fashion-conv.sbn.yaml',
  },
  {
    label: 'toy-2d',
    detail: "The paper's 200 two-dimensional points, a small dense SBN",
    file: 'toy2d.sbn.json',
    name: 'toy2d.sbn.json',
  },
];

/** `name` in `folder`, or `name-2`, `name-3`, … before its `.sbn.` suffix when taken: links never overwrite a file. */
function freeName(folder: vscode.Uri, name: string): vscode.Uri {
  const [stem, suffix] = [name.slice(0, name.indexOf('.sbn.')), name.slice(name.indexOf('.sbn.'))];
  let uri = vscode.Uri.joinPath(folder, name);
  for (let k = 2; fs.existsSync(uri.fsPath); k++) uri = vscode.Uri.joinPath(folder, `${stem}-${k}${suffix}`);
  return uri;
}

/** Template text without the repository-relative schema reference (jsonValidation covers *.sbn.json). */
export function templateText(extensionPath: string, file: string): string {
  return fs
    .readFileSync(path.join(extensionPath, 'examples', file), 'utf8')
    .replace(/^# yaml-language-server: \$schema=.*\n/m, '')
    .replace(/^\s*"\$schema": ".*",\n/m, '');
}

export function registerCommands(context: vscode.ExtensionContext, ctx: CommandContext): void {
  const reg = (id: string, fn: (...args: unknown[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, fn));

  reg('sbn.trainModel', (arg) => trainModel(ctx, arg));

  reg('sbn.stopTraining', async (arg) => {
    const training = ctx.runs.activeTraining();
    let job: Job | undefined;
    if (arg instanceof RunItem)
      job = training.find((j) => j.runDir && path.resolve(j.runDir) === path.resolve(arg.info.dir));
    // a run folder (the panels' Stop button): only that run, never another one
    else if (typeof arg === 'string')
      job = training.find((j) => j.runDir && path.resolve(j.runDir) === path.resolve(arg));
    else if (training.length === 1) job = training[0];
    else if (training.length > 1) {
      const pick = await vscode.window.showQuickPick(
        training.map((j) => ({ label: j.label, description: progressText(j), job: j })),
        { placeHolder: 'Training run to stop' },
      );
      job = pick?.job;
    }
    if (!job) {
      if (training.length === 0) void vscode.window.showInformationMessage('No training is running.');
      return;
    }
    job.stop();
  });

  reg('sbn.resumeRun', async (arg) => {
    if (!(await requireTrust('Resuming a run'))) return undefined;
    const run = await pickRun(arg, (r) => r.status === 'stopped' || r.status === 'crashed', 'Run to resume');
    if (!run) return undefined;
    const job = ctx.runs.start({ type: 'resume', runDir: run.dir, backend: backend() }, `resume ${run.name}`);
    followWithProgress(job, ctx, `Resuming ${run.name}`);
    void reportEnd(job, ctx, `Training ${run.name}`);
    return job;
  });

  reg('sbn.compareEstimators', async (arg) => {
    if (!(await requireTrust('Comparing estimators'))) return undefined;
    const uri = await pickModelFile(arg);
    if (!uri) return undefined;
    const draws = vscode.workspace.getConfiguration('sbn').get<number>('compare.draws', 500);
    const job = ctx.runs.start(
      {
        type: 'compare',
        modelFile: uri.fsPath,
        modelText: await modelText(uri),
        estimators: [...SAMPLING_ESTIMATORS],
        draws,
        backend: backend(),
      },
      `compare ${path.basename(uri.fsPath)}`,
    );
    followWithProgress(job, ctx, `Comparing estimators on ${path.basename(uri.fsPath)}`);
    void reportEnd(job, ctx, 'Estimator comparison');
    return job;
  });

  reg('sbn.evaluateRun', async (arg) => {
    if (!(await requireTrust('Evaluating a run'))) return undefined;
    const run = await pickRun(
      arg,
      (r) => r.status === 'finished' || r.status === 'stopped' || r.status === 'crashed',
      'Run to evaluate',
    );
    if (!run) return undefined;
    const samples = vscode.workspace.getConfiguration('sbn').get<number>('evalSamples', 32);
    const job = ctx.runs.start(
      { type: 'evaluate', runDir: run.dir, samples, split: 'auto', backend: backend() },
      `evaluate ${run.name}`,
    );
    followWithProgress(job, ctx, `Evaluating ${run.name}`);
    void reportEnd(job, ctx, `Evaluation of ${run.name}`);
    return job;
  });

  reg('sbn.newModelFile', async (arg) => {
    const pick =
      typeof arg === 'string'
        ? TEMPLATES.find((t) => t.label === arg || t.file === arg)
        : await vscode.window.showQuickPick(TEMPLATES, { placeHolder: 'Template for the new model file' });
    if (!pick) return undefined;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target =
      typeof arg === 'string' && folder
        ? freeName(folder, pick.name)
        : await vscode.window.showSaveDialog({
            defaultUri: folder ? vscode.Uri.joinPath(folder, pick.name) : undefined,
            filters: { 'SBN model': [pick.name.endsWith('.json') ? 'json' : 'yaml'] },
          });
    if (!target) return undefined;
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(templateText(ctx.extensionPath, pick.file)));
    await vscode.window.showTextDocument(target);
    return target;
  });

  reg('sbn.openRunFolder', async (arg) => {
    const run = await pickRun(arg, () => true, 'Run folder to open');
    if (!run) return;
    const uri = vscode.Uri.file(run.dir);
    if (vscode.workspace.getWorkspaceFolder(uri)) await vscode.commands.executeCommand('revealInExplorer', uri);
    const file = ['summary.json', 'config.json'].map((f) => path.join(run.dir, f)).find((f) => fs.existsSync(f));
    if (file) await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: true });
  });

  reg('sbn.exportRun', (arg, options) =>
    exportRunCommand(() => pickRun(arg, () => true, 'Run to export'), options as ExportRunOptions | undefined),
  );

  reg('sbn.revealRun', async (arg) => {
    const run = await pickRun(arg, () => true, 'Run folder to reveal');
    if (run) await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(run.dir));
  });

  // `options.confirmed` skips the modal question (for callers that asked already, and tests)
  reg('sbn.deleteRun', async (arg, options) => {
    const run = await pickRun(arg, (r) => r.status !== 'running', 'Run to delete');
    if (!run) return false;
    if (
      ctx.runs.activeTraining().some((j) => j.runDir && path.resolve(j.runDir) === path.resolve(run.dir)) ||
      run.status === 'running'
    ) {
      void vscode.window.showWarningMessage(notificationText(`${run.name} is running; stop it before deleting it.`));
      return false;
    }
    const confirmed =
      (options as { confirmed?: boolean } | undefined)?.confirmed === true ||
      (await vscode.window.showWarningMessage(
        `Delete the run folder ${run.name} with its metrics and checkpoints?`,
        { modal: true },
        'Delete',
      )) === 'Delete';
    if (!confirmed) return false;
    fs.rmSync(run.dir, { recursive: true, force: true });
    ctx.log.info(`deleted ${run.dir}`);
    ctx.tree.refresh();
    return true;
  });

  reg('sbn.refreshRuns', () => ctx.tree.refresh());
  reg('sbn.showLog', () => ctx.log.show());
  // The walkthrough's id is the manifest's (contributes.walkthroughs), the one place it is written.
  reg('sbn.openWalkthrough', () => {
    const walkthrough = (context.extension.packageJSON as { contributes?: { walkthroughs?: { id: string }[] } })
      .contributes?.walkthroughs?.[0];
    if (!walkthrough) return undefined;
    return vscode.commands.executeCommand(
      'workbench.action.openWalkthrough',
      `${context.extension.id}#${walkthrough.id}`,
      false,
    );
  });
}

export { trainModel };
