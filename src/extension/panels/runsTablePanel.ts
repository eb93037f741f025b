// The Runs table (`sbn.openRunsTable`, the Runs view's title button): every run the Runs view lists — those of the
// runs folders and of the sweeps — as one table (runsTableData.ts computes it; webview/runsTable.ts draws, sorts,
// filters and groups it). It follows the runs as the Runs view does: the view's file watchers and the training jobs'
// events refresh both (the tree's change event), and a poll every few seconds while a run shown is running catches
// metrics a `sbn train` in a terminal appends. Sent whole, at most about once a second, nothing while hidden. The
// page's buttons run the extension's commands on the runs it names, and only on runs the table shows.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunsTableView, WebviewToHost } from '../../webviewProtocol';
import type { RunsTreeProvider } from '../runsTree';
import { RunsTableReader, runsTableView } from './runsTableData';
import { PanelSlot, WebviewPanelHost, type PanelState } from './webviewHost';

export const RUNS_TABLE_VIEW_TYPE = 'sbn.runsTable';
/** While a run shown is running: how often the table rereads the runs (metrics.jsonl is not watched). */
const LIVE_POLL_MS = 3000;

export interface RunsTablePanelState extends PanelState {
  /** What the page was last sent: its rows' run folders and labels, and its column ids. */
  rows: { runDir: string; label: string; tags: string[] }[];
  columns: string[];
}

interface Deps {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  tree: RunsTreeProvider;
}

export class RunsTablePanel extends WebviewPanelHost {
  private readonly reader = new RunsTableReader();
  private lastSent = '';
  private view: RunsTableView = { columns: [], rows: [], tags: [] };
  private poll: NodeJS.Timeout | undefined;

  constructor(
    panel: vscode.WebviewPanel,
    private readonly deps: Deps,
  ) {
    super(panel, { log: deps.log, label: () => 'runs table', throttleMs: 1000 });
    panel.title = 'Runs';
    this.showPage({ extensionUri: deps.extensionUri, title: 'Runs', script: 'runsTable' });
    this.disposables.push(deps.tree.onDidChangeTreeData(() => this.schedule()));
  }

  reveal(): void {
    this.panel.reveal(undefined, false);
  }

  /** Read the runs now (what the page shows next). */
  private read(): RunsTableView {
    const runs = this.deps.tree.allRuns();
    this.reader.keepOnly(runs.map((r) => r.info.dir));
    return runsTableView(runs.map((r) => this.reader.source(r.info, r.sweep)));
  }

  protected flush(): void {
    if (!this.canPost()) return;
    this.view = this.read();
    this.pollWhileRunning();
    const msg = { type: 'runsTable' as const, view: this.view };
    const json = JSON.stringify(msg);
    if (!this.needsSnapshot && json === this.lastSent) return;
    this.needsSnapshot = false;
    this.lastSent = json;
    this.post(msg);
    this.stats.snapshots++;
  }

  private pollWhileRunning(): void {
    if (this.poll || !this.view.rows.some((r) => r.status === 'running')) return;
    this.poll = setTimeout(() => {
      this.poll = undefined;
      this.schedule();
    }, LIVE_POLL_MS);
  }

  protected override onPanelMessage(msg: WebviewToHost): void {
    if (msg.type !== 'runsTableAction') return;
    // only runs of the table, never a path the page made up
    const shown = new Map(this.view.rows.map((r) => [path.resolve(r.runDir), r]));
    const rows = msg.runDirs.map((d) => shown.get(path.resolve(String(d)))).filter((r) => r !== undefined);
    if (rows.length === 0) return;
    const dirs = rows.map((r) => r.runDir);
    switch (msg.action) {
      case 'open':
        void vscode.commands.executeCommand('sbn.openDashboard', dirs[0]);
        break;
      case 'compare':
        void vscode.commands.executeCommand('sbn.compareRuns', dirs);
        break;
      case 'rename':
        void vscode.commands.executeCommand('sbn.renameRun', dirs[0]);
        break;
      case 'tags':
        void vscode.commands.executeCommand('sbn.editRunTags', dirs[0]);
        break;
      case 'notes':
        void vscode.commands.executeCommand('sbn.editRunNotes', dirs[0]);
        break;
      case 'delete':
        void this.deleteRuns(rows.map((r) => ({ dir: r.runDir, label: r.label, status: r.status })));
        break;
    }
  }

  /** Delete the runs after one confirmation; a running run is refused (Delete Run says so). */
  private async deleteRuns(runs: { dir: string; label: string; status: string }[]): Promise<void> {
    const names = runs.map((r) => r.label);
    const list = names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`;
    const answer = await vscode.window.showWarningMessage(
      runs.length === 1
        ? `Delete the run folder ${list} with its metrics and checkpoints?`
        : `Delete ${runs.length} run folders (${list}) with their metrics and checkpoints?`,
      { modal: true },
      'Delete',
    );
    if (answer !== 'Delete') return;
    for (const r of runs) await vscode.commands.executeCommand('sbn.deleteRun', r.dir, { confirmed: true });
    this.schedule();
  }

  state(): RunsTablePanelState {
    return {
      kind: 'runsTable',
      runDir: '',
      rows: this.view.rows.map((r) => ({
        runDir: r.runDir,
        label: r.label,
        tags: Array.isArray(r.values.tags) ? r.values.tags : [],
      })),
      columns: this.view.columns.map((c) => c.id),
      ...this.panelState(),
      ...this.hostState(),
    };
  }

  protected override release(): void {
    if (this.poll) clearTimeout(this.poll);
    this.poll = undefined;
  }
}

/** The command sbn.openRunsTable and the panel's serializer; returns the open panel's state for sbn.panelState. */
export function registerRunsTablePanel(
  context: vscode.ExtensionContext,
  deps: Deps,
): { state(): RunsTablePanelState[] } {
  const slot = new PanelSlot<RunsTablePanel>();
  const adopt = (panel: vscode.WebviewPanel) => slot.adopt(new RunsTablePanel(panel, deps));
  context.subscriptions.push(
    slot,
    vscode.commands.registerCommand('sbn.openRunsTable', () => {
      if (slot.current) slot.current.reveal();
      else
        adopt(
          vscode.window.createWebviewPanel(RUNS_TABLE_VIEW_TYPE, 'Runs', vscode.ViewColumn.Active, {
            enableScripts: true,
          }),
        );
      return slot.current!.state();
    }),
    vscode.window.registerWebviewPanelSerializer(RUNS_TABLE_VIEW_TYPE, {
      deserializeWebviewPanel: (panel: vscode.WebviewPanel) => {
        if (slot.current) panel.dispose();
        else adopt(panel);
        return Promise.resolve();
      },
    }),
  );
  return { state: () => (slot.current ? [slot.current.state()] : []) };
}
