// Editor help in model files, the same in JSON and YAML (issue 18 item 9): the same schema messages ("did you
// mean"), from our validator alone (VS Code's JSON service, which validates *.sbn.json against the derived schema of
// dist/schemas/, adds none of its own), the same quick fixes (a renamed key, an out-of-range number set to its
// bound), and the schema's descriptions in hovers (in JSON from the JSON service, in YAML from us).
// Screenshot test-results/editor-help-json-yaml.png: the two files side by side with the Problems panel.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { suite, suiteSetup, suiteTeardown, test } from 'mocha';
import { ui } from './index';
import { sleep, until } from './wait';

const YAML = [
  'name: help',
  'input: { shape: [2] }',
  'layers:',
  '  - type: dense',
  '    unit: 4',
  'output: { units: 1, loss: logistic }',
  'train:',
  '  estimator: psa',
  '  lr: 0.1',
  '  samples: 5000',
  '',
].join('\n');

const JSON_TEXT = `{
  "name": "help",
  "input": { "shape": [2] },
  "layers": [{ "type": "dense", "unit": 4 }],
  "output": { "units": 1, "loss": "logistic" },
  "train": { "estimator": "psa", "lr": 0.1, "samples": 5000 }
}
`;

function hoverText(hovers: vscode.Hover[]): string {
  return hovers
    .flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : (c as vscode.MarkdownString).value)))
    .join('\n');
}

/** Where `needle` starts in the document (plus `shift` characters). */
function positionOf(doc: vscode.TextDocument, needle: string, shift = 0): vscode.Position {
  const i = doc.getText().indexOf(needle);
  assert.ok(i >= 0, needle);
  return doc.positionAt(i + shift);
}

suite('Editor help: the same messages, fixes and hovers in JSON and YAML model files', () => {
  let folder: string;
  type Described = { description: string; markdownDescription?: string };
  type ModelSchema = { definitions: { train: { properties: { estimator: Described } } } };
  let schema: ModelSchema;
  const files: string[] = [];

  suiteSetup(async () => {
    const ext = vscode.extensions.getExtension('sbn-studio.sbn-studio')!;
    await ext.activate();
    folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const file = path.join(ext.extensionPath, 'schemas', 'sbn-model.schema.json');
    schema = JSON.parse(fs.readFileSync(file, 'utf8')) as ModelSchema;
  });

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (const f of files) fs.rmSync(f, { force: true }); // broken models: no later test should meet them
  });

  test('diagnostics, quick fixes and hovers agree', async () => {
    const open = async (name: string, text: string, column: vscode.ViewColumn) => {
      const file = path.join(folder, name);
      fs.writeFileSync(file, text);
      files.push(file);
      const doc = await vscode.workspace.openTextDocument(file);
      await vscode.window.showTextDocument(doc, { viewColumn: column, preview: false });
      return doc;
    };
    const yaml = await open('help.sbn.yaml', YAML, vscode.ViewColumn.One);
    const json = await open('help.sbn.json', JSON_TEXT, vscode.ViewColumn.Two);

    // The JSON service has the file's schema: its hover shows the schema's description of `estimator`.
    const estimator = schema.definitions.train.properties.estimator;
    const described = (estimator.markdownDescription ?? estimator.description).slice(0, 30);
    let jsonHover = '';
    await until(
      'the JSON service hover on "estimator"',
      async () => {
        jsonHover = hoverText(
          await vscode.commands.executeCommand<vscode.Hover[]>(
            'vscode.executeHoverProvider',
            json.uri,
            positionOf(json, '"estimator"', 2),
          ),
        );
        return jsonHover.includes(described);
      },
      20_000,
    ).catch(() => assert.fail(`the JSON hover: ${jsonHover}`));
    const yamlHover = hoverText(
      await vscode.commands.executeCommand<vscode.Hover[]>(
        'vscode.executeHoverProvider',
        yaml.uri,
        positionOf(yaml, 'estimator', 1),
      ),
    );
    assert.ok(yamlHover.includes(described), yamlHover);
    assert.ok(jsonHover.includes(described), jsonHover);

    // The same two messages in both; after the JSON service has had time to validate, still nothing from it.
    const messages = (uri: vscode.Uri) =>
      vscode.languages
        .getDiagnostics(uri)
        .map((d) => `${d.source ?? '(no source)'}: ${d.message}`)
        .sort();
    const expected = [
      'sbn: expected an integer ≥ 1 and ≤ 1024, got 5000',
      'sbn: unknown key "unit"; did you mean "units"?',
    ];
    await until('the YAML diagnostics', () => messages(yaml.uri).length === 2);
    await until('the JSON diagnostics', () => messages(json.uri).length >= 2);
    await sleep(3000);
    assert.deepStrictEqual(messages(yaml.uri), expected);
    assert.deepStrictEqual(messages(json.uri), expected);

    // The same quick fixes at each problem.
    const fixes = async (doc: vscode.TextDocument) => {
      const titles: string[] = [];
      for (const d of vscode.languages.getDiagnostics(doc.uri)) {
        const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
          'vscode.executeCodeActionProvider',
          doc.uri,
          d.range,
          vscode.CodeActionKind.QuickFix.value,
        );
        titles.push(...actions.map((a) => a.title));
      }
      return titles.sort();
    };
    const expectedFixes = ['Change to 1024 (the maximum)', 'Rename to "units"'];
    assert.deepStrictEqual(await fixes(yaml), expectedFixes);
    assert.deepStrictEqual(await fixes(json), expectedFixes);

    if (ui.available()) {
      await vscode.commands.executeCommand('workbench.actions.view.problems');
      await sleep(1000);
      await ui.screenshot('editor-help-json-yaml');
      await vscode.commands.executeCommand('workbench.action.closePanel');
    }
  });
});
