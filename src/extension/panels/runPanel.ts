// One webview panel showing one run (the training dashboard, gradient diagnostics or layer statistics), and the
// registry of open panels. The host owns the data: a panel follows its run through a shared LiveRun
// (seriesStore.ts) and, whenever its page says `ready` (loaded, reloaded after being hidden, or visible again),
// sends a snapshot, then coalesced deltas (≤ 10 messages/s) and run-state updates. Nothing is posted while the
// panel is hidden (VS Code drops such messages without retainContextWhenHidden); a reveal sends a fresh snapshot.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isWebviewMessage, type HostToWebview, type PanelKind, type WebviewToHost } from '../../webviewProtocol';
import { SeriesStore, SeriesSubscriber, Throttle, sendRunUpdate, seriesCsv, seriesJson, type LiveJobInfo, type LiveRun } from './seriesStore';
import { makeNonce, panelHtml } from './webviewHtml';

export interface PanelDescriptor {
  kind: PanelKind;
  /** The webview panel type (also the serializer's key). */
  viewType: string;
  /** Tab title for a run name. */
  title(runName: string): string;
  /** dist/webview/<script>.js (and <script>.css when the bundle has one). */
  script: string;
}

/** What a panel has done, for the `sbn.panelState` command (tests, troubleshooting). */
export interface PanelState {
  kind: PanelKind;
  runDir: string;
  title: string;
  visible: boolean;
  active: boolean;
  ready: boolean;
  snapshots: number;
  deltas: number;
  runStates: number;
  /** Messages VS Code refused (posted while the page was not there). */
  lost: number;
  /** The page's last report: points drawn per series. */
  rendered?: { points: Record<string, number>; charts: number; extras?: Record<string, number>; at: number };
  errors: string[];
}

/** The save dialog of each export format. */
const EXPORTS: Record<Extract<WebviewToHost, { type: 'export' }>['format'], { filter: string; title: string }> = {
  png: { filter: 'PNG image', title: 'Save the charts as PNG' },
  svg: { filter: 'SVG image', title: 'Save the charts as SVG' },
  csv: { filter: 'CSV', title: 'Save the series as CSV (full resolution)' },
  json: { filter: 'JSON', title: 'Save the series as JSON (full resolution)' },
};

export interface PanelDeps {
  extensionUri: vscode.Uri;
  store: SeriesStore;
  log: vscode.LogOutputChannel;
}

export class RunPanel implements vscode.Disposable {
  private readonly live: LiveRun;
  private readonly sub: SeriesSubscriber;
  private readonly throttle: Throttle;
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private needsSnapshot = true;
  private lastRunState = '';
  private disposed = false;
  readonly stats: Omit<PanelState, 'kind' | 'runDir' | 'title' | 'visible' | 'active' | 'ready'> = { snapshots: 0, deltas: 0, runStates: 0, lost: 0, errors: [] };
  private readonly closed = new vscode.EventEmitter<void>();
  readonly onDidClose = this.closed.event;

  constructor(readonly panel: vscode.WebviewPanel, readonly desc: PanelDescriptor, readonly runDir: string, private readonly deps: PanelDeps) {
    const dist = vscode.Uri.joinPath(deps.extensionUri, 'dist', 'webview');
    const media = vscode.Uri.joinPath(deps.extensionUri, 'media');
    panel.webview.options = { enableScripts: true, localResourceRoots: [dist, media] };
    panel.iconPath = vscode.Uri.joinPath(media, 'sbn-activity.svg');
    this.live = deps.store.acquire(runDir);
    panel.title = desc.title(this.live.state().name);
    const styles = [vscode.Uri.joinPath(media, 'webview.css')];
    if (fs.existsSync(path.join(dist.fsPath, `${desc.script}.css`))) styles.unshift(vscode.Uri.joinPath(dist, `${desc.script}.css`));
    panel.webview.html = panelHtml({
      cspSource: panel.webview.cspSource,
      nonce: makeNonce(),
      title: panel.title,
      styles: styles.map((u) => panel.webview.asWebviewUri(u).toString()),
      scripts: [panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, `${desc.script}.js`)).toString()],
    });
    this.sub = new SeriesSubscriber(() => this.live.series, desc.kind);
    this.throttle = new Throttle(() => this.flush(), 100);
    this.disposables.push(
      this.live.onDidChange(() => this.throttle.schedule()),
      panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      panel.onDidChangeViewState(() => {
        if (panel.visible) {
          // The page reloads on reveal (no retainContextWhenHidden) and says `ready`; if it did not, this snapshot
          // brings it up to date.
          this.needsSnapshot = true;
          this.throttle.schedule();
        }
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  get name(): string {
    return this.live.state().name;
  }

  setJob(job: LiveJobInfo | undefined): void {
    this.live.job = job;
  }

  /** Something was written to the run (a worker event): read it now rather than at the next poll. */
  nudge(): void {
    this.live.nudge();
  }

  reveal(preserveFocus: boolean): void {
    this.panel.reveal(undefined, preserveFocus);
  }

  state(): PanelState {
    return {
      kind: this.desc.kind, runDir: this.runDir, title: this.panel.title, visible: this.panel.visible, active: this.panel.active,
      ready: this.ready, ...this.stats, errors: this.stats.errors.slice(),
    };
  }

  private post(message: HostToWebview): void {
    void this.panel.webview.postMessage(message).then((ok) => {
      if (!ok) {
        this.stats.lost++;
        this.needsSnapshot = true;
      }
    }, () => { /* disposed meanwhile */ });
  }

  private flush(): void {
    if (this.disposed) return;
    if (!this.ready || !this.panel.visible) {
      if (!this.panel.visible) this.needsSnapshot = true;
      return;
    }
    const { run, lastRunState } = sendRunUpdate({
      panel: this.desc.kind, live: this.live, sub: this.sub, snapshot: this.needsSnapshot, lastRunState: this.lastRunState,
      post: (m) => this.post(m), counters: this.stats,
    });
    this.needsSnapshot = false;
    this.lastRunState = lastRunState;
    const title = this.desc.title(run.name);
    if (this.panel.title !== title) this.panel.title = title;
  }

  private onMessage(m: unknown): void {
    if (!isWebviewMessage(m)) return;
    const msg = m as WebviewToHost;
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        this.needsSnapshot = true;
        this.throttle.dispose();
        this.flush();
        break;
      case 'stop':
        void vscode.commands.executeCommand('sbn.stopTraining', this.runDir);
        break;
      case 'export':
        void this.export(msg);
        break;
      case 'rendered':
        this.stats.rendered = { points: msg.points, charts: msg.charts, extras: msg.extras, at: Date.now() };
        break;
      case 'error':
        this.stats.errors.push(msg.message);
        if (this.stats.errors.length > 20) this.stats.errors.shift();
        this.deps.log.warn(`${this.desc.kind} panel (${path.basename(this.runDir)}): ${msg.message}`);
        break;
      default:
        break;
    }
  }

  private async export(msg: Extract<WebviewToHost, { type: 'export' }>): Promise<void> {
    const base = msg.name.replace(/[^\w.-]+/g, '_') || this.desc.kind;
    const ext = msg.format;
    const what = EXPORTS[ext];
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(path.join(this.runDir, `${base}.${ext}`)),
      filters: { [what.filter]: [ext] },
      title: what.title,
    });
    if (!target) return;
    try {
      const bytes = msg.format === 'png' ? Buffer.from(msg.dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64')
        : msg.format === 'svg' ? Buffer.from(msg.svg, 'utf8')
          : msg.format === 'json' ? Buffer.from(seriesJson(this.live.series.raw(this.desc.kind), { panel: this.desc.kind, run: this.live.state() }), 'utf8')
            : Buffer.from(seriesCsv(this.live.series.raw(this.desc.kind)), 'utf8');
      await vscode.workspace.fs.writeFile(target, bytes);
      this.deps.log.info(`exported ${target.fsPath}`);
      this.post({ type: 'exported', ok: true, file: vscode.workspace.asRelativePath(target) });
    } catch (e) {
      this.post({ type: 'exported', ok: false, message: (e as Error).message });
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.throttle.dispose();
    this.disposables.forEach((d) => d.dispose());
    this.deps.store.release(this.live);
    this.closed.fire();
    this.closed.dispose();
    this.panel.dispose();
  }
}

/** Every open run panel, by kind and run folder (one per pair). */
export class PanelRegistry implements vscode.Disposable {
  private readonly panels = new Map<string, RunPanel>();
  readonly store: SeriesStore;
  private jobs = new Map<string, LiveJobInfo>();
  /** Serializers of panels outside this registry (the Model Preview), by view type (tests call them). */
  readonly serializers = new Map<string, vscode.WebviewPanelSerializer>();

  constructor(private readonly deps: Omit<PanelDeps, 'store'>, maxPoints: () => number) {
    this.store = new SeriesStore(maxPoints, undefined, (problem) => deps.log.warn(problem));
  }

  private key(kind: PanelKind, runDir: string): string {
    return `${kind}:${path.resolve(runDir)}`;
  }

  get(kind: PanelKind, runDir: string): RunPanel | undefined {
    return this.panels.get(this.key(kind, runDir));
  }

  all(): RunPanel[] {
    return [...this.panels.values()];
  }

  open(desc: PanelDescriptor, runDir: string, opts: { preserveFocus?: boolean; column?: vscode.ViewColumn } = {}): RunPanel {
    const existing = this.get(desc.kind, runDir);
    if (existing) {
      existing.reveal(!!opts.preserveFocus);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(desc.viewType, desc.title(path.basename(runDir)),
      { viewColumn: opts.column ?? vscode.ViewColumn.Active, preserveFocus: !!opts.preserveFocus }, { enableScripts: true, enableFindWidget: false });
    return this.adopt(desc, panel, runDir);
  }

  /** Take over a panel VS Code restored after a reload (the serializer) or one just created. */
  adopt(desc: PanelDescriptor, panel: vscode.WebviewPanel, runDir: string): RunPanel {
    const p = new RunPanel(panel, desc, path.resolve(runDir), { ...this.deps, store: this.store });
    const key = this.key(desc.kind, runDir);
    this.panels.set(key, p);
    p.setJob(this.jobs.get(path.resolve(runDir)));
    p.onDidClose(() => { if (this.panels.get(key) === p) this.panels.delete(key); });
    return p;
  }

  /** A worker job's news: which run it trains, whether it can still be stopped; read its folder now. */
  jobChanged(runDir: string, job: LiveJobInfo | undefined): void {
    const dir = path.resolve(runDir);
    if (job) this.jobs.set(dir, job); else this.jobs.delete(dir);
    for (const p of this.panels.values()) {
      if (p.runDir !== dir) continue;
      p.setJob(job);
      p.nudge();
    }
  }

  /** The serializer of one panel kind: restores its panels after a window reload (webview state = {runDir}). */
  serializer(desc: PanelDescriptor): vscode.WebviewPanelSerializer {
    return {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => {
        const runDir = (state as { runDir?: unknown } | undefined)?.runDir;
        if (typeof runDir !== 'string' || !fs.existsSync(path.join(runDir, 'run.json')) || this.get(desc.kind, runDir)) {
          panel.dispose();
          return;
        }
        this.adopt(desc, panel, runDir);
      },
    };
  }

  state(): PanelState[] {
    return this.all().map((p) => p.state());
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.dispose();
    this.panels.clear();
    this.store.dispose();
  }
}
