// The runs table inside real VS Code: two run folders (written here, as the trainer writes them) appear in the
// Runs table with the hyper-parameter that differs and their best metric; Rename Run gives one a display name that
// the table, the Runs view and the page show at once; clicking a header sorts, typing in the filter filters; tags
// filter too. Screenshots test-results/runs-table-<light|dark|high-contrast>.png, the page redrawn in each theme.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { suite, suiteSetup, suiteTeardown, test } from 'mocha';
import { ui } from './index';
import type { SbnStudioApi } from '../../src/extension/extension';
import type { RunsTablePanelState } from '../../src/extension/panels/runsTablePanel';
import { RunStore, readRunMeta } from '../../src/engine/runs';
import { sleep, until } from './wait';

/** The visible webview's page (two iframes deep). */
const WEBVIEW = ['iframe.webview.ready:visible', 'iframe#active-frame'];

async function tableState(): Promise<RunsTablePanelState | undefined> {
  const all = await vscode.commands.executeCommand<{ kind: string }[]>('sbn.panelState');
  return all.find((p): p is RunsTablePanelState => p.kind === 'runsTable');
}

/** A finished run folder of the toy model with this estimator and learning rate and these validation accuracies. */
function writeRun(root: string, name: string, estimator: string, lr: number, acc: number[]): string {
  const run = RunStore.create(root, name, {
    modelFileName: 'toy2d.sbn.json',
    modelText: '{}',
    config: { model: { name: 'toy2d' }, train: { estimator, lr, epochs: acc.length, batchSize: 20 } },
    environment: { backend: 'cpu' },
  });
  acc.forEach((a, i) => {
    const step = 10 * (i + 1);
    // the training time as a real run of the toy model takes (the table's Duration), not this test's
    const elapsed = 4.5 * (i + 1) + (estimator === 'psa' ? 1.5 : 0);
    run.appendMetrics({ kind: 'step', step, elapsed, epoch: i + 1, loss: 0.5 - a / 2, lr, samplesPerSecond: 100 });
    run.appendMetrics({
      elapsed,
      kind: 'eval',
      step,
      split: 'validation',
      epoch: i + 1,
      u_loss: 1 - a,
      acc1: a,
      acc_e: a,
      entropy: 0.2,
      examples: 100,
      samples: 4,
    });
  });
  run.setStatus('finished');
  run.close();
  return run.dir;
}

suite('Runs table', () => {
  let api: SbnStudioApi;
  let psa: string;
  let dste: string;
  const made: string[] = [];

  suiteSetup(async () => {
    api = (await vscode.extensions.getExtension('sbn-studio.sbn-studio')!.activate()) as SbnStudioApi;
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const root = path.join(folder, 'runs');
    psa = writeRun(root, 'toy2d-psa', 'psa', 0.01, [0.7, 0.93, 0.9]);
    dste = writeRun(root, 'toy2d-dste', 'dste', 0.1, [0.6, 0.8, 0.85]);
    made.push(psa, dste);
    // a tag of this suite's runs: the filter and the assertions see only them, whatever other suites left
    for (const d of made) await vscode.commands.executeCommand('sbn.editRunTags', d, 'rtable');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('notifications.clearAll');
  });

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  });

  test('the runs table: two runs, rename one, sort, filter; light, dark, high-contrast screenshots', async function () {
    this.timeout(240_000);
    await vscode.commands.executeCommand('sbn.openRunsTable');
    const first = await until('the runs table listing both runs', async () => {
      const s = await tableState();
      const mine = s?.rows.filter((r) => made.includes(r.runDir));
      return s?.ready && mine?.length === 2 && s;
    });
    assert.deepStrictEqual(first.errors, []);
    assert.ok(
      first.columns.includes('hp:train.lr'),
      `the differing learning rate is a column: ${first.columns.join(' ')}`,
    );
    // a value every run shown shares is no column (other suites' runs are in the table too: their config.json counts)
    const batchSizes = new Set(
      first.rows.map((r) => {
        const file = path.join(r.runDir, 'config.json');
        if (!fs.existsSync(file)) return 'none';
        const config = JSON.parse(fs.readFileSync(file, 'utf8')) as { train?: { batchSize?: number } };
        return String(config.train?.batchSize ?? 'none');
      }),
    );
    assert.strictEqual(
      first.columns.includes('hp:train.batchSize'),
      batchSizes.size > 1,
      `train.batchSize is a column exactly when the runs shown differ in it (${[...batchSizes].join(', ')})`,
    );
    assert.ok(first.columns.includes('metric:validation.acc_e.best'));
    assert.deepStrictEqual(first.rows.find((r) => r.runDir === psa)!.tags, ['rtable']);

    // rename (the Runs view's context-menu command, with its value given as the input box would)
    await vscode.commands.executeCommand('sbn.renameRun', psa, 'PSA baseline');
    assert.strictEqual(readRunMeta(psa).displayName, 'PSA baseline');
    // notes: one line in the input box, `\n` a line break
    await vscode.commands.executeCommand('sbn.editRunNotes', psa, 'reference run\\nlr 0.01, 3 epochs');
    assert.strictEqual(readRunMeta(psa).notes, 'reference run\nlr 0.01, 3 epochs');
    await until('the renamed run in the table', async () => {
      const s = await tableState();
      return s?.rows.find((r) => r.runDir === psa)?.label === 'PSA baseline';
    });
    const item = api.tree.runItems().find((i) => i.info.dir === psa)!;
    assert.strictEqual(item.label, 'PSA baseline', 'the Runs view shows the display name');
    assert.match(String(item.description), /#rtable/);
    assert.match((item.tooltip as vscode.MarkdownString).value, /notes: reference run/);

    if (!ui.available()) return; // the page itself needs the harness's browser
    // only this suite's runs: filter by their tag
    await ui.fill({ selector: '#filter', frames: WEBVIEW }, 'rtable');
    const names = async () => ui.text({ selector: '#runs-table .run-link', frames: WEBVIEW });
    await until('the filtered page with the new name', async () => {
      const n = await names();
      return n.length === 2 && n.includes('PSA baseline') && n;
    });
    // sort by best validation acc_e: the first click sorts best first (higher is better), the second reverses
    const header = { selector: '#runs-table th[data-column="metric:validation.acc_e.best"]', frames: WEBVIEW };
    await ui.click(header);
    await until('sorted best first', async () => JSON.stringify(await names()) === '["PSA baseline","toy2d-dste"]');
    await ui.click(header);
    await until('sorted the other way', async () => JSON.stringify(await names()) === '["toy2d-dste","PSA baseline"]');
    // a filter of two words: both must match
    await ui.fill({ selector: '#filter', frames: WEBVIEW }, 'rtable dste');
    await until('one run left', async () => JSON.stringify(await names()) === '["toy2d-dste"]');
    assert.match((await ui.text({ selector: '#runs-count', frames: WEBVIEW }))[0], /^1 of \d+ runs$/);
    await ui.fill({ selector: '#filter', frames: WEBVIEW }, 'rtable');
    await until('both runs again', async () => (await names()).length === 2);

    const config = vscode.workspace.getConfiguration();
    const original = config.inspect<string>('workbench.colorTheme')?.globalValue;
    const THEMES = [
      { id: 'Default Light Modern', name: 'light', kind: vscode.ColorThemeKind.Light },
      { id: 'Default Dark Modern', name: 'dark', kind: vscode.ColorThemeKind.Dark },
      { id: 'Default High Contrast', name: 'high-contrast', kind: vscode.ColorThemeKind.HighContrast },
    ];
    try {
      // the Runs view beside the table: the renamed run and the tags there too
      await vscode.commands.executeCommand('sbn.runs.focus');
      for (const theme of THEMES) {
        // the page redraws when the theme changes (none when the workbench is in that theme already)
        const since = vscode.window.activeColorTheme.kind === theme.kind ? 0 : Date.now();
        await config.update('workbench.colorTheme', theme.id, vscode.ConfigurationTarget.Global);
        await until(`the ${theme.name} theme`, () => vscode.window.activeColorTheme.kind === theme.kind, 20_000);
        const s = await until(
          `the table redrawn in the ${theme.name} theme`,
          async () => {
            const st = await tableState();
            return st?.visible && st.rendered && st.rendered.at >= since && st;
          },
          30_000,
        );
        assert.deepStrictEqual(s.errors, []);
        assert.strictEqual(s.rendered?.extras?.shownRows, 2, 'the filter is kept across the redraw');
        await vscode.commands.executeCommand('notifications.clearAll');
        await sleep(800); // the theme transition
        const file = await ui.screenshot(`runs-table-${theme.name}`);
        assert.ok(fs.statSync(file).size > 10_000, `${file} looks empty`);
      }
    } finally {
      await config.update('workbench.colorTheme', original, vscode.ConfigurationTarget.Global);
    }
  });
});
