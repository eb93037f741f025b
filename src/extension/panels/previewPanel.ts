// Model Preview (`sbn.previewModel`): a panel beside the editor that follows the active model file (*.sbn.json,
// *.sbn.yaml), re-checked after edits (debounced, setting sbn.validation.delay): the layers' shapes, parameter and
// binary-unit counts (spec layerGeometry), and per-layer gradient variance / SNR of psa, dste, reinforce and arm on a
// small batch, computed by a `preview` worker job (src/protocol.ts). A new edit stops the job in flight through the
// run manager (a preview job's worker is killed at once: it has nothing to save) before starting the next. A file
// with problems shows them (never a blank panel). webview/preview.ts draws it; the host sends the whole state
// (`preview` message) on every change.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { layerGeometry, parseModelText } from '../../engine/spec';
import type { ModelPreviewState } from '../../webviewProtocol';
import type { BackendPreference } from '../../protocol';
import type { Job, RunManager } from '../runManager';
import { isModelFile } from '../modelFiles';
import { extensionMessage } from '../environment';
import { PanelSlot, WebviewPanelHost, type PanelState } from './webviewHost';

export const PREVIEW_VIEW_TYPE = 'sbn.modelPreview';
export const PREVIEW_ESTIMATORS = ['psa', 'dste', 'reinforce', 'arm'];

export interface PreviewPanelState extends PanelState {
  file: string;
  version: number;
  gradients: ModelPreviewState['gradients']['status'] | 'none';
  errors: string[];
  /** Problems shown for the model file. */
  problems: number;
  /** Preview jobs started, and killed because the model changed meanwhile. */
  jobs: number;
  cancelled: number;
}

interface Deps {
  extensionUri: vscode.Uri;
  runs: RunManager;
  log: vscode.LogOutputChannel;
}

class ModelPreview extends WebviewPanelHost<{ jobs: number; cancelled: number }> {
  private uri: vscode.Uri | undefined;
  private version = 0;
  private timer: NodeJS.Timeout | undefined;
  private job: Job | undefined;
  private current: ModelPreviewState | undefined;

  constructor(
    panel: vscode.WebviewPanel,
    private readonly deps: Deps,
  ) {
    super(panel, { log: deps.log, label: () => 'model preview', extraStats: { jobs: 0, cancelled: 0 } });
    this.showPage({ extensionUri: deps.extensionUri, title: 'Model preview', script: 'preview' });
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor((e) => {
        if (e && isModelFile(e.document.uri) && e.document.uri.toString() !== this.uri?.toString())
          this.follow(e.document.uri);
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length && e.document.uri.toString() === this.uri?.toString()) this.scheduleCheck();
      }),
    );
  }

  follow(uri: vscode.Uri): void {
    this.uri = uri;
    this.panel.title = `Preview · ${path.basename(uri.fsPath)}`;
    this.scheduleCheck(0);
  }

  private scheduleCheck(delay = vscode.workspace.getConfiguration('sbn').get<number>('validation.delay', 300)): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.update();
    }, delay);
  }

  /** Stop the preview job in flight (its result would be for an older text). */
  private cancel(): void {
    const job = this.job;
    if (!job) return;
    this.job = undefined;
    if (job.stop()) this.stats.cancelled++;
  }

  private async update(): Promise<void> {
    const uri = this.uri;
    if (!uri || this.disposed) return;
    this.cancel();
    const version = ++this.version;
    const file = vscode.workspace.asRelativePath(uri);
    const fileUri = uri.toString();
    let text: string;
    try {
      const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
      text = open ? open.getText() : new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    } catch (e) {
      this.set({
        file,
        fileUri,
        version,
        errors: [{ message: `cannot read the file: ${(e as Error).message}` }],
        gradients: { status: 'unavailable' },
      });
      return;
    }
    if (version !== this.version) return;
    const parsed = parseModelText(text, uri.fsPath);
    if (!parsed.ok) {
      this.set({
        file,
        fileUri,
        version,
        errors: parsed.errors.map((e) => ({ message: e.message, line: e.line, column: e.column })),
        gradients: { status: 'unavailable' },
      });
      return;
    }
    const model = parsed.model;
    let layers;
    try {
      layers = layerGeometry(model);
    } catch (e) {
      this.set({
        file,
        fileUri,
        version,
        errors: [{ message: (e as Error).message }],
        gradients: { status: 'unavailable' },
      });
      return;
    }
    const state: ModelPreviewState = {
      file,
      fileUri,
      version,
      model: {
        name: model.name,
        estimator: model.train?.estimator,
        input: model.input.shape,
        layers: layers.map((l) => ({
          name: l.name,
          type: l.type,
          inShape: l.inShape,
          outShape: l.outShape,
          params: l.params,
          binaryUnits: l.binaryUnits,
        })),
        params: layers.reduce((a, l) => a + l.params, 0),
        binaryUnits: layers.reduce((a, l) => a + l.binaryUnits, 0),
      },
      gradients: vscode.workspace.isTrusted
        ? { status: 'computing' }
        : {
            status: 'unavailable',
            message: 'Gradient statistics need a trusted workspace (they load the model\u2019s data).',
          },
    };
    this.set(state);
    if (!vscode.workspace.isTrusted) return;
    const job = this.deps.runs.start(
      {
        type: 'preview',
        modelFile: uri.fsPath,
        modelText: text,
        estimators: PREVIEW_ESTIMATORS,
        draws: 100,
        backend: vscode.workspace.getConfiguration('sbn').get<BackendPreference>('backend', 'auto'),
      },
      `Preview ${path.basename(uri.fsPath)}`,
    );
    this.job = job;
    this.stats.jobs++;
    const sub = this.deps.runs.onDidChange(({ job: j, event }) => {
      if (j !== job || event?.type !== 'preview' || version !== this.version) return;
      this.set({ ...state, gradients: { status: 'done', result: event.result } });
    });
    const end = await job.finished;
    sub.dispose();
    if (this.job === job) this.job = undefined;
    if (version !== this.version || this.current?.gradients.status === 'done') return;
    this.set({
      ...state,
      gradients: {
        status: 'error',
        message: end.type === 'error' ? extensionMessage(end.message) : 'the preview job ended without a result',
      },
    });
  }

  private set(state: ModelPreviewState): void {
    this.current = state;
    this.flush();
  }

  protected flush(): void {
    // a preview job can finish after the panel was closed: its webview is gone then
    if (!this.current || !this.canPost()) return;
    this.post({ type: 'preview', state: this.current });
    this.stats.snapshots++;
  }

  state(): PreviewPanelState {
    return {
      kind: 'preview',
      runDir: '',
      file: this.current?.file ?? '',
      version: this.current?.version ?? 0,
      ...this.panelState(),
      ...this.hostState(),
      gradients: this.current?.gradients.status ?? 'none',
      problems: this.current?.errors?.length ?? 0,
    };
  }

  protected override release(): void {
    if (this.timer) clearTimeout(this.timer);
    this.cancel();
  }
}

/**
 * The command sbn.previewModel (argument: a model file Uri; else the active editor's; returns the panel state) and the
 * panel's serializer: after a window reload VS Code hands back the panel with the page's state (`fileUri`, the followed
 * model file), and the preview follows that file again (or the active editor's model file when it is gone).
 */
export function registerPreviewPanel(
  context: vscode.ExtensionContext,
  deps: Deps,
): { state(): PreviewPanelState[]; serializer: vscode.WebviewPanelSerializer } {
  const slot = new PanelSlot<ModelPreview>();
  const adopt = (panel: vscode.WebviewPanel): ModelPreview => slot.adopt(new ModelPreview(panel, deps));
  const serializer: vscode.WebviewPanelSerializer = {
    deserializeWebviewPanel: (panel: vscode.WebviewPanel, state: unknown) => {
      const saved = (state as { fileUri?: unknown } | undefined)?.fileUri;
      let uri: vscode.Uri | undefined;
      if (typeof saved === 'string') {
        try {
          const u = vscode.Uri.parse(saved, true);
          if (isModelFile(u) && (u.scheme !== 'file' || fs.existsSync(u.fsPath))) uri = u;
        } catch {
          /* not a Uri */
        }
      }
      if (!uri) {
        const active = vscode.window.activeTextEditor?.document.uri;
        if (isModelFile(active)) uri = active;
      }
      if (!uri || slot.current) panel.dispose();
      else adopt(panel).follow(uri);
      return Promise.resolve();
    },
  };
  context.subscriptions.push(
    slot,
    vscode.commands.registerCommand('sbn.previewModel', (arg?: unknown) => {
      const uri = arg instanceof vscode.Uri && isModelFile(arg) ? arg : vscode.window.activeTextEditor?.document.uri;
      if (!isModelFile(uri)) {
        void vscode.window.showInformationMessage('Open a model file (*.sbn.yaml or *.sbn.json) to preview it.');
        return undefined;
      }
      if (!slot.current) {
        adopt(
          vscode.window.createWebviewPanel(
            PREVIEW_VIEW_TYPE,
            'Model preview',
            { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
            { enableScripts: true },
          ),
        );
      } else {
        slot.current.panel.reveal(undefined, true);
      }
      slot.current!.follow(uri);
      return slot.current!.state();
    }),
    vscode.window.registerWebviewPanelSerializer(PREVIEW_VIEW_TYPE, serializer),
  );
  return { state: () => (slot.current ? [slot.current.state()] : []), serializer };
}
