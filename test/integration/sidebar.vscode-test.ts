// The Active Run sidebar view and the Compare Runs panel inside real VS Code: the view resolves and shows its empty
// state, follows a training run (sparklines, step, Stop), stops it from its Stop button, goes back to the empty state;
// then two finished runs are compared in one panel (sbn.compareRuns with the Runs view's selection). State is read
// through `sbn.panelState`; screenshots: test-results/panel-activeRun*.png, test-results/panel-compare.png.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { suite, suiteSetup, suiteTeardown, test } from 'mocha';
import { ui } from './index';
import type { Job } from '../../src/extension/runManager';
import type { PanelState } from '../../src/extension/panels/runPanel';
import type { ComparePanelState } from '../../src/extension/panels/comparePanel';
import { RunStore } from '../../src/engine/runs';
import { sleep, until } from './wait';

let folder: string;
const finished: string[] = [];

async function states(): Promise<PanelState[]> {
  return vscode.commands.executeCommand<PanelState[]>('sbn.panelState');
}

async function viewState(): Promise<PanelState> {
  const s = (await states()).find((p) => p.kind === 'activeRun');
  assert.ok(s, 'sbn.panelState has the active-run view');
  return s;
}

/** The only visible webview's page (two iframes deep). */
const WEBVIEW = ['iframe.webview.ready:visible', 'iframe#active-frame'];

async function shot(name: string, selector?: string): Promise<void> {
  if (!ui.available()) return;
  await vscode.commands.executeCommand('notifications.clearAll');
  if (selector) await ui.waitFor({ selector, frames: WEBVIEW, timeout: 20_000 });
  await sleep(700);
  await ui.screenshot(name);
}

function writeModel(name: string, content: unknown): vscode.Uri {
  const file = path.join(folder, name);
  fs.writeFileSync(file, JSON.stringify(content, null, 2));
  return vscode.Uri.file(file);
}

const TOY = (name: string, estimator: string, epochs: number) => ({
  name,
  input: { shape: [2] },
  states: 'pm1',
  layers: [
    { type: 'dense', units: 16 },
    { type: 'dense', units: 16 },
  ],
  output: { units: 1, loss: 'logistic' },
  data: { dataset: 'toy-2d', validation: 40 },
  train: { estimator, lr: 0.03, batchSize: 10, epochs, evalSamples: 10, logInterval: 4, evalInterval: 16 },
});

suite('Active Run view and Compare Runs', () => {
  suiteSetup(async () => {
    await vscode.extensions.getExtension('sbn-studio.sbn-studio')!.activate();
    folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    // only the sidebar's webview on screen: no dashboard opening by itself beside the model
    await vscode.workspace
      .getConfiguration('sbn')
      .update('dashboard.openOnTrain', false, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('workbench.action.closePanel');
  });

  suiteTeardown(async () => {
    await vscode.workspace
      .getConfiguration('sbn')
      .update('dashboard.openOnTrain', undefined, vscode.ConfigurationTarget.Global);
  });

  test('the view resolves in the SBN Studio sidebar and shows its empty state', async () => {
    await vscode.commands.executeCommand('workbench.view.extension.sbn-studio');
    await vscode.commands.executeCommand('sbn.activeRun.focus');
    const s = await until(
      'the empty state drawn',
      async () => {
        const v = await viewState();
        return v.ready && v.visible && v.rendered?.extras?.idle === 1 ? v : undefined;
      },
      30_000,
    );
    assert.strictEqual(s.runDir, '');
    assert.strictEqual(s.rendered!.extras!.running, 0);
    assert.deepStrictEqual(s.errors, []);
    if (ui.available()) {
      const text = (await ui.text({ selector: '#empty', frames: WEBVIEW })).join(' ');
      assert.match(text, /No training run in progress/);
      assert.match(text, /Train Model/);
      assert.strictEqual(await ui.count({ selector: '#new-model', frames: WEBVIEW }), 1);
    }
    await shot('panel-activeRun-empty', '#new-model');
  });

  test('it follows a training run (sparklines, step, ETA) and its Stop button stops it', async () => {
    const uri = writeModel('toy2d-active.sbn.json', TOY('toy2d-active', 'psa', 400));
    const job = await vscode.commands.executeCommand<Job>('sbn.trainModel', uri);
    assert.ok(job);
    const dir = await until('the run folder', () => job.runDir);
    await vscode.commands.executeCommand('sbn.activeRun.focus');
    const live = await until(
      'the running run drawn',
      async () => {
        const v = await viewState();
        return v.runDir === path.resolve(dir) &&
          v.rendered?.extras?.running === 1 &&
          v.rendered.extras.stop === 1 &&
          (v.rendered.points.objective ?? 0) >= 3 &&
          (v.rendered.points['validation/acc_e'] ?? 0) >= 2
          ? v
          : undefined;
      },
      60_000,
    );
    assert.strictEqual(live.rendered!.charts, 2);
    assert.ok(live.deltas + live.runStates > 0 || live.snapshots > 1, JSON.stringify(live));
    if (ui.available()) {
      const text = (await ui.text({ selector: '#running', frames: WEBVIEW })).join(' ');
      assert.match(text, /toy2d-active/);
      assert.match(text, /step\s*\d+ \/ \d+/);
      await shot('panel-activeRun', '.spark canvas');
      await ui.click({ selector: '#stop', frames: WEBVIEW });
    } else {
      await vscode.commands.executeCommand('sbn.stopTraining', dir);
    }
    const end = await job.finished;
    assert.strictEqual(end.type === 'done' && end.status, 'stopped', JSON.stringify(end));
    assert.strictEqual(RunStore.status(dir).status, 'stopped');
    if (ui.available()) {
      // the stop notification offers to resume the run
      await ui.waitFor({
        selector: '.notification-list-item:has-text("stopped at step") .monaco-button:has-text("Resume")',
        timeout: 20_000,
      });
      await sleep(800); // the toast slides in
      await ui.screenshot('notification-stopped-resume');
    }
    // back to the empty state, naming the last run
    const idle = await until(
      'the empty state again',
      async () => {
        const v = await viewState();
        return v.runDir === '' && v.rendered?.extras?.idle === 1 ? v : undefined;
      },
      20_000,
    );
    assert.deepStrictEqual(idle.errors, []);
    if (ui.available())
      assert.match((await ui.text({ selector: '#empty', frames: WEBVIEW })).join(' '), /toy2d-active\S* \(stopped\)/);
  });

  test("a new run starts with empty sparklines, never the previous run's curves", async () => {
    const job = await vscode.commands.executeCommand<Job>(
      'sbn.trainModel',
      writeModel('toy2d-active2.sbn.json', TOY('toy2d-active2', 'psa', 400)),
    );
    const dir = await until('the run folder', () => job.runDir);
    await vscode.commands.executeCommand('sbn.activeRun.focus');
    const seen: string[] = [];
    const live = await until(
      'the second run drawn',
      async () => {
        const v = await viewState();
        if (v.runDir !== path.resolve(dir) || !v.rendered) return undefined;
        seen.push(JSON.stringify({ points: v.rendered.points, charts: v.rendered.charts }));
        assert.strictEqual(v.rendered.extras?.staleSparks, 0, `a stale sparkline: ${seen.join(' ')}`);
        return (v.rendered.points.objective ?? 0) >= 2 ? v : undefined;
      },
      60_000,
    );
    assert.ok(live.rendered!.charts >= 1);
    await vscode.commands.executeCommand('sbn.stopTraining', dir);
    const end = await job.finished;
    assert.strictEqual(end.type === 'done' && end.status, 'stopped', JSON.stringify(end));
  });

  test('Compare Runs overlays two finished runs, one colour per run, with a legend and a table', async () => {
    for (const [name, est] of [
      ['toy2d-cmp-psa', 'psa'],
      ['toy2d-cmp-arm', 'arm'],
    ]) {
      const job = await vscode.commands.executeCommand<Job>(
        'sbn.trainModel',
        writeModel(`${name}.sbn.json`, TOY(name, est, 12)),
      );
      const end = await job.finished;
      assert.strictEqual(end.type === 'done' && end.status, 'finished', JSON.stringify(end));
      finished.push(job.runDir!);
    }
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('workbench.action.closeSidebar');
    // as the Runs view calls it with a multi-selection: (clicked item, selected items)
    const items = finished.map((dir) => ({ info: { dir } }));
    const opened = await vscode.commands.executeCommand<ComparePanelState>('sbn.compareRuns', items[0], items);
    assert.strictEqual(opened.kind, 'compare');
    assert.deepStrictEqual(
      opened.runDirs,
      finished.map((d) => path.resolve(d)),
    );
    const s = await until(
      'the comparison drawn',
      async () => {
        const p = (await states()).find((x): x is ComparePanelState => x.kind === 'compare');
        return p?.rendered && p.rendered.extras?.runs === 2 && Object.keys(p.rendered.points).length >= 10
          ? p
          : undefined;
      },
      30_000,
    );
    for (const i of [0, 1]) {
      for (const k of ['objective', 'train/u_loss', 'validation/u_loss', 'train/acc_e', 'validation/acc_e']) {
        assert.ok((s.rendered!.points[`${i}/${k}`] ?? 0) > 0, `${i}/${k} drawn: ${JSON.stringify(s.rendered!.points)}`);
      }
    }
    assert.strictEqual(s.rendered!.charts, 3);
    assert.strictEqual(s.rendered!.extras!.tableRows, 2);
    assert.deepStrictEqual(s.errors, []);
    assert.match(s.title, /Compare · toy2d-cmp-psa\S*, toy2d-cmp-arm/);
    if (ui.available()) {
      const legend = (await ui.text({ selector: '#runs-legend', frames: WEBVIEW })).join(' ');
      assert.match(legend, /toy2d-cmp-psa\S*\s*psa/);
      assert.match(legend, /toy2d-cmp-arm\S*\s*arm/);
    }
    await shot('panel-compare', '.uplot canvas');
    // the same command with other runs re-uses the panel
    const again = await vscode.commands.executeCommand<ComparePanelState>('sbn.compareRuns', [finished[1]]);
    assert.deepStrictEqual(again.runDirs, [path.resolve(finished[1])]);
    assert.strictEqual((await states()).filter((x) => x.kind === 'compare').length, 1);
  });
});
