// The Runs view: every run folder under each workspace folder's runs folder, newest first, with its status,
// estimator and best validation accuracy, then the sweeps of each workspace folder (a group per sweep folder with
// its progress, its points' runs inside); refreshed when run folders or sweep.json change and when a job reports.
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  backendSummary,
  environmentFacts,
  listRuns,
  readEnvironment,
  runInfo,
  runLabel,
  type EnvironmentFileFacts,
  type RunInfo,
} from '../engine/runs';
import type { SweepPoint } from '../engine/sweeps';
import { markdownText } from './untrustedText';
import { listSweeps, pointsLeft, progressLine, type SweepFolderInfo } from './sweeps/sweepFolders';

/**
 * The tooltip: the fields of run.json and status.json are workspace content (a cloned repository's runs folder), so
 * each is shown as typed text (markdownText), never as Markdown that could make a link or load an image.
 */
function runTooltip(
  info: RunInfo,
  status: string,
  acc: number | undefined,
  backend: string | undefined,
  kernels: string | undefined,
): vscode.MarkdownString {
  const t = (v: string) => markdownText(v);
  return new vscode.MarkdownString(
    [
      `**${t(runLabel(info))}**`,
      info.meta?.displayName !== undefined ? `run: ${t(info.name)}` : '',
      info.meta?.tags.length ? `tags: ${t(info.meta.tags.join(', '))}` : '',
      info.meta?.notes ? `notes: ${t(info.meta.notes)}` : '',
      `status: ${t(status)}${info.statusDetail ? ` (${t(info.statusDetail)})` : ''}`,
      `estimator: ${t(info.estimator ?? 'unknown')}`,
      `model: ${t(info.model ?? 'unknown')}`,
      `backend: ${t(backend ?? 'unknown')}`,
      kernels ? `PSA kernels: ${t(kernels)}` : '',
      acc !== undefined ? `best evaluation acc_e: ${(100 * acc).toFixed(2)}%` : '',
      info.reason ? `problem: ${t(info.reason)}` : '',
      info.metaProblem ? `problem: ${t(info.metaProblem)}` : '',
      t(info.dir),
    ]
      .filter((l) => l !== '')
      .join('\n\n'),
  );
}

export class RunItem extends vscode.TreeItem {
  constructor(
    readonly info: RunInfo,
    live?: { step?: number; total?: number },
  ) {
    super(runLabel(info), vscode.TreeItemCollapsibleState.None);
    const status = info.status ?? 'broken';
    const acc = info.summary?.last?.validation?.acc_e ?? info.summary?.last?.train?.acc_e ?? undefined;
    const parts = [
      status === 'running' && live?.step !== undefined ? `running ${live.step}/${live.total ?? '?'}` : status,
      info.estimator ?? '?',
    ];
    if (acc !== undefined) parts.push(`acc_e ${(100 * acc).toFixed(2)}%`);
    if (info.meta?.tags.length) parts.push(info.meta.tags.map((t) => `#${t}`).join(' '));
    let facts: EnvironmentFileFacts = {};
    try {
      facts = environmentFacts(readEnvironment(info.dir));
    } catch {
      /* a run folder being created */
    }
    if (facts.backend) parts.push(facts.backend + (facts.kernels?.startsWith('native') ? ' + native kernels' : ''));
    if (info.created) parts.push(new Date(info.created).toLocaleString());
    this.description = parts.join(' · ');
    this.tooltip = runTooltip(info, status, acc, backendSummary(facts), facts.kernels);
    this.contextValue = `sbnRun.${status}`;
    this.resourceUri = vscode.Uri.file(info.dir);
    this.iconPath = new vscode.ThemeIcon(
      status === 'running'
        ? 'sync~spin'
        : status === 'finished'
          ? 'pass'
          : status === 'stopped'
            ? 'debug-pause'
            : status === 'diverged'
              ? 'warning'
              : 'error',
    );
    this.id = info.dir;
  }
}

/**
 * A sweep folder: its progress (done / running / failed / waiting, workers seen) from sweep.json; its children are its
 * points. contextValue `sbnSweep.running` (the editor runs it), `.resumable` (points left and nobody runs it),
 * `.active` (a process of this machine runs it, e.g. `sbn sweep` in a terminal) or `.done`.
 */
export class SweepItem extends vscode.TreeItem {
  constructor(
    readonly sweep: SweepFolderInfo,
    running: boolean,
  ) {
    super(`Sweep ${sweep.name}`, vscode.TreeItemCollapsibleState.Collapsed);
    const state = running
      ? 'running'
      : sweep.liveWorkers.length > 0
        ? 'active'
        : sweep.state && pointsLeft(sweep) > 0
          ? 'resumable'
          : 'done';
    this.description = sweep.problem ? 'cannot be read' : progressLine(sweep);
    this.tooltip = new vscode.MarkdownString(
      [
        `**${markdownText(sweep.name)}**`,
        sweep.problem ? `problem: ${markdownText(sweep.problem)}` : markdownText(progressLine(sweep)),
        sweep.state ? `swept: ${markdownText(sweep.state.fields.join(', '))}` : '',
        sweep.state
          ? `objective: ${markdownText(`${sweep.state.objective.metric} (${sweep.state.objective.mode})`)}`
          : '',
        sweep.workers.length ? `workers: ${markdownText(sweep.workers.join(', '))}` : '',
        markdownText(sweep.dir),
      ]
        .filter((l) => l !== '')
        .join('\n\n'),
    );
    this.contextValue = `sbnSweep.${state}`;
    this.resourceUri = vscode.Uri.file(sweep.dir);
    this.iconPath = new vscode.ThemeIcon(
      sweep.problem
        ? 'error'
        : state === 'running' || state === 'active'
          ? 'sync~spin'
          : sweep.counts.failed > 0
            ? 'warning'
            : state === 'resumable'
              ? 'debug-pause'
              : 'pass',
    );
    this.id = `sweep:${sweep.dir}`;
    this.command = { title: 'Open Sweep', command: 'sbn.openSweep', arguments: [sweep.dir] };
  }
}

/** A point of a sweep whose run folder does not exist yet (waiting), or cannot be read. */
export class SweepPointItem extends vscode.TreeItem {
  constructor(sweepDir: string, point: SweepPoint, values: string) {
    super(`p${point.index} seed ${point.seed}`, vscode.TreeItemCollapsibleState.None);
    this.description = `${point.status} · ${values}`;
    this.tooltip = new vscode.MarkdownString(
      markdownText(point.reason ? `${point.status}: ${point.reason}` : point.status),
    );
    this.iconPath = new vscode.ThemeIcon(point.status === 'failed' ? 'error' : 'circle-large-outline');
    this.contextValue = `sbnSweepPoint.${point.status}`;
    this.id = `sweep:${sweepDir}:${point.id}`;
  }
}

export type RunsTreeItem = RunItem | SweepItem | SweepPointItem;

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsTreeItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly watchers: vscode.FileSystemWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private live = new Map<string, { step?: number; total?: number }>();

  /** The sweep folders the editor runs now (set by the sweep commands, src/extension/sweeps/). */
  runningSweeps: () => string[] = () => [];

  constructor(
    private readonly runsRoots: () => string[],
    private readonly sweepsRoots: () => string[] = () => [],
  ) {
    this.watch();
  }

  /** Re-create the file watchers (after a settings change). */
  watch(): void {
    for (const w of this.watchers) w.dispose();
    this.watchers.length = 0;
    for (const root of this.runsRoots()) {
      const w = vscode.workspace.createFileSystemWatcher(
        new vscode.RelativePattern(vscode.Uri.file(root), '*/{status,summary,run,meta}.json'),
      );
      w.onDidChange(() => this.refreshSoon());
      w.onDidCreate(() => this.refreshSoon());
      w.onDidDelete(() => this.refreshSoon());
      this.watchers.push(w);
    }
    for (const root of this.sweepsRoots()) {
      const w = vscode.workspace.createFileSystemWatcher(
        new vscode.RelativePattern(vscode.Uri.file(root), '{*/sweep.json,*/runs/*/{status,summary,run,meta}.json}'),
      );
      w.onDidChange(() => this.refreshSoon());
      w.onDidCreate(() => this.refreshSoon());
      w.onDidDelete(() => this.refreshSoon());
      this.watchers.push(w);
    }
  }

  setLive(runDir: string, progress: { step?: number; total?: number } | undefined): void {
    if (progress) this.live.set(path.resolve(runDir), progress);
    else this.live.delete(path.resolve(runDir));
    this.refreshSoon();
  }

  refresh(): void {
    this.changed.fire();
  }

  refreshSoon(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.changed.fire();
    }, 300);
  }

  getTreeItem(item: RunsTreeItem): vscode.TreeItem {
    return item;
  }

  getChildren(element?: RunsTreeItem): RunsTreeItem[] {
    if (element instanceof SweepItem) return this.sweepChildren(element.sweep);
    if (element) return [];
    const running = new Set(this.runningSweeps().map((d) => path.resolve(d)));
    const sweeps = this.sweepsRoots()
      .flatMap((root) => listSweeps(root))
      .map((s) => new SweepItem(s, running.has(path.resolve(s.dir))));
    return [...this.runItems(), ...sweeps];
  }

  /** The runs of the runs folders (not those of sweeps), newest first: the view's top level before the sweeps. */
  runItems(): RunItem[] {
    const runs = this.runsRoots().flatMap((root) => listRuns(root));
    runs.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
    return runs.map((info) => new RunItem(info, this.live.get(path.resolve(info.dir))));
  }

  /**
   * Every run the view shows, as the Runs table lists them: those of the runs folders, then each sweep's started
   * points (with the sweep's folder name).
   */
  allRuns(): { info: RunInfo; sweep?: string }[] {
    const runs: { info: RunInfo; sweep?: string }[] = this.runsRoots().flatMap((root) =>
      listRuns(root).map((info) => ({ info })),
    );
    for (const sweep of this.sweepsRoots().flatMap((root) => listSweeps(root))) {
      for (const p of sweep.state?.points ?? []) {
        const info = runInfo(path.join(sweep.dir, p.run));
        if (!info.reason || info.created) runs.push({ info, sweep: sweep.name });
      }
    }
    return runs;
  }

  /** A sweep's points in sweep.json order: the run of each that has started, the others as points. */
  private sweepChildren(sweep: SweepFolderInfo): RunsTreeItem[] {
    const state = sweep.state;
    if (!state) return [];
    return state.points.map((p) => {
      const values = state.fields.map((f) => `${f}=${JSON.stringify(p.overrides[f])}`).join(' ');
      const dir = path.join(sweep.dir, p.run);
      const info = runInfo(dir);
      if (info.reason) return new SweepPointItem(sweep.dir, p, values);
      const item = new RunItem(info, this.live.get(path.resolve(dir)));
      // the point first (the sweep's own naming), then the display name a user gave the run
      item.label = `p${p.index} seed ${p.seed}${info.meta?.displayName ? ` · ${info.meta.displayName}` : ''}`;
      item.description = `${values} · ${String(item.description ?? '')}`;
      return item;
    });
  }

  dispose(): void {
    for (const w of this.watchers) w.dispose();
    this.changed.dispose();
    if (this.timer) clearTimeout(this.timer);
  }
}
