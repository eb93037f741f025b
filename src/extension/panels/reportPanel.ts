// Experiment reports of `sbn experiment gradacc | train` in a webview: command sbn.openReport (argument: a report's
// Uri or path — report.html, gradacc.json or train.json, e.g. from the Explorer; otherwise a file picker).
//
// A report.html in a workspace is untrusted content (a cloned repository can hold any file under that name), so the
// panel never shows it: it reads the result JSON beside it, checks every field the page draws (src/report/data.ts:
// a clear message for a file that is not a valid report), and shows it with the extension's own page and script
// (webview/report.ts) under the panels' strict CSP with a fresh nonce; the data reaches the page only in a typed
// `report` message and is drawn as text. The same holds in Restricted Mode: nothing of the file is executed.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseReportData, REPORT_JSON_NAMES, reportTitle, type ExperimentData } from '../../report/data';
import { reportPanelHtml } from '../../report/html';
import { makeNonce } from '../../html';
import { notificationText } from '../untrustedText';
import { WebviewHost, type PanelState } from './webviewHost';

export const REPORT_VIEW_TYPE = 'sbn.report';

/** Larger result files are not reports (a full training suite's train.json is well under a megabyte). */
const MAX_REPORT_BYTES = 64 * 1024 * 1024;

export interface ReportPanelState extends PanelState {
  /** The result file shown. */
  file: string;
}

async function pickReport(arg: unknown): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && arg) return vscode.Uri.file(path.resolve(arg));
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    openLabel: 'Open Report',
    filters: { 'SBN experiment report': ['html', 'json'] },
    title: 'An experiment report (report.html, gradacc.json or train.json written by sbn experiment gradacc or train)',
  });
  return picked?.[0];
}

async function mtime(uri: vscode.Uri): Promise<number | undefined> {
  try {
    const s = await vscode.workspace.fs.stat(uri);
    return s.type & vscode.FileType.File ? s.mtime : undefined;
  } catch {
    return undefined;
  }
}

/** The result file of a report: the JSON itself, or the gradacc.json / train.json beside a report.html (the newer). */
async function resultFile(uri: vscode.Uri): Promise<vscode.Uri | string> {
  if (uri.path.toLowerCase().endsWith('.json')) return uri;
  const dir = vscode.Uri.joinPath(uri, '..');
  let best: { uri: vscode.Uri; mtime: number } | undefined;
  for (const name of REPORT_JSON_NAMES) {
    const candidate = vscode.Uri.joinPath(dir, name);
    const t = await mtime(candidate);
    if (t !== undefined && (!best || t > best.mtime)) best = { uri: candidate, mtime: t };
  }
  return (
    best?.uri ??
    `${uri.fsPath}: no ${REPORT_JSON_NAMES.join(' or ')} beside it — SBN Studio shows a report from the result data ` +
      'that sbn experiment writes beside report.html (open report.html in a browser to see the page itself)'
  );
}

/** The checked report data of a report.html / gradacc.json / train.json, or one line saying what is wrong. */
export async function readReport(
  uri: vscode.Uri,
): Promise<{ file: vscode.Uri; data: ExperimentData } | { message: string }> {
  const file = await resultFile(uri);
  if (typeof file === 'string') return { message: file };
  let bytes: Uint8Array;
  try {
    const stat = await vscode.workspace.fs.stat(file);
    if (!(stat.type & vscode.FileType.File)) return { message: `${file.fsPath}: not a file` };
    if (stat.size > MAX_REPORT_BYTES)
      return {
        message: `${file.fsPath}: ${(stat.size / 2 ** 20).toFixed(0)} MB is too large for an experiment report`,
      };
    bytes = await vscode.workspace.fs.readFile(file);
  } catch (e) {
    return { message: `${file.fsPath}: cannot read the report (${(e as Error).message})` };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { message: `${file.fsPath}: not an SBN experiment report: the file is not UTF-8 text` };
  }
  const parsed = parseReportData(text, file.fsPath);
  return parsed.ok ? { file, data: parsed.data } : { message: parsed.message };
}

/**
 * The page is the report's own (reportPanelHtml), loaded again for new data; it is sent the data when it says
 * `ready`.
 */
class ReportPanel extends WebviewHost {
  private data: ExperimentData;
  private readonly dist: vscode.Uri;
  private readonly media: vscode.Uri;

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly file: string,
    data: ExperimentData,
    extensionUri: vscode.Uri,
    log: vscode.LogOutputChannel,
  ) {
    super({ log, label: () => `report ${file}`, maxErrorChars: 2000 });
    this.data = data;
    this.dist = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    this.media = vscode.Uri.joinPath(extensionUri, 'media');
    // only the extension's own files: nothing of the workspace is loadable by the page
    panel.webview.options = { enableScripts: true, localResourceRoots: [this.dist, this.media] };
    panel.iconPath = vscode.Uri.joinPath(this.media, 'sbn-activity.svg');
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
    );
    this.show(data);
  }

  show(data: ExperimentData): void {
    this.data = data;
    this.ready = false;
    const webview = this.panel.webview;
    const { dist, media } = this;
    // panel titles are plain text; a long suite title is cut
    const title = reportTitle(data).replace(/ \(SBN Studio\)$/, '');
    this.panel.title = title.length > 80 ? `${title.slice(0, 79)}…` : title;
    webview.html = reportPanelHtml(data, {
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      script: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'report.js')).toString(),
      styles: [
        vscode.Uri.joinPath(media, 'webview.css'),
        vscode.Uri.joinPath(dist, 'report.css'),
        vscode.Uri.joinPath(media, 'report.css'),
      ].map((u) => webview.asWebviewUri(u).toString()),
    });
  }

  protected renderPage(): void {
    this.show(this.data);
  }

  protected get webview(): vscode.Webview {
    return this.panel.webview;
  }

  protected get visible(): boolean {
    return this.panel.visible;
  }

  /** The page has loaded: it gets the report (the page is whole after one message). */
  protected flush(): void {
    if (this.disposed || !this.ready) return;
    this.post({ type: 'report', data: this.data, file: vscode.Uri.file(this.file).toString() });
    this.stats.snapshots++;
  }

  state(): ReportPanelState {
    return {
      kind: 'report',
      runDir: '',
      file: this.file,
      title: this.panel.title,
      visible: this.panel.visible,
      active: this.panel.active,
      ...this.hostState(),
    };
  }
}

/**
 * The command sbn.openReport (returns the panel, or undefined when there is nothing to show) and the open panels'
 * state.
 */
export function registerReportPanel(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
): { state(): ReportPanelState[] } {
  const open = new Map<string, ReportPanel>();
  const adopt = (webviewPanel: vscode.WebviewPanel, report: { file: vscode.Uri; data: ExperimentData }) => {
    const key = report.file.toString();
    const created = new ReportPanel(webviewPanel, report.file.fsPath, report.data, context.extensionUri, log);
    open.set(key, created);
    webviewPanel.onDidDispose(() => open.delete(key));
    return created;
  };
  context.subscriptions.push(
    vscode.commands.registerCommand('sbn.openReport', async (arg: unknown) => {
      const uri = await pickReport(arg);
      if (!uri) return undefined;
      const report = await readReport(uri);
      if ('message' in report) {
        log.warn(report.message);
        void vscode.window.showErrorMessage(notificationText(report.message));
        return undefined;
      }
      const key = report.file.toString();
      let panel = open.get(key);
      if (panel) {
        panel.show(report.data);
        panel.panel.reveal();
      } else {
        const webviewPanel = vscode.window.createWebviewPanel(
          REPORT_VIEW_TYPE,
          'Experiment report',
          vscode.ViewColumn.Active,
          { enableScripts: true },
        );
        panel = adopt(webviewPanel, report);
      }
      log.info(`report ${report.file.fsPath} opened`);
      return panel.panel;
    }),
    // after a window reload: the page's state names the result file, read and checked again
    vscode.window.registerWebviewPanelSerializer(REPORT_VIEW_TYPE, {
      deserializeWebviewPanel: async (webviewPanel: vscode.WebviewPanel, state: unknown) => {
        const file = (state as { file?: unknown } | undefined)?.file;
        const report = typeof file === 'string' ? await readReport(vscode.Uri.parse(file)) : undefined;
        if (!report || 'message' in report || open.has(report.file.toString())) {
          if (report && 'message' in report) log.warn(`restoring a report panel: ${report.message}`);
          webviewPanel.dispose();
          return;
        }
        adopt(webviewPanel, report);
      },
    }),
  );
  return { state: () => [...open.values()].map((p) => p.state()) };
}
