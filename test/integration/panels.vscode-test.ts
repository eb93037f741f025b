// The webview panels inside real VS Code: training the toy-2d example with gradient diagnostics on opens the
// training dashboard by itself; the dashboard, gradient-diagnostics and layer-statistics panels receive their data
// (read back through the `sbn.panelState` command: what each page reported it drew), a hidden panel gets no
// messages and a revealed one a fresh snapshot, the serializer restores a panel from its state, and the dashboard's
// Stop button stops its run. Screenshots: test-results/panel-*.png (or the harness's --screenshots folder).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { suite, suiteSetup, test } from 'mocha';
import { ui } from './index';
import type { SbnStudioApi } from '../../src/extension/extension';
import type { Job } from '../../src/extension/runManager';
import type { PanelState } from '../../src/extension/panels/runPanel';
import { TrainingDashboardPanel } from '../../src/extension/panels/dashboardPanel';
import { RunStore } from '../../src/engine/runs';

let api: SbnStudioApi;
let folder: string;
let runDir: string;

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function panelState(kind: PanelState['kind'], dir = runDir): Promise<PanelState | undefined> {
  const all = await vscode.commands.executeCommand<PanelState[]>('sbn.panelState');
  return all.find((p) => p.kind === kind && path.resolve(p.runDir) === path.resolve(dir));
}

/** The visible webview's page (two iframes deep). */
const WEBVIEW = ['iframe.webview.ready:visible', 'iframe#active-frame'];

/** A full-window screenshot once the visible panel has drawn its charts (skipped without the harness's browser). */
async function shot(name: string, selector = '.uplot canvas'): Promise<void> {
  if (!ui.available()) return;
  await vscode.commands.executeCommand('notifications.clearAll');
  await ui.waitFor({ selector, frames: WEBVIEW, timeout: 20_000 });
  await sleep(600); // let the last frame and the tab's fade settle
  await ui.screenshot(name);
}

function writeModel(name: string, content: unknown): vscode.Uri {
  const file = path.join(folder, name);
  fs.writeFileSync(file, JSON.stringify(content, null, 2));
  return vscode.Uri.file(file);
}

const TOY_DIAG = {
  name: 'toy2d-diag', input: { shape: [2] }, states: 'pm1',
  layers: [{ type: 'dense', units: 16 }, { type: 'dense', units: 16 }],
  output: { units: 1, loss: 'logistic' },
  data: { dataset: 'toy-2d', validation: 40 },
  train: { estimator: 'psa', lr: 0.03, batchSize: 10, epochs: 24, evalSamples: 10, logInterval: 4, evalInterval: 16 },
  diagnostics: { interval: 5, budgetSeconds: 1, draws: 40 },
};

suite('Panels: training dashboard, gradient diagnostics, layer statistics', () => {
  suiteSetup(async () => {
    api = await vscode.extensions.getExtension<SbnStudioApi>('sbn-studio.sbn-studio')!.activate();
    folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('workbench.action.closePanel');
  });

  test('training with diagnostics opens the dashboard beside the model; it fills while the run trains', async () => {
    const uri = writeModel('toy2d-diag.sbn.json', TOY_DIAG);
    await vscode.window.showTextDocument(uri, { preview: false });
    const job = await vscode.commands.executeCommand<Job>('sbn.trainModel', uri);
    assert.ok(job);
    let ended = false;
    void job.finished.then(() => { ended = true; });
    runDir = await until('the run folder', () => job.runDir);
    // opened by itself, beside the model file, without taking the focus
    const dash = await until('the dashboard', () => api.panels.get('dashboard', runDir));
    assert.strictEqual(vscode.window.activeTextEditor?.document.uri.fsPath, uri.fsPath, 'the editor keeps the focus');
    const live = await until('live charts', async () => {
      const s = await panelState('dashboard');
      return s?.rendered && (s.rendered.points.objective ?? 0) >= 3 ? s : undefined;
    });
    if (!ended) {
      await shot('panel-dashboard-live');
      await until('deltas while training', async () => ((await panelState('dashboard'))?.deltas ?? 0) > 0 || ended);
    }
    assert.ok(live.snapshots >= 1);
    const end = await job.finished;
    assert.strictEqual(end.type === 'done' && end.status, 'finished', JSON.stringify(end));
    // the last records and the finished status reach the page
    const done = await until('the finished run drawn', async () => {
      const s = await panelState('dashboard');
      const n = s?.rendered?.points;
      return n && (n['validation/acc_e'] ?? 0) >= 20 && (n.objective ?? 0) >= 80 ? s : undefined;
    }, 20_000);
    for (const k of ['objective', 'lr', 'stepsPerSecond', 'train/u_loss', 'validation/u_loss', 'train/acc1', 'validation/acc_e', 'epochObjective']) {
      assert.ok((done.rendered!.points[k] ?? 0) > 0, `${k} drawn: ${JSON.stringify(done.rendered!.points)}`);
    }
    assert.ok(done.rendered!.charts >= 5, `${done.rendered!.charts} charts`);
    assert.deepStrictEqual(done.errors, []);
    assert.strictEqual(dash.runDir, path.resolve(runDir));
    // the dashboard alone in the window, for a screenshot
    await vscode.commands.executeCommand('workbench.action.joinAllGroups');
    dash.reveal(false);
    await until('the dashboard visible', async () => (await panelState('dashboard'))?.visible);
    await shot('panel-dashboard');
  });

  test('the gradient-diagnostics panel draws every estimator per layer, over M and over training, with the table', async () => {
    const state = await vscode.commands.executeCommand<PanelState>('sbn.openDiagnostics', runDir);
    assert.strictEqual(state.kind, 'diagnostics');
    const s = await until('diagnostics drawn', async () => {
      const p = await panelState('diagnostics');
      return p?.rendered && (p.rendered.extras?.passes ?? 0) > 10 && (p.rendered.extras?.tableRows ?? 0) > 0 ? p : undefined;
    }, 30_000);
    const keys = Object.keys(s.rendered!.points);
    for (const e of ['psa', 'dste', 'reinforce', 'arm']) {
      assert.ok(keys.includes(`diag/cos/dense1/${e}`), `${e} over training: ${keys.join(', ')}`);
      assert.ok(keys.includes(`m/rmse/dense2/${e}`), `${e} against M`);
    }
    assert.ok(s.rendered!.points['diag/cos/dense1/psa'] > 10);
    // 3 layers × 4 estimators
    assert.strictEqual(s.rendered!.extras?.tableRows, 12);
    assert.ok(s.rendered!.charts >= 12, `${s.rendered!.charts} charts`);
    assert.deepStrictEqual(s.errors, []);
    if (ui.available()) {
      const ref = await ui.text({ selector: '.reference', frames: WEBVIEW });
      assert.match(ref.join(' '), /Reference: (the exact|an unbiased mean)/);
    }
    await shot('panel-diagnostics');
  });

  test('the layer-statistics panel draws per-layer curves and the pre-activation heatmaps', async () => {
    await vscode.commands.executeCommand('sbn.openLayerStats', runDir);
    const s = await until('layer statistics drawn', async () => {
      const p = await panelState('layers');
      return p?.rendered && (p.rendered.extras?.heatmaps ?? 0) === 2 ? p : undefined;
    }, 30_000);
    assert.ok((s.rendered!.points['layer/firingRate/dense1'] ?? 0) > 10, JSON.stringify(s.rendered!.points));
    assert.ok((s.rendered!.points['layer/gradNorm/output'] ?? 0) > 10);
    assert.ok((s.rendered!.extras?.histogramColumns ?? 0) > 20);
    assert.deepStrictEqual(s.errors, []);
    await shot('panel-layers', 'canvas.heatmap');
  });

  test('a hidden panel is sent nothing; shown again, it gets a fresh snapshot and draws everything again', async () => {
    const dash = api.panels.get('dashboard', runDir)!;
    dash.reveal(false);
    await until('dashboard visible', async () => (await panelState('dashboard'))?.visible);
    const before = (await panelState('dashboard'))!;
    // hide it behind a text editor in the same group
    await vscode.window.showTextDocument(vscode.Uri.file(path.join(folder, 'toy2d-diag.sbn.json')), { viewColumn: dash.panel.viewColumn, preview: false });
    await until('dashboard hidden', async () => (await panelState('dashboard'))?.visible === false);
    const hidden = (await panelState('dashboard'))!;
    await sleep(1500);
    const stillHidden = (await panelState('dashboard'))!;
    assert.strictEqual(stillHidden.snapshots + stillHidden.deltas, hidden.snapshots + hidden.deltas, 'nothing is posted while hidden');
    dash.reveal(false);
    const shown = await until('a fresh snapshot after the reveal', async () => {
      const s = await panelState('dashboard');
      return s && s.visible && s.snapshots > before.snapshots && s.rendered && s.rendered.at > before.rendered!.at ? s : undefined;
    }, 20_000);
    assert.deepStrictEqual(shown.rendered!.points, before.rendered!.points, 'the reloaded page draws the same series');
    await shot('panel-dashboard-reshown');
  });

  test('a panel restored after a reload (serializer, state = run folder) shows its run again', async () => {
    const existing = api.panels.get('dashboard', runDir)!;
    existing.dispose();
    const panel = vscode.window.createWebviewPanel(TrainingDashboardPanel.viewType, 'restored', vscode.ViewColumn.Active, { enableScripts: true });
    await api.panels.serializer(TrainingDashboardPanel).deserializeWebviewPanel(panel, { runDir, smoothing: 0.6, log: false, hidden: [] });
    const restored = await until('the restored panel drawn', async () => {
      const s = await panelState('dashboard');
      return s?.rendered && (s.rendered.points.objective ?? 0) > 0 ? s : undefined;
    });
    assert.match(restored.title, /^Training · toy2d-diag/);
    // a state without a usable run folder closes the panel rather than showing nothing
    const orphan = vscode.window.createWebviewPanel(TrainingDashboardPanel.viewType, 'orphan', vscode.ViewColumn.Active, { enableScripts: true });
    let closed = false;
    orphan.onDidDispose(() => { closed = true; });
    await api.panels.serializer(TrainingDashboardPanel).deserializeWebviewPanel(orphan, { runDir: path.join(folder, 'runs', 'gone') });
    assert.ok(closed);
  });

  test('Stop training in the dashboard stops that run', async () => {
    // only the new run's dashboard on screen (the Stop button is clicked in the visible webview)
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const uri = writeModel('toy2d-stop.sbn.json', { ...TOY_DIAG, name: 'toy2d-stop', train: { ...TOY_DIAG.train, epochs: 200 }, diagnostics: { interval: 0 } });
    const job = await vscode.commands.executeCommand<Job>('sbn.trainModel', uri);
    const dir = await until('the run folder', () => job.runDir);
    const dash = await until('the dashboard', () => api.panels.get('dashboard', dir));
    dash.reveal(false);
    await until('the Stop button offered', async () => {
      const s = await panelState('dashboard', dir);
      return s?.visible && s.rendered && (s.rendered.points.objective ?? 0) > 2;
    });
    if (ui.available()) {
      await ui.waitFor({ selector: '#stop:not([hidden])', frames: WEBVIEW });
      await ui.click({ selector: '#stop', frames: WEBVIEW });
    } else {
      await vscode.commands.executeCommand('sbn.stopTraining', dir);
    }
    const end = await job.finished;
    assert.strictEqual(end.type === 'done' && end.status, 'stopped', JSON.stringify(end));
    assert.strictEqual(RunStore.status(dir).status, 'stopped');
    await until('the stopped status in the header', async () => {
      const s = await panelState('dashboard', dir);
      return s && s.runStates + s.snapshots > 1;
    });
    await shot('panel-dashboard-stopped');
  });
});
