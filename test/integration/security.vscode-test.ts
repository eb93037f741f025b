// Workspace content at its worst where only VS Code shows it: a model file whose name is Markdown (a remote image, a
// command link) in the hover, and a run folder whose run.json holds the same in the Runs view's tooltip. Both must be
// untrusted Markdown (no command links run) whose text is escaped (no link, no image).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { suite, suiteSetup, test } from 'mocha';
import type { SbnStudioApi } from '../../src/extension/extension';
import { RunStore } from '../../src/engine/runs';
import { until } from './wait';

const HOSTILE =
  '![pixel](https://example.invalid/track.png) [Fix it](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22id%5Cn%22%7D) <img src=x onerror=alert(1)>';

/** A link or image that Markdown would render: `[` or `![` or `<` not escaped by a backslash. */
const UNESCAPED = /(^|[^\\])(!?\[|<)/;

function markdownOf(v: unknown): vscode.MarkdownString {
  assert.ok(
    v instanceof vscode.MarkdownString || (typeof v === 'object' && v !== null && 'value' in v),
    `not Markdown: ${String(v)}`,
  );
  return v as vscode.MarkdownString;
}

let api: SbnStudioApi;
let folder: string;

suite('Untrusted workspace content', () => {
  suiteSetup(async () => {
    api = await vscode.extensions.getExtension<SbnStudioApi>('sbn-studio.sbn-studio')!.activate();
    folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
  });

  test('security: a model named with Markdown shows its name as text in the hover', async () => {
    const file = path.join(folder, 'hostile.sbn.json');
    const text = JSON.stringify(
      {
        name: HOSTILE,
        input: { shape: [2] },
        layers: [{ type: 'dense', units: 4 }],
        output: { units: 1, loss: 'logistic' },
        data: { dataset: 'toy-2d' },
      },
      null,
      2,
    );
    fs.writeFileSync(file, text);
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const line = text.split('\n').findIndex((l) => l.includes('"name"'));
    const hovers = await until(
      'the hover',
      async () => {
        const h = await vscode.commands.executeCommand<vscode.Hover[]>(
          'vscode.executeHoverProvider',
          doc.uri,
          new vscode.Position(line, 5),
        );
        return h.find((x) => x.contents.some((c) => markdownOf(c).value.includes('hidden layer'))) && h;
      },
      20_000,
    );
    const ours = hovers.flatMap((h) => h.contents.map(markdownOf)).find((m) => m.value.includes('hidden layer'))!;
    assert.ok(!ours.isTrusted, 'the hover runs no command links');
    const title = ours.value.split('\n\n')[0];
    assert.doesNotMatch(title, UNESCAPED, title);
    assert.ok(title.includes('track.png') && title.includes('command:workbench'), 'the name is shown, as text');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  test('security: a run.json naming the run with Markdown shows it as text in the Runs view tooltip', async () => {
    const runs = path.join(folder, 'runs');
    const run = RunStore.create(runs, 'hostile', {
      modelFileName: 'hostile.sbn.json',
      modelText: '{}',
      config: {},
      environment: {},
    });
    run.close();
    const manifest = path.join(run.dir, 'run.json');
    const m = JSON.parse(fs.readFileSync(manifest, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(manifest, JSON.stringify({ ...m, name: HOSTILE, model: HOSTILE }));
    await vscode.commands.executeCommand('sbn.refreshRuns');
    const item = await until('the run in the Runs view', () =>
      api.tree.runItems().find((i) => i.info.dir === run.dir && i.info.name === HOSTILE),
    );
    const tooltip = markdownOf(item.tooltip);
    assert.ok(!tooltip.isTrusted);
    for (const paragraph of tooltip.value.split('\n\n')) assert.doesNotMatch(paragraph, UNESCAPED, paragraph);
    assert.ok(tooltip.value.includes('track.png'));
  });
});
