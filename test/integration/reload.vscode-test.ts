// Issue 18, item 8: panels and window reloads. With every kind of panel open the window is reloaded
// (workbench.action.reloadWindow; the suite goes on in the reloaded window, see ui.reloadWindow): each panel comes
// back through its serializer with its state and draws, none stays "Loading…" (test-results/reload-all-panels.png).
// And a panel whose script cannot be loaded (the file is moved away for a while) says so, retries, offers "Reload
// panel" after the last try, and recovers (test-results/reload-retrying.png, reload-failed.png, reload-recovered.png).
// Needs the browser of scripts/test-vscode.mjs (skipped without it).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { suite, suiteSetup, test } from 'mocha';
import { ui } from './index';
import type { SbnStudioApi } from '../../src/extension/extension';
import { activePanelDrawn, EVERY_PANEL, everyPanelDrawn, openEveryPanel, panelStates, tinyRun } from './everyPanel';
import { sleep, until } from './wait';

/** The visible webview's page (two iframes deep). */
const WEBVIEW = ['iframe.webview.ready:visible', 'iframe#active-frame'];

let api: SbnStudioApi;
let folder: string;

suite('Reload: panels after a window reload, and pages whose files do not load', () => {
  suiteSetup(async () => {
    api = await vscode.extensions.getExtension<SbnStudioApi>('sbn-studio.sbn-studio')!.activate();
    folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('workbench.action.closePanel');
  });

  test('with every panel open the window reloads: each comes back with its state and draws', async function () {
    if (!ui.available()) this.skip();
    this.timeout(480_000);
    if (!ui.reloaded(this)) {
      await openEveryPanel(api, folder);
      await ui.reloadWindow(this); // the test goes on below, in the reloaded window
    }
    const { runDir } = await tinyRun(api, folder);
    const seen: string[] = [];
    const drawn = await everyPanelDrawn('after the reload', async (kind) => {
      // the page in view: drawn, neither "Loading…" nor a load problem
      assert.strictEqual(await ui.count({ selector: '#loading', frames: WEBVIEW }), 0, `${kind}: still "Loading…"`);
      assert.strictEqual(await ui.count({ selector: '#load-problem', frames: WEBVIEW }), 0, kind);
      seen.push(kind);
    });
    assert.deepStrictEqual([...drawn.keys()].sort(), [...EVERY_PANEL].sort());
    assert.deepStrictEqual(seen.sort(), [...EVERY_PANEL].sort());
    for (const [kind, s] of drawn) {
      assert.deepStrictEqual(s.errors, [], `${kind}: page errors`);
      assert.strictEqual(s.load, undefined, `${kind}: its files loaded at the first try`);
    }
    // each with its state: the run panels show the run, Compare its runs, the preview its file, the report its file
    for (const kind of ['dashboard', 'diagnostics', 'layers', 'compare'] as const)
      assert.strictEqual(path.resolve(drawn.get(kind)!.runDir), path.resolve(runDir), kind);
    assert.match(JSON.stringify(drawn.get('preview')), /toy2d-every-panel\.sbn\.json/);
    assert.match(JSON.stringify(drawn.get('report')), /every-panel[\\/]+gradacc\.json/);
    // the last panel shown, drawn again
    const since = Date.now();
    await vscode.commands.executeCommand('workbench.action.previousEditor');
    await activePanelDrawn('the last panel again', since);
    await vscode.commands.executeCommand('notifications.clearAll');
    await sleep(1000);
    await ui.screenshot('reload-all-panels');
  });

  test('a panel whose script does not load says so, retries, offers Reload panel and recovers', async function () {
    if (!ui.available()) this.skip();
    this.timeout(180_000);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const { runDir } = await tinyRun(api, folder);
    const extension = vscode.extensions.getExtension('sbn-studio.sbn-studio')!.extensionPath;
    const script = path.join(extension, 'dist', 'webview', 'compare.js');
    const hidden = `${script}.moved-by-test`;
    const compareState = async () => (await panelStates()).find((p) => p.kind === 'compare');
    const problem = async () => (await ui.text({ selector: '#load-problem', frames: WEBVIEW })).join(' ');

    // 1. the script is gone until after the last try: the retries, then "Reload panel", which loads it again
    fs.renameSync(script, hidden);
    try {
      await vscode.commands.executeCommand('sbn.compareRuns', [runDir]);
      await ui.waitFor({ selector: '#load-problem', frames: WEBVIEW, timeout: 30_000 });
      assert.match(await problem(), /Could not load the panel’s script \(compare\.js\); retrying \(\d of 3\)…/);
      await ui.screenshot('reload-retrying');
      await ui.waitFor({ selector: '#reload-panel', frames: WEBVIEW, timeout: 30_000 });
      assert.match(await problem(), /Could not load the panel’s script \(compare\.js\) after 4 tries\./);
      const failed = await until('the host told', async () => (await compareState())?.load?.final && compareState());
      assert.deepStrictEqual(failed.load!.resources, ['compare.js']);
      assert.strictEqual(failed.rendered, undefined, 'nothing drawn');
      await ui.screenshot('reload-failed');
    } finally {
      if (fs.existsSync(hidden)) fs.renameSync(hidden, script);
    }
    await ui.click({ selector: '#reload-panel', frames: WEBVIEW });
    const reloaded = await until('Compare drawn after Reload panel', async () => {
      const s = await compareState();
      return s?.rendered && s.load?.reloads === 1 ? s : undefined;
    });
    assert.deepStrictEqual(reloaded.errors, []);
    assert.strictEqual(await ui.count({ selector: '#load-problem', frames: WEBVIEW }), 0);

    // 2. the script is back before the next try: the page recovers by itself
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await until('Compare closed', async () => !(await compareState()));
    fs.renameSync(script, hidden);
    try {
      await vscode.commands.executeCommand('sbn.compareRuns', [runDir]);
      await ui.waitFor({ selector: '#load-problem', frames: WEBVIEW, timeout: 30_000 });
    } finally {
      fs.renameSync(hidden, script);
    }
    const recovered = await until('Compare recovered by itself', async () => {
      const s = await compareState();
      return s?.rendered && s.load?.recovered ? s : undefined;
    });
    assert.ok(recovered.load!.attempt >= 2, JSON.stringify(recovered.load));
    await ui.waitFor({ selector: '#load-problem', frames: WEBVIEW, state: 'detached' });
    assert.strictEqual(await ui.count({ selector: '#loading', frames: WEBVIEW }), 0);
    await vscode.commands.executeCommand('notifications.clearAll');
    await sleep(500);
    await ui.screenshot('reload-recovered');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
