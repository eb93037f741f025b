// The result panels of the one-off jobs: SBN: Compare Estimators (EstimatorComparisonPanel, page
// webview/estimatorComparison.ts) and SBN: Evaluate Run (RunEvaluationPanel, webview/runEvaluation.ts). The worker
// answers with the whole result (an `estimatorComparison` or `runEvaluation` event, built by resultsData.ts); each
// result opens a panel of its own, which sends it whole, exports it (PNG and SVG drawn by the page, CSV and JSON
// written here) and opens it as a Markdown document on request. The page keeps the result in its webview state, so
// that a panel restored after a reload shows it again (checked like a worker event before it is shown).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseWorkerEvent } from '../../protocol';
import type { EstimatorComparisonView, HostToWebview, RunEvaluationView, WebviewToHost } from '../../webviewProtocol';
import type { RunManager } from '../runManager';
import { comparisonCsv, evaluationCsv } from './resultsData';
import { WebviewPanelHost, type PanelState } from './webviewHost';
import { confirmExport } from '../exportNotice';

export const ESTIMATOR_COMPARISON_VIEW_TYPE = 'sbn.estimatorComparison';
export const RUN_EVALUATION_VIEW_TYPE = 'sbn.runEvaluation';

interface Deps {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
}

/** The save dialog of each export format. */
const EXPORTS: Record<Extract<WebviewToHost, { type: 'export' }>['format'], { filter: string; title: string }> = {
  png: { filter: 'PNG image', title: 'Save the charts as PNG' },
  svg: { filter: 'SVG image', title: 'Save the charts as SVG' },
  csv: { filter: 'CSV', title: 'Save the result as CSV' },
  json: { filter: 'JSON', title: 'Save the result as JSON' },
};

export interface ResultPanelState extends PanelState {
  /** Exports written, and Markdown documents opened. */
  exports: number;
  markdownOpened: number;
}

type ResultView = EstimatorComparisonView | RunEvaluationView;

/** A panel that shows one result, whole. */
abstract class ResultPanel<V extends ResultView> extends WebviewPanelHost<{ exports: number; markdownOpened: number }> {
  constructor(
    panel: vscode.WebviewPanel,
    protected readonly view: V,
    protected readonly deps: Deps,
    script: string,
    title: string,
  ) {
    super(panel, { log: deps.log, label: () => `${script} panel`, extraStats: { exports: 0, markdownOpened: 0 } });
    this.panel.title = title;
    // the page's own style sheet: uPlot's, which its bundle imports
    this.showPage({
      extensionUri: deps.extensionUri,
      title,
      script,
      scriptStyles: [script],
      loadingText: 'Drawing the result…',
    });
  }

  protected abstract readonly kind: 'estimatorComparison' | 'runEvaluation';
  /** The folder the save dialogs start in. */
  protected abstract defaultFolder(): vscode.Uri | undefined;
  protected abstract csv(): string;
  protected abstract message(): HostToWebview;

  protected flush(): void {
    if (!this.canPost() || !this.needsSnapshot) return;
    this.post(this.message());
    this.needsSnapshot = false;
    this.stats.snapshots++;
  }

  protected override onPanelMessage(msg: WebviewToHost): void {
    if (msg.type === 'openMarkdown') void this.openMarkdown();
    else if (msg.type === 'export') void this.export(msg);
  }

  /** The result as an untitled Markdown document beside the panel. */
  async openMarkdown(): Promise<vscode.TextDocument> {
    const doc = await vscode.workspace.openTextDocument({ content: this.view.markdown, language: 'markdown' });
    await vscode.window.showTextDocument(doc, { preview: false, viewColumn: vscode.ViewColumn.Beside });
    this.stats.markdownOpened++;
    return doc;
  }

  private async export(msg: Extract<WebviewToHost, { type: 'export' }>): Promise<void> {
    const base = msg.name.replace(/[^\w.-]+/g, '_') || this.kind;
    const what = EXPORTS[msg.format];
    const folder = this.defaultFolder();
    const target = await vscode.window.showSaveDialog({
      ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, `${base}.${msg.format}`) } : {}),
      filters: { [what.filter]: [msg.format] },
      title: what.title,
    });
    if (!target) return;
    try {
      const text =
        msg.format === 'png'
          ? undefined
          : msg.format === 'svg'
            ? msg.svg
            : msg.format === 'csv'
              ? this.csv()
              : `${JSON.stringify(this.view, null, 2)}\n`;
      const bytes =
        msg.format === 'png'
          ? Buffer.from(msg.dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64')
          : Buffer.from(text ?? '', 'utf8');
      await vscode.workspace.fs.writeFile(target, bytes);
      this.stats.exports++;
      this.deps.log.info(`exported ${target.fsPath}`);
      this.post({ type: 'exported', ok: true, file: vscode.workspace.asRelativePath(target) });
      void confirmExport(target, `The ${what.filter} export`);
    } catch (e) {
      this.post({ type: 'exported', ok: false, message: (e as Error).message });
    }
  }

  state(): ResultPanelState {
    return { kind: this.kind, runDir: '', ...this.panelState(), ...this.hostState() };
  }
}

class EstimatorComparisonPanel extends ResultPanel<EstimatorComparisonView> {
  protected readonly kind = 'estimatorComparison';

  constructor(panel: vscode.WebviewPanel, view: EstimatorComparisonView, deps: Deps) {
    super(panel, view, deps, 'estimatorComparison', `Estimators: ${view.model}`);
  }

  protected defaultFolder(): vscode.Uri | undefined {
    return vscode.workspace.workspaceFolders?.[0]?.uri;
  }

  protected csv(): string {
    return comparisonCsv(this.view);
  }

  protected message(): HostToWebview {
    return { type: 'estimatorComparison', view: this.view };
  }
}

class RunEvaluationPanel extends ResultPanel<RunEvaluationView> {
  protected readonly kind = 'runEvaluation';

  constructor(panel: vscode.WebviewPanel, view: RunEvaluationView, deps: Deps) {
    super(panel, view, deps, 'runEvaluation', `Evaluation: ${view.run}`);
  }

  protected defaultFolder(): vscode.Uri {
    return vscode.Uri.file(path.dirname(this.view.file));
  }

  protected csv(): string {
    return evaluationCsv(this.view);
  }

  protected message(): HostToWebview {
    return { type: 'runEvaluation', view: this.view };
  }
}

type AnyResultPanel = EstimatorComparisonPanel | RunEvaluationPanel;

/** The view a restored page kept in its state, if it still checks out as the worker's event would. */
function restoredView(type: 'estimatorComparison' | 'runEvaluation', state: unknown): ResultView | undefined {
  const view = (state as { result?: unknown } | undefined)?.result;
  const parsed = parseWorkerEvent({ type, view });
  return parsed.ok && (parsed.message.type === 'estimatorComparison' || parsed.message.type === 'runEvaluation')
    ? parsed.message.view
    : undefined;
}

/**
 * Opens a result panel for every `estimatorComparison` and `runEvaluation` a job reports, and restores them after a
 * reload. `latest()` is the most recent panel of a kind (tests, the panel-state command), `state()` every open one.
 */
export function registerResultPanels(
  context: vscode.ExtensionContext,
  runs: RunManager,
  deps: Deps,
): { state(): ResultPanelState[]; latest(kind: 'estimatorComparison' | 'runEvaluation'): AnyResultPanel | undefined } {
  const open = new Set<AnyResultPanel>();
  const adopt = (p: AnyResultPanel): AnyResultPanel => {
    open.add(p);
    p.onDidClose(() => open.delete(p));
    return p;
  };
  const create = (viewType: string, title: string) =>
    vscode.window.createWebviewPanel(viewType, title, vscode.ViewColumn.Active, { enableScripts: true });
  context.subscriptions.push(
    { dispose: () => [...open].forEach((p) => p.dispose()) },
    runs.onDidChange(({ event }) => {
      if (event?.type === 'estimatorComparison') {
        const panel = create(ESTIMATOR_COMPARISON_VIEW_TYPE, `Estimators: ${event.view.model}`);
        adopt(new EstimatorComparisonPanel(panel, event.view, deps));
      } else if (event?.type === 'runEvaluation') {
        adopt(
          new RunEvaluationPanel(create(RUN_EVALUATION_VIEW_TYPE, `Evaluation: ${event.view.run}`), event.view, deps),
        );
      }
    }),
    vscode.window.registerWebviewPanelSerializer(ESTIMATOR_COMPARISON_VIEW_TYPE, {
      deserializeWebviewPanel: (panel: vscode.WebviewPanel, state: unknown) => {
        const view = restoredView('estimatorComparison', state);
        if (view && 'layers' in view) adopt(new EstimatorComparisonPanel(panel, view, deps));
        else panel.dispose();
        return Promise.resolve();
      },
    }),
    vscode.window.registerWebviewPanelSerializer(RUN_EVALUATION_VIEW_TYPE, {
      deserializeWebviewPanel: (panel: vscode.WebviewPanel, state: unknown) => {
        const view = restoredView('runEvaluation', state);
        if (view && 'ensemble' in view) adopt(new RunEvaluationPanel(panel, view, deps));
        else panel.dispose();
        return Promise.resolve();
      },
    }),
  );
  return {
    state: () => [...open].map((p) => p.state()),
    latest: (kind) => [...open].reverse().find((p) => p.state().kind === kind),
  };
}
