// Experiment reports (report.html from `sbn experiment gradacc | train`) in a webview: command sbn.openReport
// (argument: the report's Uri, e.g. from the Explorer; otherwise a file picker). The page is self-contained — data,
// script and styles inline under a nonce CSP — so the host only swaps the file's fixed nonce for a fresh one.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { webviewReportHtml } from '../../report/html';

export const REPORT_VIEW_TYPE = 'sbn.report';

async function reportUri(arg: unknown): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && arg) return vscode.Uri.file(path.resolve(arg));
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false, openLabel: 'Open Report', filters: { 'SBN experiment report': ['html'] },
    title: 'An experiment report (report.html written by sbn experiment gradacc or sbn experiment train)',
  });
  return picked?.[0];
}

export function registerReportPanel(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  const open = new Map<string, vscode.WebviewPanel>();
  context.subscriptions.push(vscode.commands.registerCommand('sbn.openReport', async (arg: unknown) => {
    const uri = await reportUri(arg);
    if (!uri) return undefined;
    let text: string;
    try {
      text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    } catch (e) {
      void vscode.window.showErrorMessage(`${uri.fsPath}: cannot read the report (${(e as Error).message})`);
      return undefined;
    }
    const html = webviewReportHtml(text);
    if (!html) {
      void vscode.window.showErrorMessage(`${uri.fsPath}: not an SBN Studio experiment report (expected the report.html that sbn experiment writes)`);
      return undefined;
    }
    const title = /<title>([^<]*)<\/title>/.exec(text)?.[1]?.replace(/ \(SBN Studio\)$/, '') ?? path.basename(path.dirname(uri.fsPath));
    let panel = open.get(uri.fsPath);
    if (panel) {
      panel.reveal();
    } else {
      panel = vscode.window.createWebviewPanel(REPORT_VIEW_TYPE, title, vscode.ViewColumn.Active, {
        enableScripts: true, localResourceRoots: [], retainContextWhenHidden: false,
      });
      const key = uri.fsPath;
      open.set(key, panel);
      panel.onDidDispose(() => open.delete(key));
    }
    panel.webview.html = html;
    log.info(`report ${uri.fsPath} opened`);
    return panel;
  }));
}
