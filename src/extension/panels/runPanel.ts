// One webview panel showing one run (the training dashboard, gradient diagnostics or layer statistics), and the
// registry of open panels. The host owns the data: a panel follows its run through a shared LiveRun
// (seriesStore.ts) and, whenever its page says `ready` (loaded, reloaded after being hidden, or visible again),
// sends a snapshot, then coalesced deltas (≤ 10 messages/s) and run-state updates. Nothing is posted while the
// panel is hidden (VS Code drops such messages without retainContextWhenHidden); a reveal sends a fresh snapshot.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PanelKind, WebviewToHost } from '../../webviewProtocol';
import {
  SeriesStore,
  SeriesSubscriber,
  sendRunUpdate,
  seriesCsv,
  seriesJson,
  type LiveJobInfo,
  type LiveRun,
} from './seriesStore';
import { WebviewPanelHost, type PanelState } from './webviewHost';
import { confirmExport } from '../exportNotice';

export interface PanelDescriptor {
  kind: PanelKind;
  /** The webview panel type (also the serializer's key). */
  viewType: string;
  /** Tab title for a run name. */
  title(runName: string): string;
  /** dist/webview/<script>.js (and <script>.css when the bundle has one). */
  script: string;
}

export type { PanelState } from './webviewHost';

/** The save dialog of each export format. */
const EXPORTS: Record<
  Extract<WebviewToHost, { type: 'export' }>['format'],
  { filter: string; title: string; what: string }
> = {
  png: { filter: 'PNG image', title: 'Save the charts as PNG', what: 'PNG of the charts' },
  svg: { filter: 'SVG image', title: 'Save the charts as SVG', what: 'SVG of the charts' },
  csv: { filter: 'CSV', title: 'Save the series as CSV (full resolution)', what: 'CSV of the series' },
  json: { filter: 'JSON', title: 'Save the series as JSON (full resolution)', what: 'JSON of the series' },
};

export interface PanelDeps {
  extensionUri: vscode.Uri;
  store: SeriesStore;
  log: vscode.LogOutputChannel;
}

export class RunPanel extends WebviewPanelHost {
  private readonly live: LiveRun;
  private readonly sub: SeriesSubscriber;
  private lastRunState = '';

  constructor(
    panel: vscode.WebviewPanel,
    readonly desc: PanelDescriptor,
    readonly runDir: string,
    private readonly deps: PanelDeps,
  ) {
    super(panel, { log: deps.log, label: () => `${desc.kind} panel (${path.basename(runDir)})`, throttleMs: 100 });
    this.live = deps.store.acquire(runDir);
    panel.title = desc.title(this.live.state().name);
    const hasCss = fs.existsSync(path.join(deps.extensionUri.fsPath, 'dist', 'webview', `${desc.script}.css`));
    this.showPage({
      extensionUri: deps.extensionUri,
      title: panel.title,
      script: desc.script,
      scriptStyles: hasCss ? [desc.script] : [],
    });
    this.sub = new SeriesSubscriber(() => this.live.series, desc.kind);
    // A reveal schedules a snapshot (the page reloads on reveal and says `ready`; if it did not, this brings it up
    // to date).
    this.disposables.push(this.live.onDidChange(() => this.schedule()));
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
    return { kind: this.desc.kind, runDir: this.runDir, ...this.panelState(), ...this.hostState() };
  }

  protected flush(): void {
    if (!this.canPost()) return;
    const { run, lastRunState } = sendRunUpdate({
      panel: this.desc.kind,
      live: this.live,
      sub: this.sub,
      snapshot: this.needsSnapshot,
      lastRunState: this.lastRunState,
      post: (m) => this.post(m),
      counters: this.stats,
    });
    this.needsSnapshot = false;
    this.lastRunState = lastRunState;
    const title = this.desc.title(run.name);
    if (this.panel.title !== title) this.panel.title = title;
  }

  protected override onPanelMessage(msg: WebviewToHost): void {
    if (msg.type === 'stop') void vscode.commands.executeCommand('sbn.stopTraining', this.runDir);
    else if (msg.type === 'export') void this.export(msg);
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
      const bytes =
        msg.format === 'png'
          ? Buffer.from(msg.dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64')
          : msg.format === 'svg'
            ? Buffer.from(msg.svg, 'utf8')
            : msg.format === 'json'
              ? Buffer.from(
                  seriesJson(this.live.series.raw(this.desc.kind), { panel: this.desc.kind, run: this.live.state() }),
                  'utf8',
                )
              : Buffer.from(seriesCsv(this.live.series.raw(this.desc.kind)), 'utf8');
      await vscode.workspace.fs.writeFile(target, bytes);
      this.deps.log.info(`exported ${target.fsPath}`);
      this.post({ type: 'exported', ok: true, file: vscode.workspace.asRelativePath(target) });
      void confirmExport(target, what.what);
    } catch (e) {
      this.post({ type: 'exported', ok: false, message: (e as Error).message });
    }
  }

  protected override release(): void {
    this.deps.store.release(this.live);
  }
}

/** Every open run panel, by kind and run folder (one per pair). */
export class PanelRegistry implements vscode.Disposable {
  private readonly panels = new Map<string, RunPanel>();
  readonly store: SeriesStore;
  private jobs = new Map<string, LiveJobInfo>();
  /** Serializers of panels outside this registry (the Model Preview), by view type (tests call them). */
  readonly serializers = new Map<string, vscode.WebviewPanelSerializer>();

  constructor(
    private readonly deps: Omit<PanelDeps, 'store'>,
    maxPoints: () => number,
  ) {
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

  open(
    desc: PanelDescriptor,
    runDir: string,
    opts: { preserveFocus?: boolean; column?: vscode.ViewColumn } = {},
  ): RunPanel {
    const existing = this.get(desc.kind, runDir);
    if (existing) {
      existing.reveal(!!opts.preserveFocus);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      desc.viewType,
      desc.title(path.basename(runDir)),
      { viewColumn: opts.column ?? vscode.ViewColumn.Active, preserveFocus: !!opts.preserveFocus },
      { enableScripts: true, enableFindWidget: false },
    );
    return this.adopt(desc, panel, runDir);
  }

  /** Take over a panel VS Code restored after a reload (the serializer) or one just created. */
  adopt(desc: PanelDescriptor, panel: vscode.WebviewPanel, runDir: string): RunPanel {
    const p = new RunPanel(panel, desc, path.resolve(runDir), { ...this.deps, store: this.store });
    const key = this.key(desc.kind, runDir);
    this.panels.set(key, p);
    p.setJob(this.jobs.get(path.resolve(runDir)));
    p.onDidClose(() => {
      if (this.panels.get(key) === p) this.panels.delete(key);
    });
    return p;
  }

  /** A worker job's news: which run it trains, whether it can still be stopped; read its folder now. */
  jobChanged(runDir: string, job: LiveJobInfo | undefined): void {
    const dir = path.resolve(runDir);
    if (job) this.jobs.set(dir, job);
    else this.jobs.delete(dir);
    for (const p of this.panels.values()) {
      if (p.runDir !== dir) continue;
      p.setJob(job);
      p.nudge();
    }
  }

  /** The serializer of one panel kind: restores its panels after a window reload (webview state = {runDir}). */
  serializer(desc: PanelDescriptor): vscode.WebviewPanelSerializer {
    return {
      deserializeWebviewPanel: (panel: vscode.WebviewPanel, state: unknown) => {
        const runDir = (state as { runDir?: unknown } | undefined)?.runDir;
        if (typeof runDir !== 'string' || !fs.existsSync(path.join(runDir, 'run.json')) || this.get(desc.kind, runDir))
          panel.dispose();
        else this.adopt(desc, panel, runDir);
        return Promise.resolve();
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
