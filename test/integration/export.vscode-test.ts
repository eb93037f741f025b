// Runs that travel, from the editor: a run trained in VS Code writes TensorBoard event files (read back by the
// tests' independent reader), records the editor action that started it, and SBN: Export Run… writes its
// TensorBoard files, safetensors and ONNX models.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { suite, suiteSetup, test } from 'mocha';
import type { SbnStudioApi } from '../../src/extension/extension';
import type { Job } from '../../src/extension/runManager';
import { effectiveMetrics, readMetrics } from '../../src/engine/runs';
import { readFolder } from '../unit/helpers/tensorboardReader';
import { ui } from './index';
import { sleep, until } from './wait';

let api: SbnStudioApi;
let folder: string;
/** The run the first test trained and exported. */
let lastRun: string | undefined;

/** The visible webview's page (two iframes deep). */
const WEBVIEW = ['iframe.webview.ready:visible', 'iframe#active-frame'];

suite('Runs that travel (TensorBoard, safetensors, ONNX)', () => {
  suiteSetup(async () => {
    const ext = vscode.extensions.getExtension<SbnStudioApi>('sbn-studio.sbn-studio');
    assert.ok(ext);
    api = await ext.activate();
    folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
  });

  test('a run trained in the editor appears in TensorBoard; Export Run writes safetensors and ONNX', async () => {
    const uri = vscode.Uri.file(path.join(folder, 'toy2d.sbn.json'));
    const job = await vscode.commands.executeCommand<Job>('sbn.trainModel', uri);
    const end = await job.finished;
    assert.strictEqual(end.type === 'done' && end.status, 'finished', JSON.stringify(end));
    const runDir = job.runDir!;

    // every validation accuracy of metrics.jsonl is in the event files, as float32
    const tb = readFolder(path.join(runDir, 'tensorboard'));
    const evals = effectiveMetrics(readMetrics(runDir).records).filter(
      (r) => r.kind === 'eval' && r.split === 'validation',
    );
    assert.ok(evals.length > 0);
    for (const r of evals) {
      if (r.kind !== 'eval' || r.acc_e === null) continue;
      assert.strictEqual(tb.scalars.get(`validation/acc_e@${r.step}`), Math.fround(r.acc_e), `acc_e at ${r.step}`);
    }
    const env = JSON.parse(fs.readFileSync(path.join(runDir, 'environment.json'), 'utf8')) as {
      provenance: { startedBy: string; version: string };
    };
    assert.match(env.provenance.startedBy, /^VS Code: SBN: Train Model \(toy2d\.sbn\.json\)$/);

    const item = await until('the run in the Runs view', () => api.tree.runItems().find((i) => i.info.dir === runDir));
    const onnx = path.join(folder, 'toy2d-ensemble.onnx');
    const written = await vscode.commands.executeCommand<string>('sbn.exportRun', item, {
      format: 'onnx-ensemble',
      out: onnx,
    });
    assert.strictEqual(written, onnx);
    assert.ok(fs.statSync(onnx).size > 0);
    const st = path.join(folder, 'toy2d.safetensors');
    await vscode.commands.executeCommand('sbn.exportRun', item, { format: 'safetensors', out: st });
    const header = fs.readFileSync(st);
    const meta = JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString('utf8')) as {
      __metadata__: { model: string };
    };
    assert.strictEqual(meta.__metadata__.model, fs.readFileSync(uri.fsPath, 'utf8'));
    if (ui.available()) {
      // every export confirms where it wrote, with Open
      await ui.waitFor({
        selector: '.notification-list-item:has-text("written to toy2d.safetensors") .monaco-button:has-text("Open")',
        timeout: 20_000,
      });
      await sleep(800); // the toast slides in
      await ui.screenshot('export-run-confirmation');
    }
    fs.rmSync(path.join(runDir, 'tensorboard'), { recursive: true });
    await vscode.commands.executeCommand('sbn.exportRun', item, { format: 'tensorboard' });
    assert.deepStrictEqual(readFolder(path.join(runDir, 'tensorboard')).scalars, tb.scalars);
    lastRun = runDir;
  });

  test('Export PNG in the dashboard: saved where the user says, confirmed with Open that opens it', async function () {
    const runDir = lastRun;
    if (!ui.available() || !runDir) return this.skip();
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('workbench.action.closeSidebar');
    await vscode.commands.executeCommand('sbn.openDashboard', runDir);
    await ui.waitFor({ selector: '.uplot canvas', frames: WEBVIEW, timeout: 30_000 });
    const before = new Set(fs.readdirSync(runDir));
    await ui.click({ selector: '#export-png', frames: WEBVIEW });
    // the save dialog (VS Code's own, in the browser) proposes <run folder>/<name>.png: accept it
    await ui.waitFor({ selector: '.quick-input-widget input', timeout: 20_000 });
    await ui.press('Enter');
    const png = await until('the PNG written', () =>
      fs.readdirSync(runDir).find((f) => f.endsWith('.png') && !before.has(f)),
    );
    const bytes = fs.readFileSync(path.join(runDir, png));
    assert.strictEqual(bytes.subarray(1, 4).toString('latin1'), 'PNG');
    const open = `.notification-list-item:has-text("PNG of the charts written to") .monaco-button:has-text("Open")`;
    await ui.waitFor({ selector: open, timeout: 20_000 });
    await sleep(800);
    await ui.screenshot('export-png-confirmation');
    await ui.click({ selector: open });
    await until('the PNG open in an editor', () => {
      const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input as { uri?: vscode.Uri } | undefined;
      return input?.uri?.fsPath === path.join(runDir, png);
    });
    await sleep(1500); // the image preview loads
    await ui.screenshot('export-png-opened');
  });
});
