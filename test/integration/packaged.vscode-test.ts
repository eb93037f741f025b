// The packaged extension: scripts/test-vsix.mjs builds the VSIX (npm run package), installs it into a fresh
// code-server extensions folder and runs this suite against that installed copy (SBN_VSCODE_PACKAGED=<its
// folder>, also the harness's SBN_VSCODE_EXTENSION). Without SBN_VSCODE_PACKAGED the suite is not defined, so the
// main run of scripts/test-vscode.mjs does not see it.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { suite, suiteSetup, test } from 'mocha';
import type { Job } from '../../src/extension/runManager';

const installed = process.env.SBN_VSCODE_PACKAGED;
const repoRoot = path.resolve(__dirname, '..', '..', '..');

if (installed) {
  suite('packaged VSIX', () => {
    let ext: vscode.Extension<unknown>;
    let folder: string;

    suiteSetup(async () => {
      const found = vscode.extensions.getExtension('sbn-studio.sbn-studio');
      assert.ok(found, 'sbn-studio.sbn-studio is not installed');
      ext = found;
      await ext.activate();
      folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    });

    test('the extension under test is the installed VSIX, not the repository', () => {
      const real = (p: string) => fs.realpathSync(p);
      assert.strictEqual(real(ext.extensionPath), real(installed), 'extension path');
      assert.ok(!real(ext.extensionPath).startsWith(real(repoRoot) + path.sep), `${ext.extensionPath} is inside the repository`);
      const manifest = ext.packageJSON as { version: string; scripts?: unknown; devDependencies?: unknown; main: string };
      const repoVersion = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
      assert.strictEqual(manifest.version, repoVersion);
      assert.strictEqual(manifest.scripts, undefined, 'the packaged manifest has no scripts');
      assert.strictEqual(manifest.devDependencies, undefined, 'the packaged manifest has no devDependencies');
      // everything is bundled: no node_modules, the wasm binaries beside the worker
      assert.ok(!fs.existsSync(path.join(ext.extensionPath, 'node_modules')), 'node_modules in the package');
      for (const f of [manifest.main, 'dist/worker.js', 'package.nls.json', 'schemas/sbn-model.schema.json', 'media/sbn-activity.svg']) {
        assert.ok(fs.existsSync(path.join(ext.extensionPath, f)), `${f} missing from the package`);
      }
      assert.ok(fs.readdirSync(path.join(ext.extensionPath, 'dist', 'wasm')).some((f) => f.endsWith('.wasm')), 'no .wasm files in dist/wasm');
    });

    test('Train Model trains the toy-2d example on the wasm backend', async () => {
      const job = await vscode.commands.executeCommand<Job>('sbn.trainModel', vscode.Uri.file(path.join(folder, 'toy2d.sbn.json')));
      assert.ok(job, 'sbn.trainModel returns its job');
      const end = await job.finished;
      assert.strictEqual(end.type === 'done' && end.status, 'finished', JSON.stringify(end));
      assert.strictEqual(job.backend, 'wasm', 'the backend the worker reported');
      const runDir = job.runDir!;
      assert.ok(runDir.startsWith(path.join(folder, 'runs') + path.sep), runDir);
      const status = JSON.parse(fs.readFileSync(path.join(runDir, 'status.json'), 'utf8')) as { status: string };
      assert.strictEqual(status.status, 'finished');
      const summary = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as { backend: string; estimator: string; last: { validation?: { acc_e: number } } };
      assert.strictEqual(summary.backend, 'wasm');
      assert.strictEqual(summary.estimator, 'psa');
      // the universal VSIX carries no native addon: PSA falls back to the TensorFlow.js kernels (and says so)
      const env = JSON.parse(fs.readFileSync(path.join(runDir, 'environment.json'), 'utf8')) as { kernels: string; kernelsPath: string | null };
      assert.match(env.kernels, /^TensorFlow\.js ops \(native kernels not built/, env.kernels);
      assert.strictEqual(env.kernelsPath, null);
      assert.ok((summary.last.validation?.acc_e ?? 0) > 0.5, `validation acc_e ${summary.last.validation?.acc_e}`);
    });

    test('the MNIST template trains from the MNIST shipped in the VSIX (no download, no native set-up)', async function () {
      this.timeout(300_000); // one epoch on 800 images, then the 10 000 test images evaluated, on single-threaded wasm
      const shipped = path.join(ext.extensionPath, 'dist', 'datasets', 'mnist');
      assert.deepStrictEqual(fs.readdirSync(shipped).sort(), ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']);
      const target = await vscode.commands.executeCommand<vscode.Uri>('sbn.newModelFile', 'MNIST MLP');
      assert.ok(target, 'sbn.newModelFile writes the template');
      // the template as it is, on 1000 examples for one epoch: the point is that the data loads and a run finishes
      // (edited through its open editor: Train Model reads the editor's text)
      const doc = await vscode.workspace.openTextDocument(target);
      const text = doc.getText().replace('validation: 5000', 'validation: 200\n  limit: 1000').replace('epochs: 5', 'epochs: 1');
      const edit = new vscode.WorkspaceEdit();
      edit.replace(target, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), text);
      assert.ok(await vscode.workspace.applyEdit(edit));
      assert.ok(await doc.save());
      const job = await vscode.commands.executeCommand<Job>('sbn.trainModel', target);
      assert.ok(job, 'sbn.trainModel starts a job: no download was needed');
      const end = await job.finished;
      assert.strictEqual(end.type === 'done' && end.status, 'finished', JSON.stringify(end));
      const summary = JSON.parse(fs.readFileSync(path.join(job.runDir!, 'summary.json'), 'utf8')) as { backend: string; last: { validation?: { acc_e: number } } };
      assert.strictEqual(summary.backend, 'wasm');
      assert.ok((summary.last.validation?.acc_e ?? 0) > 0.3, `validation acc_e ${summary.last.validation?.acc_e} after one epoch on 800 MNIST images`);
    });
  });
}
