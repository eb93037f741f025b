// The Model Preview panel inside real VS Code: beside the model file it shows the layers (shapes, parameters, binary
// units) and per-layer gradient statistics of psa, dste, reinforce and arm computed by a `preview` worker job; an edit
// that breaks the file shows its problems; an edit while a job computes kills that job. State through
// `sbn.panelState`; screenshots test-results/panel-preview*.png.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { suite, suiteSetup, test } from 'mocha';
import { ui } from './index';
import type { PanelState } from '../../src/extension/panels/runPanel';
import { PREVIEW_VIEW_TYPE, type PreviewPanelState } from '../../src/extension/panels/previewPanel';
import type { SbnStudioApi } from '../../src/extension/extension';
import { sleep, until } from './wait';

async function previewState(): Promise<PreviewPanelState | undefined> {
  const all = await vscode.commands.executeCommand<PanelState[]>('sbn.panelState');
  return all.find((p): p is PreviewPanelState => p.kind === 'preview');
}

async function shot(name: string): Promise<void> {
  if (!ui.available()) return;
  await vscode.commands.executeCommand('notifications.clearAll');
  await sleep(700);
  await ui.screenshot(name);
}

const MODEL = {
  name: 'toy2d-preview',
  input: { shape: [2] },
  states: 'pm1',
  layers: [
    { type: 'dense', units: 16 },
    { type: 'dense', units: 16 },
  ],
  output: { units: 1, loss: 'logistic' },
  data: { dataset: 'toy-2d', validation: 40 },
  train: { estimator: 'psa', lr: 0.03, batchSize: 10, epochs: 4 },
};

async function replace(doc: vscode.TextDocument, from: string, to: string): Promise<void> {
  const text = doc.getText();
  const i = text.indexOf(from);
  assert.ok(i >= 0, `${from} in the document`);
  const edit = new vscode.WorkspaceEdit();
  edit.replace(doc.uri, new vscode.Range(doc.positionAt(i), doc.positionAt(i + from.length)), to);
  assert.ok(await vscode.workspace.applyEdit(edit));
}

suite('Model Preview', () => {
  let doc: vscode.TextDocument;

  suiteSetup(async () => {
    await vscode.extensions.getExtension('sbn-studio.sbn-studio')!.activate();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('notifications.clearAll');
    const file = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'toy2d-preview.sbn.json');
    fs.writeFileSync(file, JSON.stringify(MODEL, null, 2));
    doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc, { preview: false });
  });

  test('beside the model file it shows the layers and the estimators\u2019 gradient variance and SNR', async () => {
    const opened = await vscode.commands.executeCommand<PreviewPanelState>('sbn.previewModel');
    assert.strictEqual(opened.kind, 'preview');
    assert.strictEqual(
      vscode.window.activeTextEditor?.document.uri.fsPath,
      doc.uri.fsPath,
      'the editor keeps the focus',
    );
    const s = await until(
      'layers and gradient statistics drawn',
      async () => {
        const p = await previewState();
        return p?.rendered?.extras?.layers === 3 && p.rendered.extras.gradientRows === 12 ? p : undefined;
      },
      90_000,
    );
    assert.strictEqual(s.gradients, 'done');
    assert.strictEqual(s.problems, 0);
    assert.match(s.file, /toy2d-preview\.sbn\.json$/);
    assert.deepStrictEqual(s.errors, []);
    if (ui.available()) {
      const frames = ['iframe.webview.ready:visible', 'iframe#active-frame'];
      const layers = (await ui.text({ selector: '#layers-table', frames })).join(' ');
      assert.match(layers, /dense1.*\[2\].*\[16\].*48/);
      const grads = (await ui.text({ selector: '#gradients-table', frames })).join(' ');
      for (const e of ['psa', 'dste', 'reinforce', 'arm']) assert.ok(grads.includes(e), `${e} in the gradient table`);
    }
    await shot('panel-preview');
  });

  test('a broken edit shows the problems; an edit while a job computes kills that job', async () => {
    const before = (await previewState())!;
    await replace(doc, '"units": 16', '"units": 0');
    const broken = await until(
      'the problems shown',
      async () => {
        const p = await previewState();
        return p && p.problems > 0 && (p.rendered?.extras?.problems ?? 0) > 0 ? p : undefined;
      },
      20_000,
    );
    assert.strictEqual(broken.rendered!.extras!.layers, 0);
    await shot('panel-preview-error');
    // fixed again (and larger, so that the job takes a while): a job starts
    await replace(doc, '"units": 0', '"units": 96');
    const computing = await until(
      'a new job computing',
      async () => {
        const p = await previewState();
        return p && p.gradients === 'computing' && p.jobs > before.jobs ? p : undefined;
      },
      20_000,
    );
    await replace(doc, '"units": 96', '"units": 8');
    const after = await until(
      'the gradients of the last edit',
      async () => {
        const p = await previewState();
        return p && p.version > computing.version && p.gradients === 'done' && p.rendered?.extras?.gradientRows === 12
          ? p
          : undefined;
      },
      90_000,
    );
    assert.ok(after.cancelled > computing.cancelled, `the job in flight was killed: ${JSON.stringify(after)}`);
    assert.deepStrictEqual(after.errors, []);
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  test(
    'a preview restored after a reload ' + '(serializer, state = the model file\u2019s Uri) follows that file again',
    async () => {
      const api = await vscode.extensions.getExtension<SbnStudioApi>('sbn-studio.sbn-studio')!.activate();
      const serializer = api.panels.serializers.get(PREVIEW_VIEW_TYPE);
      assert.ok(serializer, 'the preview serializer is registered');
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await until('the preview closed', async () => !(await previewState()));
      const panel = vscode.window.createWebviewPanel(PREVIEW_VIEW_TYPE, 'restored', vscode.ViewColumn.Active, {
        enableScripts: true,
      });
      await serializer.deserializeWebviewPanel(panel, { fileUri: doc.uri.toString() });
      const restored = await until(
        'the restored preview drawn',
        async () => {
          const p = await previewState();
          return p?.rendered?.extras?.layers === 3 ? p : undefined;
        },
        30_000,
      );
      assert.match(restored.file, /toy2d-preview\.sbn\.json$/);
      assert.strictEqual(restored.title, 'Preview \u00b7 toy2d-preview.sbn.json');
      assert.deepStrictEqual(restored.errors, []);
      // one preview at a time: a second restored panel closes
      const second = vscode.window.createWebviewPanel(PREVIEW_VIEW_TYPE, 'second', vscode.ViewColumn.Active, {
        enableScripts: true,
      });
      let secondClosed = false;
      second.onDidDispose(() => {
        secondClosed = true;
      });
      await serializer.deserializeWebviewPanel(second, { fileUri: doc.uri.toString() });
      assert.ok(secondClosed);
      // a state naming a file that is gone, and no model file in an editor: the panel closes rather than showing
      // nothing
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await until('the preview closed', async () => !(await previewState()));
      const orphan = vscode.window.createWebviewPanel(PREVIEW_VIEW_TYPE, 'orphan', vscode.ViewColumn.Active, {
        enableScripts: true,
      });
      let closed = false;
      orphan.onDidDispose(() => {
        closed = true;
      });
      await serializer.deserializeWebviewPanel(orphan, {
        fileUri: vscode.Uri.file(path.join(path.dirname(doc.uri.fsPath), 'gone.sbn.json')).toString(),
      });
      assert.ok(closed);
      assert.strictEqual(await previewState(), undefined);
    },
  );
});
