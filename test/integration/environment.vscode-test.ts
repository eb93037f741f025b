// SBN: Show Environment inside real VS Code: run from the Command Palette, the panel shows each backend (and why it
// loads or not) and the data sets with where they are found; Copy as JSON puts the report, VS Code version included,
// on the clipboard. State through `sbn.panelState`; screenshot test-results/panel-environment.png.
import * as assert from 'assert';
import * as vscode from 'vscode';
import { suite, suiteSetup, test } from 'mocha';
import { ui } from './index';
import type { PanelState } from '../../src/extension/panels/runPanel';
import type { EnvironmentPanelState } from '../../src/extension/panels/environmentPanel';
import type { EnvironmentReport } from '../../src/environmentReport';
import { sleep, until } from './wait';

async function environmentState(): Promise<EnvironmentPanelState | undefined> {
  const all = await vscode.commands.executeCommand<PanelState[]>('sbn.panelState');
  return all.find((p): p is EnvironmentPanelState => p.kind === 'environment');
}

const FRAMES = ['iframe.webview.ready:visible', 'iframe#active-frame'];

suite('environment', () => {
  suiteSetup(async () => {
    await vscode.extensions.getExtension('sbn-studio.sbn-studio')!.activate();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('notifications.clearAll');
  });

  test('SBN: Show Environment shows the backends and the data sets, computed in a worker', async () => {
    if (ui.available()) await ui.runFromPalette('SBN: Show Environment');
    else void vscode.commands.executeCommand('sbn.showEnvironment');
    const s = await until('the report drawn', async () => {
      const p = await environmentState();
      return p?.status === 'done' && p.rendered?.extras?.backends === 3 ? p : undefined;
    }, 120_000);
    assert.strictEqual(s.rendered?.extras?.datasets, 3);
    assert.ok((s.rendered?.extras?.backendsLoading ?? 0) >= 2, 'wasm and cpu load at least');
    assert.deepStrictEqual(s.errors, []);
    if (ui.available()) {
      const backends = (await ui.text({ selector: '#backends', frames: FRAMES })).join(' ');
      for (const b of ['tensorflow', 'wasm', 'cpu']) assert.ok(backends.includes(b), `${b} in the backends table: ${backends}`);
      assert.match(backends, /wasm\s*yes\s*wasm \(/);
      const datasets = (await ui.text({ selector: '#datasets', frames: FRAMES })).join(' ');
      assert.match(datasets, /mnist.*fashion-mnist.*cifar10/s);
      assert.match(datasets, /data-set store \(.*datasets/, 'the extension\u2019s store is searched');
      const header = (await ui.text({ selector: 'header', frames: FRAMES })).join(' ');
      assert.ok(header.includes(vscode.version), `VS Code ${vscode.version} in the header: ${header}`);

      await vscode.env.clipboard.writeText('');
      await ui.click({ selector: '#copy-json', frames: FRAMES });
      const copied = await until('the report on the clipboard', async () => (await vscode.env.clipboard.readText()) || undefined, 10_000);
      const report = JSON.parse(copied) as EnvironmentReport;
      assert.strictEqual(report.schema, 'sbn-environment/1');
      assert.strictEqual(report.vscode?.version, vscode.version);
      assert.deepStrictEqual(report.backends.map((b) => b.name), ['tensorflow', 'wasm', 'cpu']);
      assert.ok(report.dataStores.searched[0].endsWith('datasets'), report.dataStores.searched[0]);

      await vscode.commands.executeCommand('notifications.clearAll');
      await sleep(600);
      await ui.screenshot('panel-environment');
    }
    // Refresh: a second report
    const before = (await environmentState())!.reports;
    const again = await vscode.commands.executeCommand<EnvironmentPanelState>('sbn.showEnvironment');
    assert.strictEqual(again.status, 'done');
    assert.strictEqual(again.reports, before + 1);
  });
});
