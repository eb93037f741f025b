// The Runs view: every run folder under each workspace folder's runs folder, newest first, with its status,
// estimator and best validation accuracy; refreshed when run folders change and when a job reports.
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  backendSummary,
  environmentFacts,
  listRuns,
  readEnvironment,
  type EnvironmentFileFacts,
  type RunInfo,
} from '../engine/runs';
import { markdownText } from './untrustedText';

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
      `**${t(info.name)}**`,
      `status: ${t(status)}${info.statusDetail ? ` (${t(info.statusDetail)})` : ''}`,
      `estimator: ${t(info.estimator ?? 'unknown')}`,
      `model: ${t(info.model ?? 'unknown')}`,
      `backend: ${t(backend ?? 'unknown')}`,
      kernels ? `PSA kernels: ${t(kernels)}` : '',
      acc !== undefined ? `best evaluation acc_e: ${(100 * acc).toFixed(2)}%` : '',
      info.reason ? `problem: ${t(info.reason)}` : '',
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
    super(info.name, vscode.TreeItemCollapsibleState.None);
    const status = info.status ?? 'broken';
    const acc = info.summary?.last?.validation?.acc_e ?? info.summary?.last?.train?.acc_e ?? undefined;
    const parts = [
      status === 'running' && live?.step !== undefined ? `running ${live.step}/${live.total ?? '?'}` : status,
      info.estimator ?? '?',
    ];
    if (acc !== undefined) parts.push(`acc_e ${(100 * acc).toFixed(2)}%`);
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

export class RunsTreeProvider implements vscode.TreeDataProvider<RunItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly watchers: vscode.FileSystemWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private live = new Map<string, { step?: number; total?: number }>();

  constructor(private readonly runsRoots: () => string[]) {
    this.watch();
  }

  /** Re-create the file watchers (after a settings change). */
  watch(): void {
    for (const w of this.watchers) w.dispose();
    this.watchers.length = 0;
    for (const root of this.runsRoots()) {
      const w = vscode.workspace.createFileSystemWatcher(
        new vscode.RelativePattern(vscode.Uri.file(root), '*/{status,summary,run}.json'),
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

  getTreeItem(item: RunItem): vscode.TreeItem {
    return item;
  }

  getChildren(): RunItem[] {
    const runs = this.runsRoots().flatMap((root) => listRuns(root));
    runs.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
    return runs.map((info) => new RunItem(info, this.live.get(path.resolve(info.dir))));
  }

  dispose(): void {
    for (const w of this.watchers) w.dispose();
    this.changed.dispose();
    if (this.timer) clearTimeout(this.timer);
  }
}
