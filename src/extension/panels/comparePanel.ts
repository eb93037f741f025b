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
import { isWebviewMessage, type WebviewToHost } from '../../webviewProtocol';
import { compareMessage } from './compareData';
import { allRunsRoots } from '../modelFiles';
import { Throttle, type LiveRun, type SeriesStore } from './seriesStore';
import { makeNonce, panelHtml } from './webviewHtml';
import type { PanelState } from './runPanel';

export const COMPARE_VIEW_TYPE = 'sbn.compare';

export interface ComparePanelState extends PanelState {
  runDirs: string[];
}

interface Deps {
  extensionUri: vscode.Uri;
  store: SeriesStore;
  log: vscode.LogOutputChannel;
}

export class ComparePanel implements vscode.Disposable {
  private lives: LiveRun[] = [];
  private listeners: { dispose(): void }[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private readonly throttle = new Throttle(() => this.flush(), 300);
  private ready = false;
  private needsSend = true;
  private lastSent = '';
  private disposed = false;
  private readonly stats: Omit<PanelState, 'kind' | 'runDir' | 'title' | 'visible' | 'active' | 'ready'> = { snapshots: 0, deltas: 0, runStates: 0, lost: 0, errors: [] };
  private readonly closed = new vscode.EventEmitter<void>();
  readonly onDidClose = this.closed.event;

  constructor(readonly panel: vscode.WebviewPanel, runDirs: string[], private readonly deps: Deps) {
    const dist = vscode.Uri.joinPath(deps.extensionUri, 'dist', 'webview');
    const media = vscode.Uri.joinPath(deps.extensionUri, 'media');
    panel.webview.options = { enableScripts: true, localResourceRoots: [dist, media] };
    panel.iconPath = vscode.Uri.joinPath(media, 'sbn-activity.svg');
    panel.webview.html = panelHtml({
      cspSource: panel.webview.cspSource,
      nonce: makeNonce(),
      title: 'Compare runs',
      styles: [vscode.Uri.joinPath(dist, 'compare.css'), vscode.Uri.joinPath(media, 'webview.css')].map((u) => panel.webview.asWebviewUri(u).toString()),
      scripts: [panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'compare.js')).toString()],
    });
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      panel.onDidChangeViewState(() => {
        if (panel.visible) {
          this.needsSend = true;
          this.throttle.schedule();
        }
      }),
      panel.onDidDispose(() => this.dispose()),
    );
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
    this.listeners = this.lives.map((l) => l.onDidChange(() => this.throttle.schedule()));
    this.panel.title = `Compare · ${this.lives.map((l) => l.state().name).join(', ')}`.slice(0, 80);
    this.needsSend = true;
    this.throttle.schedule();
  }

  reveal(): void {
    this.panel.reveal(undefined, false);
  }

  private flush(): void {
    if (this.disposed || !this.ready) return;
    if (!this.panel.visible) {
      this.needsSend = true;
      return;
    }
    const msg = compareMessage(this.lives);
    const json = JSON.stringify(msg);
    if (!this.needsSend && json === this.lastSent) return;
    this.needsSend = false;
    this.lastSent = json;
    void this.panel.webview.postMessage(msg).then((ok) => {
      if (!ok) {
        this.stats.lost++;
        this.needsSend = true;
      }
    }, () => { /* disposed */ });
    this.stats.snapshots++;
  }

  private onMessage(m: unknown): void {
    if (!isWebviewMessage(m)) return;
    const msg = m as WebviewToHost;
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        this.needsSend = true;
        this.throttle.dispose();
        this.flush();
        break;
      case 'rendered':
        this.stats.rendered = { points: msg.points, charts: msg.charts, extras: msg.extras, at: Date.now() };
        break;
      case 'error':
        this.stats.errors.push(msg.message);
        if (this.stats.errors.length > 20) this.stats.errors.shift();
        this.deps.log.warn(`compare panel: ${msg.message}`);
        break;
      default:
        break;
    }
  }

  state(): ComparePanelState {
    return {
      kind: 'compare', runDir: this.lives[0]?.runDir ?? '', runDirs: this.runDirs, title: this.panel.title, visible: this.panel.visible,
      active: this.panel.active, ready: this.ready, ...this.stats, errors: this.stats.errors.slice(),
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.throttle.dispose();
    this.listeners.forEach((l) => l.dispose());
    this.lives.forEach((l) => this.deps.store.release(l));
    this.lives = [];
    this.disposables.forEach((d) => d.dispose());
    this.closed.fire();
    this.closed.dispose();
    this.panel.dispose();
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
  const runs = allRunsRoots().flatMap((root) => listRuns(root)).filter((r) => !r.reason);
  if (runs.length === 0) {
    void vscode.window.showInformationMessage('No runs yet: train a model first.');
    return undefined;
  }
  runs.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
  const picks = await vscode.window.showQuickPick(runs.map((r) => ({
    label: r.name, description: `${r.status ?? '?'} · ${r.estimator ?? '?'}`, detail: vscode.workspace.asRelativePath(r.dir), dir: r.dir,
    picked: !!clicked && path.resolve(r.dir) === path.resolve(clicked),
  })), { placeHolder: 'Runs to compare (pick two or more)', canPickMany: true });
  return picks && picks.length ? picks.map((p) => p.dir) : undefined;
}

/** The command sbn.compareRuns and the panel's serializer; returns the open panel's state for sbn.panelState. */
export function registerComparePanel(context: vscode.ExtensionContext, deps: Deps): { state(): ComparePanelState[] } {
  let current: ComparePanel | undefined;
  const adopt = (panel: vscode.WebviewPanel, dirs: string[]) => {
    const p = new ComparePanel(panel, dirs, deps);
    current = p;
    p.onDidClose(() => { if (current === p) current = undefined; });
    return p;
  };
  context.subscriptions.push(
    { dispose: () => current?.dispose() },
    vscode.commands.registerCommand('sbn.compareRuns', async (arg: unknown, selected?: unknown) => {
      const dirs = await runDirsFrom(arg, selected);
      if (!dirs?.length) return undefined;
      if (current) {
        current.setRuns(dirs);
        current.reveal();
      } else {
        adopt(vscode.window.createWebviewPanel(COMPARE_VIEW_TYPE, 'Compare runs', vscode.ViewColumn.Active, { enableScripts: true }), dirs);
      }
      return current!.state();
    }),
    vscode.window.registerWebviewPanelSerializer(COMPARE_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => {
        const raw = (state as { runDirs?: unknown } | undefined)?.runDirs;
        const dirs = Array.isArray(raw) ? raw.filter((d): d is string => typeof d === 'string' && fs.existsSync(path.join(d, 'run.json'))) : [];
        if (!dirs.length || current) {
          panel.dispose();
          return;
        }
        adopt(panel, dirs);
      },
    }),
  );
  return { state: () => (current ? [current.state()] : []) };
}
