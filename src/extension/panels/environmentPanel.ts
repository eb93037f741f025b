// SBN: Show Environment (`sbn.showEnvironment`): the environment report of `sbn doctor` in a panel — VS Code and
// Node versions, each backend and why it loads or not, the native kernels, GPUs, the data sets and where they are,
// the runs folders — with Copy as JSON and Refresh. The report is computed by an `environment` worker job (which
// tries each backend in a child process of its own): no tensor code in the extension host. webview/environment.ts
// draws it; the host sends the whole state (`environment` message) on every change.
import * as vscode from 'vscode';
import type { EnvironmentReport } from '../../environmentReport';
import type { BackendPreference } from '../../protocol';
import type { EnvironmentViewState, WebviewToHost } from '../../webviewProtocol';
import { allRunsRoots } from '../modelFiles';
import type { RunManager } from '../runManager';
import { PanelSlot, WebviewPanelHost, type PanelState } from './webviewHost';

export const ENVIRONMENT_VIEW_TYPE = 'sbn.environment';

export interface EnvironmentPanelState extends PanelState {
  status: EnvironmentViewState['status'] | 'none';
  /** Reports computed, and copies to the clipboard. */
  reports: number;
  copies: number;
}

interface Deps {
  extensionUri: vscode.Uri;
  runs: RunManager;
  log: vscode.LogOutputChannel;
  version: string;
}

/** The report with what only the extension host knows: the VS Code version. */
function withVsCode(report: EnvironmentReport): EnvironmentReport {
  return {
    ...report,
    vscode: { version: vscode.version, appName: vscode.env.appName, remoteName: vscode.env.remoteName ?? null },
  };
}

class EnvironmentPanel extends WebviewPanelHost<{ reports: number; copies: number }> {
  private current: EnvironmentViewState = { status: 'computing' };
  private computing: Promise<void> | undefined;

  constructor(
    panel: vscode.WebviewPanel,
    private readonly deps: Deps,
  ) {
    super(panel, { log: deps.log, label: () => 'environment panel', extraStats: { reports: 0, copies: 0 } });
    this.showPage({
      extensionUri: deps.extensionUri,
      title: 'SBN environment',
      loadingText: 'Computing the environment report…',
      script: 'environment',
    });
  }

  /** Computes the report again (one at a time; a second call while one runs waits for it). */
  refresh(): Promise<void> {
    this.computing ??= this.compute().finally(() => {
      this.computing = undefined;
    });
    return this.computing;
  }

  private async compute(): Promise<void> {
    this.set({ ...this.current, status: 'computing' });
    const job = this.deps.runs.start(
      {
        type: 'environment',
        sbnVersion: this.deps.version,
        runsFolders: allRunsRoots(),
        backend: vscode.workspace.getConfiguration('sbn').get<BackendPreference>('backend', 'auto'),
      },
      'environment report',
    );
    let report: EnvironmentReport | undefined;
    const sub = this.deps.runs.onDidChange(({ job: j, event }) => {
      if (j === job && event?.type === 'environment') report = withVsCode(event.report);
    });
    const end = await job.finished;
    sub.dispose();
    if (report) {
      this.stats.reports++;
      this.set({ status: 'done', report });
    } else {
      this.set({
        status: 'error',
        message: end.type === 'error' ? end.message : 'the environment job ended without a report',
      });
    }
  }

  private set(state: EnvironmentViewState): void {
    this.current = state;
    this.flush();
  }

  protected flush(): void {
    if (!this.canPost()) return;
    this.post({ type: 'environment', state: this.current });
    this.stats.snapshots++;
  }

  /** The report as one JSON object (what Copy as JSON puts on the clipboard). */
  json(): string | undefined {
    return this.current.report ? `${JSON.stringify(this.current.report, null, 2)}\n` : undefined;
  }

  protected override onPanelMessage(msg: WebviewToHost): void {
    if (msg.type !== 'environmentAction') return;
    if (msg.action === 'refresh') {
      void this.refresh();
      return;
    }
    const text = this.json();
    if (!text) return;
    void vscode.env.clipboard.writeText(text).then(() => {
      this.stats.copies++;
      void vscode.window.showInformationMessage('The environment report is on the clipboard (JSON).');
    });
  }

  state(): EnvironmentPanelState {
    return {
      kind: 'environment',
      runDir: '',
      ...this.panelState(),
      ...this.hostState(),
      status: this.current.status,
    };
  }
}

/**
 * The command sbn.showEnvironment (opens or reveals the panel and computes the report; resolves with the panel
 * state once the report is there) and the panel's serializer (a restored panel computes a fresh report).
 */
export function registerEnvironmentPanel(
  context: vscode.ExtensionContext,
  deps: Deps,
): { state(): EnvironmentPanelState[] } {
  const slot = new PanelSlot<EnvironmentPanel>();
  const adopt = (panel: vscode.WebviewPanel): EnvironmentPanel => slot.adopt(new EnvironmentPanel(panel, deps));
  context.subscriptions.push(
    slot,
    vscode.commands.registerCommand('sbn.showEnvironment', async () => {
      if (slot.current) slot.current.panel.reveal();
      else
        adopt(
          vscode.window.createWebviewPanel(ENVIRONMENT_VIEW_TYPE, 'SBN Environment', vscode.ViewColumn.Active, {
            enableScripts: true,
          }),
        );
      const p = slot.current!;
      await p.refresh();
      return p.state();
    }),
    vscode.window.registerWebviewPanelSerializer(ENVIRONMENT_VIEW_TYPE, {
      deserializeWebviewPanel: (panel: vscode.WebviewPanel) => {
        if (slot.current) panel.dispose();
        else void adopt(panel).refresh();
        return Promise.resolve();
      },
    }),
  );
  return { state: () => (slot.current ? [slot.current.state()] : []) };
}
