// The Sweep panel (`sbn.openSweep`): one sweep folder's points table and the objective against each swept field
// (mean and 95 % band over seeds), sent whole whenever sweep.json changes (a file watcher, and the sweep job's
// events when the editor runs it), at most ~3 times a second and nothing while hidden. webview/sweep.ts draws it. A
// click on a row opens that point's run in the training dashboard; Compare best opens Compare Runs on the best
// points; Stop, Resume and Report run the sweep commands.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { sweepReport } from '../../engine/sweeps/report';
import { SWEEP_STATE_FILE } from '../../engine/sweeps/format';
import type { SeriesPayload, SweepView, WebviewToHost } from '../../webviewProtocol';
import { bestRuns, sweepCharts, sweepTableRows } from './sweepData';
import { WebviewPanelHost, type PanelState } from './webviewHost';
import { pointsLeft, progressLine, sweepFolderInfo } from '../sweeps/sweepFolders';

export const SWEEP_VIEW_TYPE = 'sbn.sweep';

export interface SweepPanelState extends PanelState {
  /** What the page was last sent: table rows, and points with a finished mean. */
  rows: number;
  finishedPoints: number;
}

export interface SweepPanelDeps {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  /** Whether the editor runs this sweep now. */
  isRunning(dir: string): boolean;
}

/** The whole picture of a sweep folder as the page draws it. */
export function sweepViewOf(dir: string, running: boolean): { view: SweepView; series: Record<string, SeriesPayload> } {
  const info = sweepFolderInfo(dir);
  const base = {
    dir,
    name: info.name,
    counts: info.counts,
    progress: progressLine(info),
    workers: info.workers,
    running,
  };
  if (!info.state)
    return {
      view: {
        ...base,
        fields: [],
        objective: { metric: '', mode: 'min' },
        resumable: false,
        rows: [],
        charts: [],
        problem: info.problem,
      },
      series: {},
    };
  try {
    const report = sweepReport(dir);
    const { charts, series } = sweepCharts(report);
    return {
      view: {
        ...base,
        fields: report.fields,
        objective: report.objective,
        resumable: !running && info.liveWorkers.length === 0 && pointsLeft(info) > 0,
        rows: sweepTableRows(dir, report, info.state),
        charts,
      },
      series,
    };
  } catch (e) {
    return {
      view: {
        ...base,
        fields: [],
        objective: info.state.objective,
        resumable: false,
        rows: [],
        charts: [],
        problem: (e as Error).message,
      },
      series: {},
    };
  }
}

export class SweepPanel extends WebviewPanelHost {
  private lastSent = '';
  private rows = 0;
  private finishedPoints = 0;

  constructor(
    panel: vscode.WebviewPanel,
    readonly dir: string,
    private readonly deps: SweepPanelDeps,
  ) {
    super(panel, { log: deps.log, label: () => `sweep panel ${path.basename(dir)}`, throttleMs: 300 });
    panel.title = `Sweep · ${path.basename(dir)}`;
    this.showPage({ extensionUri: deps.extensionUri, title: 'Sweep', script: 'sweep', scriptStyles: ['sweep'] });
    const watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(vscode.Uri.file(dir), SWEEP_STATE_FILE),
    );
    this.disposables.push(
      watcher,
      watcher.onDidChange(() => this.changed()),
      watcher.onDidCreate(() => this.changed()),
      watcher.onDidDelete(() => this.changed()),
    );
  }

  /** sweep.json (or whether the editor runs the sweep) changed. */
  changed(): void {
    this.schedule();
  }

  reveal(): void {
    this.panel.reveal(undefined, false);
  }

  protected flush(): void {
    if (!this.canPost()) return;
    const { view, series } = sweepViewOf(this.dir, this.deps.isRunning(this.dir));
    const msg = { type: 'sweep' as const, view, series };
    const json = JSON.stringify(msg);
    if (!this.needsSnapshot && json === this.lastSent) return;
    this.needsSnapshot = false;
    this.lastSent = json;
    this.rows = view.rows.length;
    this.finishedPoints = view.rows.filter((r) => r.mean !== null).length;
    this.post(msg);
    this.stats.snapshots++;
  }

  protected override onPanelMessage(msg: WebviewToHost): void {
    switch (msg.type) {
      case 'openRun':
        // only a run folder of this sweep, never a path the page made up
        if (isInside(this.dir, msg.runDir) && fs.existsSync(msg.runDir))
          void vscode.commands.executeCommand('sbn.openDashboard', msg.runDir);
        break;
      case 'compareBest': {
        let dirs: string[] = [];
        try {
          dirs = bestRuns(this.dir, sweepReport(this.dir), sweepFolderInfo(this.dir).state!);
        } catch (e) {
          this.deps.log.warn(`sweep panel: ${(e as Error).message}`);
        }
        if (dirs.length === 0) void vscode.window.showInformationMessage('No point of this sweep has finished yet.');
        else void vscode.commands.executeCommand('sbn.compareRuns', dirs);
        break;
      }
      case 'sweepAction': {
        const command = { stop: 'sbn.stopSweep', resume: 'sbn.resumeSweep', report: 'sbn.sweepReport' }[msg.action];
        void vscode.commands.executeCommand(command, this.dir);
        break;
      }
      default:
        break;
    }
  }

  state(): SweepPanelState {
    return {
      kind: 'sweep',
      runDir: this.dir,
      rows: this.rows,
      finishedPoints: this.finishedPoints,
      ...this.panelState(),
      ...this.hostState(),
    };
  }
}

function isInside(folder: string, child: string): boolean {
  const rel = path.relative(path.resolve(folder), path.resolve(child));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** The open Sweep panels, one per sweep folder. */
export class SweepPanels implements vscode.Disposable {
  private readonly open = new Map<string, SweepPanel>();

  constructor(private readonly deps: SweepPanelDeps) {}

  show(dir: string): SweepPanel {
    const key = path.resolve(dir);
    const existing = this.open.get(key);
    if (existing) {
      existing.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(SWEEP_VIEW_TYPE, 'Sweep', vscode.ViewColumn.Active, {
      enableScripts: true,
    });
    return this.adopt(panel, key);
  }

  adopt(panel: vscode.WebviewPanel, dir: string): SweepPanel {
    const key = path.resolve(dir);
    const host = new SweepPanel(panel, key, this.deps);
    this.open.set(key, host);
    host.onDidClose(() => {
      if (this.open.get(key) === host) this.open.delete(key);
    });
    return host;
  }

  /** Something about the sweep in `dir` changed (its job's events): its panel redraws. */
  changed(dir: string): void {
    this.open.get(path.resolve(dir))?.changed();
  }

  has(dir: string): boolean {
    return this.open.has(path.resolve(dir));
  }

  state(): SweepPanelState[] {
    return [...this.open.values()].map((p) => p.state());
  }

  dispose(): void {
    for (const p of [...this.open.values()]) p.dispose();
    this.open.clear();
  }
}
