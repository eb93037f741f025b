import * as assert from 'assert';
import * as vscode from 'vscode';
import { suite, test } from 'mocha';
import { ui } from './index';
suite('probe', () => {
  test('ui works', async () => {
    assert.ok(ui.available());
    await ui.press('F1');
    await ui.waitFor({ selector: '.quick-input-widget input' });
    await ui.fill({ selector: '.quick-input-widget input' }, '>SBN:');
    await ui.waitFor({ selector: '.quick-input-list .monaco-list-row' });
    const rows = await ui.text({ selector: '.quick-input-list .monaco-list-row' });
    console.log('rows', rows.length, rows.slice(0, 3));
    const p = await ui.screenshot('probe-palette');
    await ui.press('Escape');
    console.log('shot', p, 'trusted', vscode.workspace.isTrusted);
  });
  test('slow', async function () { if (process.env.PROBE_SLOW) await new Promise((r) => setTimeout(r, 600_000)); });
});
