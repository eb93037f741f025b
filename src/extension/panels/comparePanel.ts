// Compare Runs (`sbn.compareRuns`): one panel overlaying several runs' curves against the epoch — the training
// objective, u_loss and acc_e on the train and validation splits — one colour per run, with a legend and a table of
// run name, estimator, status, best validation acc_e. webview/compare.ts draws it. The runs are followed through the
// shared SeriesStore (a LiveRun each, so a run still training keeps moving); the page is sent the whole picture
// (`compare` message, x converted from step to epoch with each run's steps per epoch), at most ~3 times a second,
// and nothing while hidden. Argument: the Runs view's selection (canSelectMany: the command gets the clicked item and
// every selected item), an array of run folders or items; otherwise a multi-select QuickPick.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listRuns } from '../../engine/runs';
import { compareMessage } from './compareData';
import { allRunsRoots } from '../modelFiles';
import type { LiveRun, SeriesStore } from './seriesStore';
import { PanelSlot, WebviewPanelHost, type PanelState } from './webviewHost';

export const COMPARE_VIEW_TYPE = 'sbn.compare';

export interface ComparePanelState extends PanelState {
  runDirs: string[];
}

interface Deps {
  extensionUri: vscode.Uri;
  store: SeriesStore;
  log: vscode.LogOutputChannel;
}

export class ComparePanel extends WebviewPanelHost {
  private lives: LiveRun[] = [];
  private listeners: { dispose(): void }[] = [];
  private lastSent = '';

  constructor(
    panel: vscode.WebviewPanel,
    runDirs: string[],
    private readonly deps: Deps,
  ) {
    super(panel, { log: deps.log, label: () => 'compare panel', throttleMs: 300 });
    this.showPage({
      extensionUri: deps.extensionUri,
      title: 'Compare runs',
      script: 'compare',
      scriptStyles: ['compare'],
    });
    this.setRuns(runDirs);
  }

  get runDirs(): string[] {
    return this.lives.map((l) => l.runDir);
  }

  setRuns(runDirs: string[]): void {
    const dirs = [...new Set(runDirs.map((d) => path.resolve(d)))];
    this.listeners.forEach((l) => l.dispose());
    const old = this.lives;
    this.lives = dirs.map((d) => this.deps.store.acquire(d));
    old.forEach((l) => this.deps.store.release(l));
    this.listeners = this.lives.map((l) => l.onDidChange(() => this.schedule()));
    this.panel.title = `Compare · ${this.lives.map((l) => l.state().name).join(', ')}`.slice(0, 80);
    this.needsSnapshot = true;
    this.schedule();
  }

  reveal(): void {
    this.panel.reveal(undefined, false);
  }

  protected flush(): void {
    if (!this.canPost()) return;
    const msg = compareMessage(this.lives);
    const json = JSON.stringify(msg);
    if (!this.needsSnapshot && json === this.lastSent) return;
    this.needsSnapshot = false;
    this.lastSent = json;
    this.post(msg);
    this.stats.snapshots++;
  }

  state(): ComparePanelState {
    return {
      kind: 'compare',
      runDir: this.lives[0]?.runDir ?? '',
      runDirs: this.runDirs,
      ...this.panelState(),
      ...this.hostState(),
    };
  }

  protected override release(): void {
    this.listeners.forEach((l) => l.dispose());
    this.lives.forEach((l) => this.deps.store.release(l));
    this.lives = [];
  }
}

function dirOf(v: unknown): string | undefined {
  if (typeof v === 'string' && v) return path.resolve(v);
  if (v instanceof vscode.Uri) return v.fsPath;
  const dir = (v as { info?: { dir?: unknown } } | undefined)?.info?.dir;
  return typeof dir === 'string' ? dir : undefined;
}

/** Run folders from the command's arguments: (clicked item, selected items) from the tree, or an array. */
async function runDirsFrom(arg: unknown, selected: unknown): Promise<string[] | undefined> {
  if (Array.isArray(selected) && selected.length >= 2) return selected.map(dirOf).filter((d): d is string => !!d);
  if (Array.isArray(arg)) {
    const dirs = arg.map(dirOf).filter((d): d is string => !!d);
    if (dirs.length) return dirs;
  }
  const clicked = dirOf(arg);
  const runs = allRunsRoots()
    .flatMap((root) => listRuns(root))
    .filter((r) => !r.reason);
  if (runs.length === 0) {
    void vscode.window.showInformationMessage('No runs yet: train a model first.');
    return undefined;
  }
  runs.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
  const picks = await vscode.window.showQuickPick(
    runs.map((r) => ({
      label: r.name,
      description: `${r.status ?? '?'} · ${r.estimator ?? '?'}`,
      detail: vscode.workspace.asRelativePath(r.dir),
      dir: r.dir,
      picked: !!clicked && path.resolve(r.dir) === path.resolve(clicked),
    })),
    { placeHolder: 'Runs to compare (pick two or more)', canPickMany: true },
  );
  return picks && picks.length ? picks.map((p) => p.dir) : undefined;
}

/** The command sbn.compareRuns and the panel's serializer; returns the open panel's state for sbn.panelState. */
export function registerComparePanel(context: vscode.ExtensionContext, deps: Deps): { state(): ComparePanelState[] } {
  const slot = new PanelSlot<ComparePanel>();
  const adopt = (panel: vscode.WebviewPanel, dirs: string[]): ComparePanel =>
    slot.adopt(new ComparePanel(panel, dirs, deps));
  context.subscriptions.push(
    slot,
    vscode.commands.registerCommand('sbn.compareRuns', async (arg: unknown, selected?: unknown) => {
      const dirs = await runDirsFrom(arg, selected);
      if (!dirs?.length) return undefined;
      if (slot.current) {
        slot.current.setRuns(dirs);
        slot.current.reveal();
      } else {
        adopt(
          vscode.window.createWebviewPanel(COMPARE_VIEW_TYPE, 'Compare runs', vscode.ViewColumn.Active, {
            enableScripts: true,
          }),
          dirs,
        );
      }
      return slot.current!.state();
    }),
    vscode.window.registerWebviewPanelSerializer(COMPARE_VIEW_TYPE, {
      deserializeWebviewPanel: (panel: vscode.WebviewPanel, state: unknown) => {
        const raw = (state as { runDirs?: unknown } | undefined)?.runDirs;
        const dirs = Array.isArray(raw)
          ? raw.filter((d): d is string => typeof d === 'string' && fs.existsSync(path.join(d, 'run.json')))
          : [];
        if (!dirs.length || slot.current) panel.dispose();
        else adopt(panel, dirs);
        return Promise.resolve();
      },
    }),
  );
  return { state: () => (slot.current ? [slot.current.state()] : []) };
}
