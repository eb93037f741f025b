// The Active Run view (`sbn.activeRun`, a WebviewView in the SBN Studio sidebar): the training run this window's
// worker trains, at a glance — sparklines of the objective and the validation acc_e, step / epoch / ETA, Stop and
// Open Dashboard; without one, an empty state (New Model File, a line about Train Model). webview/activeRun.ts draws
// it. Same CSP page (webviewHtml.ts) and the same snapshot + delta stream as the panels: the view follows the run
// through the shared SeriesStore (a LiveRun) with a SeriesSubscriber of kind `activeRun`, and posts nothing while
// hidden (a view that shows again says `ready` and gets a snapshot).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isWebviewMessage, type HostToWebview, type RunStatus, type WebviewToHost } from '../../webviewProtocol';
import type { Job, RunManager } from '../runManager';
import { SeriesSubscriber, Throttle, sendRunUpdate, type LiveRun, type SeriesStore } from './seriesStore';
import { makeNonce, panelHtml } from './webviewHtml';
import type { PanelState } from './runPanel';

export const ACTIVE_RUN_VIEW = 'sbn.activeRun';

export class ActiveRunViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private viewDisposables: vscode.Disposable[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  /** The followed run: its job, LiveRun and what the page has been sent of it. */
  private current: { job: Job; live: LiveRun; sub: SeriesSubscriber; listener: { dispose(): void } } | undefined;
  private last: { runDir: string; name: string; status: RunStatus } | undefined;
  private readonly throttle = new Throttle(() => this.flush(), 100);
  private ready = false;
  private needsSnapshot = true;
  private lastRunState = '';
  private lastIdle = '';
  private readonly stats: Omit<PanelState, 'kind' | 'runDir' | 'title' | 'visible' | 'active' | 'ready'> = { snapshots: 0, deltas: 0, runStates: 0, lost: 0, errors: [] };

  constructor(private readonly deps: { extensionUri: vscode.Uri; store: SeriesStore; runs: RunManager; log: vscode.LogOutputChannel }) {
    this.disposables.push(deps.runs.onDidChange(({ job, event }) => {
      if (job.kind !== 'train' && job.kind !== 'resume') return;
      this.pickJob();
      if (this.current?.job === job && event) this.current.live.nudge();
    }));
  }

  /** The newest training job of this window that has a run folder; follow it (or nothing). */
  private pickJob(): void {
    const jobs = this.deps.runs.activeTraining().filter((j) => j.runDir);
    const job = jobs[jobs.length - 1];
    if (job === this.current?.job) {
      if (this.current) this.current.live.job = { backend: job!.backend, estimator: job!.estimator, totalSteps: job!.lastStep?.totalSteps, canStop: true };
      return;
    }
    this.follow(job);
  }

  private follow(job: Job | undefined): void {
    if (this.current) {
      this.current.listener.dispose();
      const live = this.current.live;
      const dir = live.runDir;
      this.current = undefined;
      // read the final status once more, then let it go
      live.poll();
      const st = live.state();
      this.last = { runDir: dir, name: st.name, status: st.status };
      this.deps.store.release(live);
    }
    if (job?.runDir) {
      const live = this.deps.store.acquire(job.runDir);
      live.job = { backend: job.backend, estimator: job.estimator, totalSteps: job.lastStep?.totalSteps, canStop: true };
      const sub = new SeriesSubscriber(() => live.series, 'activeRun');
      const listener = live.onDidChange(() => this.throttle.schedule());
      this.current = { job, live, sub, listener };
    }
    this.needsSnapshot = true;
    this.throttle.schedule();
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.viewDisposables.forEach((d) => d.dispose());
    this.view = view;
    this.ready = false;
    this.needsSnapshot = true;
    const dist = vscode.Uri.joinPath(this.deps.extensionUri, 'dist', 'webview');
    const media = vscode.Uri.joinPath(this.deps.extensionUri, 'media');
    view.webview.options = { enableScripts: true, localResourceRoots: [dist, media] };
    const styles = [vscode.Uri.joinPath(dist, 'activeRun.css'), vscode.Uri.joinPath(media, 'webview.css')];
    view.webview.html = panelHtml({
      cspSource: view.webview.cspSource,
      nonce: makeNonce(),
      title: 'Active Run',
      styles: styles.map((u) => view.webview.asWebviewUri(u).toString()),
      scripts: [view.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'activeRun.js')).toString()],
    });
    this.viewDisposables = [
      view.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      view.onDidChangeVisibility(() => {
        if (view.visible) {
          this.needsSnapshot = true;
          this.throttle.schedule();
        }
      }),
      view.onDidDispose(() => {
        if (this.view === view) this.view = undefined;
        this.ready = false;
      }),
    ];
    this.pickJob();
  }

  private post(message: HostToWebview): void {
    const view = this.view;
    if (!view) return;
    void view.webview.postMessage(message).then((ok) => {
      if (!ok) {
        this.stats.lost++;
        this.needsSnapshot = true;
      }
    }, () => { /* disposed meanwhile */ });
  }

  private flush(): void {
    const view = this.view;
    if (!view || !this.ready) return;
    if (!view.visible) {
      this.needsSnapshot = true;
      return;
    }
    const cur = this.current;
    if (!cur) {
      const idle = JSON.stringify(this.last ?? null);
      if (this.needsSnapshot || idle !== this.lastIdle) {
        this.needsSnapshot = false;
        this.lastIdle = idle;
        this.lastRunState = '';
        this.post({ type: 'idle', ...(this.last ? { last: this.last } : {}) });
        this.stats.snapshots++;
      }
      return;
    }
    this.lastIdle = '';
    this.lastRunState = sendRunUpdate({
      panel: 'activeRun', live: cur.live, sub: cur.sub, snapshot: this.needsSnapshot, lastRunState: this.lastRunState,
      post: (m) => this.post(m), counters: this.stats,
    }).lastRunState;
    this.needsSnapshot = false;
  }

  private onMessage(m: unknown): void {
    if (!isWebviewMessage(m)) return;
    const msg = m as WebviewToHost;
    const runDir = this.current?.live.runDir ?? this.last?.runDir;
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        this.needsSnapshot = true;
        this.throttle.dispose();
        this.flush();
        break;
      case 'stop':
        if (this.current) void vscode.commands.executeCommand('sbn.stopTraining', this.current.live.runDir);
        break;
      case 'command':
        if (msg.command === 'newModelFile') void vscode.commands.executeCommand('sbn.newModelFile');
        else if (msg.command === 'openDashboard' && runDir) void vscode.commands.executeCommand('sbn.openDashboard', runDir);
        break;
      case 'rendered':
        this.stats.rendered = { points: msg.points, charts: msg.charts, extras: msg.extras, at: Date.now() };
        break;
      case 'error':
        this.stats.errors.push(msg.message);
        if (this.stats.errors.length > 20) this.stats.errors.shift();
        this.deps.log.warn(`active-run view: ${msg.message}`);
        break;
      default:
        break;
    }
  }

  /** For sbn.panelState: `runDir` is the followed run's folder ('' when idle). */
  state(): PanelState {
    return {
      kind: 'activeRun', runDir: this.current ? path.resolve(this.current.live.runDir) : '', title: 'Active Run',
      visible: !!this.view?.visible, active: false, ready: this.ready && !!this.view, ...this.stats, errors: this.stats.errors.slice(),
    };
  }

  dispose(): void {
    this.throttle.dispose();
    this.viewDisposables.forEach((d) => d.dispose());
    this.disposables.forEach((d) => d.dispose());
    if (this.current) {
      this.current.listener.dispose();
      this.deps.store.release(this.current.live);
      this.current = undefined;
    }
  }
}
