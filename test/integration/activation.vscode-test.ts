// The extension is installed in the test instance, activates, and registers every contributed command.
import * as assert from 'assert';
import * as vscode from 'vscode';
import { suite, test } from 'mocha';

const EXTENSION_ID = 'sbn-studio.sbn-studio';

interface Manifest {
  main?: string;
  contributes?: { commands?: { command: string }[]; views?: Record<string, { id: string }[]> };
}

function extension(): vscode.Extension<unknown> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not installed in the test instance`);
  return ext;
}

suite('activation', () => {
  test('the extension is present', () => {
    const ext = extension();
    assert.strictEqual(ext.id, EXTENSION_ID);
    assert.strictEqual((ext.packageJSON as Manifest).main, './dist/extension.js');
  });

  test('it activates', async () => {
    const ext = extension();
    await ext.activate();
    assert.strictEqual(ext.isActive, true);
  });

  test('every contributed command is registered', async () => {
    const ext = extension();
    await ext.activate();
    const contributed = ((ext.packageJSON as Manifest).contributes?.commands ?? []).map((c) => c.command);
    assert.ok(contributed.length > 0, 'package.json contributes no commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.filter((c) => !registered.has(c));
    assert.deepStrictEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
  });

  test('the sbn.runs view is contributed', () => {
    const views = Object.values((extension().packageJSON as Manifest).contributes?.views ?? {}).flat();
    assert.ok(
      views.some((v) => v.id === 'sbn.runs'),
      'no sbn.runs view in contributes.views',
    );
  });
});
