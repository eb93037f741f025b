// End to end through the workbench, as a user would: open the toy-2d model, run "SBN: Train Model" from the command
// palette, watch the progress notification, and find the finished run in the SBN Studio Runs view. Each stage is
// saved as a screenshot (test-results/ui-*.png, or the harness's --screenshots folder), and the assertions are on
// what the page shows. Needs the browser of scripts/test-vscode.mjs (skipped without it).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { suite, test } from 'mocha';
import { ui } from './index';
import type { SbnStudioApi } from '../../src/extension/extension';
import type { Job } from '../../src/extension/runManager';
import { until } from './wait';

const TOAST = '.notifications-toasts .notification-toast';
// A toast whose fade-in animation is over (what a screenshot should show).
const SHOWN_TOAST = '.notifications-toasts .notification-toast.notification-fade-in-done';
const ACTIVITY = '.activitybar .action-item:has([aria-label^="SBN Studio"])';
// The Runs view's rows (the SBN Studio container's only view).
const RUN_ROWS = '[id="workbench.view.extension.sbn-studio"] .monaco-list-row';

suite('UI: training from the command palette', () => {
  test('Train Model from the palette shows progress, then the finished run in the Runs view', async function () {
    if (!ui.available()) this.skip();
    const api = await vscode.extensions.getExtension<SbnStudioApi>('sbn-studio.sbn-studio')!.activate();
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('workbench.action.closePanel'); // a terminal left by an earlier test

    // 1. the model file in the editor
    await vscode.window.showTextDocument(vscode.Uri.file(path.join(folder, 'toy2d.sbn.json')), { preview: false });
    await ui.waitFor({ selector: '.tabs-container .tab.active:has-text("toy2d.sbn.json")' });
    await ui.waitFor({ selector: '.monaco-editor .view-lines:has-text("estimator")' });
    await ui.waitFor({ selector: '.monaco-editor .codelens-decoration:has-text("▶ Train")' });
    await ui.screenshot('ui-1-model');

    // 2. SBN: Train Model from the command palette; the progress notification while it trains
    const started = new Promise<Job>((resolve) => {
      const sub = api.runs.onDidChange(({ job }) => {
        if (job.kind === 'train') {
          sub.dispose();
          resolve(job);
        }
      });
    });
    await ui.runFromPalette('SBN: Train Model');
    const job = await started;
    let done = false;
    void job.finished.then(() => {
      done = true;
    });
    const progress = await until('the progress notification', async () => {
      const texts = await ui.text({ selector: `${SHOWN_TOAST}:has-text("Training toy2d.sbn.json")` });
      return texts.find((t) => /step \d+\/\d+/.test(t)) ?? (done ? `(finished first) ${texts.join(' | ')}` : undefined);
    });
    await ui.screenshot('ui-2-training');
    assert.match(progress, /Training toy2d\.sbn\.json/, `the notification names the model: ${progress}`);
    assert.match(progress, /step \d+\/\d+ · loss \d/, `the progress notification while training (seen: ${progress})`);

    // 3. the end: the run folder says finished, and so does the notification
    const end = await job.finished;
    assert.strictEqual(end.type === 'done' && end.status, 'finished', JSON.stringify(end));
    const runDir = job.runDir!;
    const summary = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as {
      estimator: string;
      last: { validation?: { acc_e: number } };
    };
    const acc = `${(100 * summary.last.validation!.acc_e).toFixed(2)}%`;
    await ui.waitFor({ selector: `${SHOWN_TOAST}:has-text("Training toy2d.sbn.json finished")` });
    const toasts = (await ui.text({ selector: TOAST })).join(' | ');
    assert.match(toasts, new RegExp(`finished · validation acc_e ${acc.replace('.', '\\.')}`), toasts);
    await ui.screenshot('ui-3-finished');

    // 4. the SBN Studio container: the new run is the first (newest) row of the Runs view
    if ((await ui.count({ selector: `${ACTIVITY}.checked` })) === 0) await ui.click({ selector: ACTIVITY });
    await ui.waitFor({ selector: `${ACTIVITY}.checked` });
    await ui.waitFor({ selector: `${RUN_ROWS}:has-text("${acc}")` });
    const rows = await ui.text({ selector: RUN_ROWS });
    const newest = rows[0] ?? '';
    assert.ok(/finished/.test(newest) && /psa/.test(newest), `first row: ${newest} (all: ${rows.join(' | ')})`);
    assert.ok(
      newest.includes(path.basename(runDir).replace(/^\d{8}-\d{6}-/, '')) && newest.includes(`acc_e ${acc}`),
      newest,
    );
    assert.strictEqual(api.tree.runItems()[0]?.info.dir, runDir, 'the new run is the newest in the view');
    await ui.screenshot('ui-4-runs-view');
  });
});
