// The sweep commands: SBN: Run Sweep… (palette, the ▶ Run Sweep lens, the editor title of a sweep file) makes a
// sweep folder in the workspace folder's sweeps/ and runs it as `sbn sweep` does, in a worker job of the run manager
// (the job's own process runs the embedded pool of sweep worker processes, src/engine/sweeps/pool.ts); Stop Sweep
// stops every point with a checkpoint, leaving the sweep resumable; Resume Sweep continues one that nobody runs; Open
// Sweep shows the Sweep panel; Sweep Report writes the report (JSON, CSV, HTML) into the sweep folder.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatSpecError } from '../../engine/spec';
import { createSweepFolder, SWEEP_FILE_PATTERN, SweepFolderError } from '../../engine/sweeps';
import { MAX_SWEEP_JOBS } from '../../engine/sweeps';
import { SWEEP_REPORT_FILES } from '../../engine/sweeps/report';
import { writeSweepReport } from '../../report/sweepHtml';
import type { BackendPreference } from '../../protocol';
import type { Job, RunManager } from '../runManager';
import type { RunsTreeProvider } from '../runsTree';
import { requireTrust } from '../trust';
import { notificationText } from '../untrustedText';
import { showErrorWithEnvironment } from '../environment';
import { parseSweepDocument } from '../language/sweepFiles';
import { SWEEP_VIEW_TYPE, SweepPanels, type SweepPanelState } from '../panels/sweepPanel';
import {
  SWEEPS_FOLDER,
  listSweeps,
  newSweepFolderName,
  pointsLeft,
  progressLine,
  sweepFolderInfo,
} from './sweepFolders';

const SWEEP_FILE_GLOB = '**/*.sbn-sweep.{yaml,yml,json}';

export function sweepsRootOf(folder: vscode.WorkspaceFolder): string {
  return path.join(folder.uri.fsPath, SWEEPS_FOLDER);
}

export function allSweepsRoots(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map(sweepsRootOf);
}

/** The sweeps folder for a sweep file: that of its workspace folder, or `sweeps/` beside the file. */
function sweepsRootFor(file: vscode.Uri): string {
  const folder = vscode.workspace.getWorkspaceFolder(file);
  return folder ? sweepsRootOf(folder) : path.join(path.dirname(file.fsPath), SWEEPS_FOLDER);
}

function backend(): BackendPreference {
  return vscode.workspace.getConfiguration('sbn').get<BackendPreference>('backend', 'auto');
}

/** The `jobs` option of a command, or the user's answer (default: the setting sbn.sweepJobs). */
async function jobsFor(option: unknown): Promise<number | undefined> {
  if (typeof option === 'number' && Number.isSafeInteger(option) && option >= 1)
    return Math.min(option, MAX_SWEEP_JOBS);
  const setting = vscode.workspace.getConfiguration('sbn').get<number>('sweepJobs', 2);
  const answer = await vscode.window.showInputBox({
    title: 'Run Sweep',
    prompt: 'Worker processes (points trained at once on this machine)',
    value: String(setting),
    validateInput: (v) =>
      /^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= MAX_SWEEP_JOBS
        ? undefined
        : `an integer from 1 to ${MAX_SWEEP_JOBS}`,
  });
  return answer === undefined ? undefined : Number(answer.trim());
}

/** A sweep file from the command's argument, the active editor, or a pick among the workspace's. */
async function pickSweepFile(arg: unknown): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri && SWEEP_FILE_PATTERN.test(arg.fsPath)) return arg;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && SWEEP_FILE_PATTERN.test(active.fsPath)) return active;
  const files = await vscode.workspace.findFiles(SWEEP_FILE_GLOB, '**/{node_modules,runs,sweeps}/**', 200);
  if (files.length === 0) {
    void vscode.window.showInformationMessage(
      'No sweep files (*.sbn-sweep.yaml, *.sbn-sweep.json) in this workspace; see docs/sweeps.md.',
    );
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    files.map((f) => ({ label: path.basename(f.fsPath), detail: vscode.workspace.asRelativePath(f), uri: f })),
    { placeHolder: 'Sweep file to run' },
  );
  return pick?.uri;
}

/** A sweep folder from an argument: a Runs-view sweep item, a path; else a pick among those that match. */
async function pickSweepDir(
  arg: unknown,
  filter: (dir: string) => boolean,
  placeHolder: string,
): Promise<string | undefined> {
  if (typeof arg === 'string' && arg) return path.resolve(arg);
  if (arg instanceof vscode.Uri) return arg.fsPath;
  const dir = (arg as { sweep?: { dir?: unknown } } | undefined)?.sweep?.dir;
  if (typeof dir === 'string') return dir;
  const sweeps = allSweepsRoots()
    .flatMap((root) => listSweeps(root))
    .filter((s) => filter(s.dir));
  if (sweeps.length === 0) {
    void vscode.window.showInformationMessage(`No sweeps to choose from (${placeHolder.toLowerCase()}).`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    sweeps.map((s) => ({ label: s.name, description: progressLine(s), dir: s.dir })),
    { placeHolder },
  );
  return pick?.dir;
}

export interface SweepDeps {
  extensionUri: vscode.Uri;
  runs: RunManager;
  tree: RunsTreeProvider;
  log: vscode.LogOutputChannel;
}

/** Registers the sweep commands and the Sweep panel; returns the open panels' state for sbn.panelState. */
export function registerSweeps(context: vscode.ExtensionContext, deps: SweepDeps): { state(): SweepPanelState[] } {
  const { runs, tree, log } = deps;
  const sweepJobs = (): Job[] => runs.active.filter((j) => j.kind === 'sweep' && j.runDir);
  const jobOf = (dir: string): Job | undefined =>
    sweepJobs().find((j) => path.resolve(j.runDir!) === path.resolve(dir));
  const panels = new SweepPanels({ extensionUri: deps.extensionUri, log, isRunning: (dir) => !!jobOf(dir) });
  tree.runningSweeps = () => sweepJobs().map((j) => j.runDir!);

  /** Runs the sweep folder's unfinished points in a worker job, with a cancellable notification (Cancel = Stop). */
  const start = (dir: string, jobs: number, what: string): Job => {
    const job = runs.start({ type: 'sweep', sweepDir: dir, jobs, backend: backend() }, `sweep ${path.basename(dir)}`);
    panels.show(dir);
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: notificationText(what), cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => job.stop());
        const sub = runs.onDidChange(({ job: j, event }) => {
          if (j.id !== job.id || event?.type !== 'message') return;
          progress.report({ message: notificationText(progressLine(sweepFolderInfo(dir))) });
        });
        return job.finished.finally(() => {
          sub.dispose();
        });
      },
    );
    void job.finished.then(async (end) => {
      if (end.type === 'error') {
        const choice = await showErrorWithEnvironment(notificationText(`${what} failed: ${end.message}`), 'Show Log');
        if (choice === 'Show Log') log.show();
        return;
      }
      const text =
        end.status === 'stopped'
          ? `${what} stopped (${end.message ?? ''}); Resume Sweep continues it.`
          : `${what} ended: ${end.message ?? ''}.`;
      const choice = await vscode.window.showInformationMessage(notificationText(text), 'Open Sweep');
      if (choice) panels.show(dir);
    });
    return job;
  };

  const reg = (id: string, fn: (...args: unknown[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, fn));

  reg('sbn.runSweep', async (arg, options) => {
    if (!(await requireTrust('Running a sweep'))) return undefined;
    const uri = await pickSweepFile(arg);
    if (!uri) return undefined;
    const doc = await vscode.workspace.openTextDocument(uri);
    const parsed = parseSweepDocument(doc);
    if (!parsed.ok) {
      const e = parsed.errors[0];
      const choice = await vscode.window.showErrorMessage(
        notificationText(
          `Cannot run the sweep: ${formatSpecError({ ...e, file: vscode.workspace.asRelativePath(uri) })}`,
        ),
        'Open Problem',
      );
      if (choice) {
        const editor = await vscode.window.showTextDocument(doc);
        const pos = new vscode.Position(Math.max(0, (e.line ?? 1) - 1), Math.max(0, (e.column ?? 1) - 1));
        editor.selection = new vscode.Selection(pos, pos);
      }
      return undefined;
    }
    const jobs = await jobsFor((options as { jobs?: unknown } | undefined)?.jobs);
    if (jobs === undefined) return undefined;
    const dir = path.join(sweepsRootFor(uri), newSweepFolderName(uri.fsPath));
    try {
      createSweepFolder(dir, uri.fsPath, doc.getText(), parsed.sweep);
    } catch (e) {
      if (!(e instanceof SweepFolderError)) throw e;
      void vscode.window.showErrorMessage(notificationText(e.message));
      return undefined;
    }
    tree.refreshSoon();
    return start(dir, jobs, `Sweep ${path.basename(uri.fsPath)}`);
  });

  reg('sbn.resumeSweep', async (arg, options) => {
    if (!(await requireTrust('Resuming a sweep'))) return undefined;
    const resumable = (d: string): boolean => {
      const info = sweepFolderInfo(d);
      return !!info.state && !jobOf(d) && info.liveWorkers.length === 0 && pointsLeft(info) > 0;
    };
    const dir = await pickSweepDir(arg, resumable, 'Sweep to resume');
    if (!dir) return undefined;
    const info = sweepFolderInfo(dir);
    if (!info.state) {
      void vscode.window.showErrorMessage(notificationText(`Cannot resume: ${info.problem ?? dir}`));
      return undefined;
    }
    // truthfully: a sweep is continued only when nobody runs it and it has points left
    if (jobOf(dir) || info.liveWorkers.length > 0) {
      void vscode.window.showInformationMessage(
        notificationText(
          `${info.name} is running now${info.liveWorkers.length ? ` (workers ${info.liveWorkers.join(', ')})` : ''}.`,
        ),
      );
      return undefined;
    }
    if (pointsLeft(info) === 0) {
      void vscode.window.showInformationMessage(
        notificationText(`${info.name}: every point has ended; nothing to resume.`),
      );
      return undefined;
    }
    const jobs = await jobsFor((options as { jobs?: unknown } | undefined)?.jobs);
    if (jobs === undefined) return undefined;
    return start(dir, jobs, `Sweep ${info.name}`);
  });

  reg('sbn.stopSweep', async (arg) => {
    const dir = await pickSweepDir(arg, (d) => !!jobOf(d), 'Sweep to stop');
    const job = dir && jobOf(dir);
    if (!job) {
      if (dir) void vscode.window.showInformationMessage('This sweep is not running in this window.');
      return false;
    }
    return job.stop();
  });

  reg('sbn.openSweep', async (arg) => {
    const dir = await pickSweepDir(arg, () => true, 'Sweep to show');
    if (!dir) return undefined;
    return panels.show(dir).state();
  });

  reg('sbn.sweepReport', async (arg) => {
    const dir = await pickSweepDir(arg, (d) => !!sweepFolderInfo(d).state, 'Sweep to report');
    if (!dir) return undefined;
    try {
      const { files } = writeSweepReport(dir);
      const choice = await vscode.window.showInformationMessage(
        notificationText(`Sweep report written: ${files.map((f) => path.basename(f)).join(', ')}`),
        'Open HTML',
        'Open CSV',
      );
      if (choice === 'Open HTML')
        await vscode.env.openExternal(vscode.Uri.file(path.join(dir, SWEEP_REPORT_FILES.html)));
      if (choice === 'Open CSV')
        await vscode.window.showTextDocument(vscode.Uri.file(path.join(dir, SWEEP_REPORT_FILES.csv)));
      return files;
    } catch (e) {
      void vscode.window.showErrorMessage(notificationText(`Sweep report: ${(e as Error).message}`));
      return undefined;
    }
  });

  context.subscriptions.push(
    panels,
    runs.onDidChange(({ job, event }) => {
      if (job.kind !== 'sweep' || !job.runDir) return;
      // a point changed status (message), or the job started or ended: the Runs view and the panel redraw
      if (!event || event.type === 'message' || event.type === 'started' || event.type === 'done') {
        tree.refreshSoon();
        panels.changed(job.runDir);
      }
    }),
    vscode.window.registerWebviewPanelSerializer(SWEEP_VIEW_TYPE, {
      deserializeWebviewPanel: (panel: vscode.WebviewPanel, state: unknown) => {
        const dir = (state as { runDir?: unknown } | undefined)?.runDir;
        if (typeof dir === 'string' && sweepFolderInfo(dir).state && !panels.has(dir)) panels.adopt(panel, dir);
        else panel.dispose();
        return Promise.resolve();
      },
    }),
  );
  return { state: () => panels.state() };
}
