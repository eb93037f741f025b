// The Active Run view (`sbn.activeRun`, a WebviewView in the SBN Studio sidebar): the training run this window's
// worker trains, at a glance — sparklines of the objective and the validation acc_e, step / epoch / ETA, Stop and
// Open Dashboard; without one, an empty state (New Model File, a line about Train Model). webview/activeRun.ts draws
// it. Same CSP page (src/html.ts) and the same snapshot + delta stream as the panels: the view follows the run
// through the shared SeriesStore (a LiveRun) with a SeriesSubscriber of kind `activeRun`, and posts nothing while
// hidden (a view that shows again says `ready` and gets a snapshot).
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunStatus, WebviewToHost } from '../../webviewProtocol';
import type { Job, RunManager } from '../runManager';
import { SeriesSubscriber, sendRunUpdate, type LiveRun, type SeriesStore } from './seriesStore';
import { WebviewHost, showExtensionPage, type PanelState } from './webviewHost';

export const ACTIVE_RUN_VIEW = 'sbn.activeRun';

export class ActiveRunViewProvider extends WebviewHost implements vscode.WebviewViewProvider {
  private view: vscode.WebviewView | undefined;
  private viewDisposables: vscode.Disposable[] = [];
  /** The followed run: its job, LiveRun and what the page has been sent of it. */
  private current: { job: Job; live: LiveRun; sub: SeriesSubscriber; listener: { dispose(): void } } | undefined;
  private last: { runDir: string; name: string; status: RunStatus } | undefined;
  private lastRunState = '';
  private lastIdle = '';

  constructor(
    private readonly deps: {
      extensionUri: vscode.Uri;
      store: SeriesStore;
      runs: RunManager;
      log: vscode.LogOutputChannel;
    },
  ) {
    super({ log: deps.log, label: () => 'active-run view', throttleMs: 100 });
    this.disposables.push(
      deps.runs.onDidChange(({ job, event }) => {
        if (job.kind !== 'train' && job.kind !== 'resume') return;
        this.pickJob();
        if (this.current?.job === job && event) this.current.live.nudge();
      }),
    );
  }

  /** The newest training job of this window that has a run folder; follow it (or nothing). */
  private pickJob(): void {
    const jobs = this.deps.runs.activeTraining().filter((j) => j.runDir);
    const job = jobs[jobs.length - 1];
    if (job === this.current?.job) {
      if (this.current)
        this.current.live.job = {
          backend: job.backend,
          estimator: job.estimator,
          totalSteps: job.lastStep?.totalSteps,
          canStop: true,
        };
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
      live.job = {
        backend: job.backend,
        estimator: job.estimator,
        totalSteps: job.lastStep?.totalSteps,
        canStop: true,
      };
      const sub = new SeriesSubscriber(() => live.series, 'activeRun');
      const listener = live.onDidChange(() => this.schedule());
      this.current = { job, live, sub, listener };
    }
    this.needsSnapshot = true;
    this.schedule();
  }

  protected get webview(): vscode.Webview | undefined {
    return this.view?.webview;
  }

  protected get visible(): boolean {
    return !!this.view?.visible;
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    for (const d of this.viewDisposables) d.dispose();
    this.view = view;
    this.ready = false;
    this.needsSnapshot = true;
    this.renderPage();
    this.viewDisposables = [
      view.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      view.onDidChangeVisibility(() => {
        if (view.visible) this.onVisible();
      }),
      view.onDidDispose(() => {
        if (this.view === view) this.view = undefined;
        this.ready = false;
      }),
    ];
    this.pickJob();
  }

  protected renderPage(): void {
    if (!this.view) return;
    showExtensionPage(this.view.webview, {
      extensionUri: this.deps.extensionUri,
      title: 'Active Run',
      script: 'activeRun',
      scriptStyles: ['activeRun'],
    });
  }

  protected flush(): void {
    if (!this.canPost()) return;
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
      panel: 'activeRun',
      live: cur.live,
      sub: cur.sub,
      snapshot: this.needsSnapshot,
      lastRunState: this.lastRunState,
      post: (m) => this.post(m),
      counters: this.stats,
    }).lastRunState;
    this.needsSnapshot = false;
  }

  protected override onPanelMessage(msg: WebviewToHost): void {
    const runDir = this.current?.live.runDir ?? this.last?.runDir;
    if (msg.type === 'stop') {
      if (this.current) void vscode.commands.executeCommand('sbn.stopTraining', this.current.live.runDir);
    } else if (msg.type === 'command') {
      if (msg.command === 'newModelFile') void vscode.commands.executeCommand('sbn.newModelFile');
      else if (msg.command === 'openDashboard' && runDir)
        void vscode.commands.executeCommand('sbn.openDashboard', runDir);
    }
  }

  /** For sbn.panelState: `runDir` is the followed run's folder ('' when idle). */
  state(): PanelState {
    return {
      kind: 'activeRun',
      runDir: this.current ? path.resolve(this.current.live.runDir) : '',
      title: 'Active Run',
      visible: !!this.view?.visible,
      active: false,
      ...this.hostState(),
      ready: this.ready && !!this.view,
    };
  }

  protected override release(): void {
    for (const d of this.viewDisposables) d.dispose();
    if (this.current) {
      this.current.listener.dispose();
      this.deps.store.release(this.current.live);
      this.current = undefined;
    }
  }
}
