// Runs that travel, from the editor: a run trained in VS Code writes TensorBoard event files (read back by the
// tests' independent reader), records the editor action that started it, and SBN: Export Run… writes its
// TensorBoard files, safetensors and ONNX models.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { suite, suiteSetup, test } from 'mocha';
import type { SbnStudioApi } from '../../src/extension/extension';
import type { Job } from '../../src/extension/runManager';
import { effectiveMetrics, readMetrics } from '../../src/engine/runs';
import { readFolder } from '../unit/helpers/tensorboardReader';
import { until } from './wait';

let api: SbnStudioApi;
let folder: string;

suite('Runs that travel (TensorBoard, safetensors, ONNX)', () => {
  suiteSetup(async () => {
    const ext = vscode.extensions.getExtension<SbnStudioApi>('sbn-studio.sbn-studio');
    assert.ok(ext);
    api = await ext.activate();
    folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
  });

  test('a run trained in the editor appears in TensorBoard; Export Run writes safetensors and ONNX', async () => {
    const uri = vscode.Uri.file(path.join(folder, 'toy2d.sbn.json'));
    const job = await vscode.commands.executeCommand<Job>('sbn.trainModel', uri);
    const end = await job.finished;
    assert.strictEqual(end.type === 'done' && end.status, 'finished', JSON.stringify(end));
    const runDir = job.runDir!;

    // every validation accuracy of metrics.jsonl is in the event files, as float32
    const tb = readFolder(path.join(runDir, 'tensorboard'));
    const evals = effectiveMetrics(readMetrics(runDir).records).filter(
      (r) => r.kind === 'eval' && r.split === 'validation',
    );
    assert.ok(evals.length > 0);
    for (const r of evals) {
      if (r.kind !== 'eval' || r.acc_e === null) continue;
      assert.strictEqual(tb.scalars.get(`validation/acc_e@${r.step}`), Math.fround(r.acc_e), `acc_e at ${r.step}`);
    }
    const env = JSON.parse(fs.readFileSync(path.join(runDir, 'environment.json'), 'utf8')) as {
      provenance: { startedBy: string; version: string };
    };
    assert.match(env.provenance.startedBy, /^VS Code: SBN: Train Model \(toy2d\.sbn\.json\)$/);

    const item = await until('the run in the Runs view', () => api.tree.runItems().find((i) => i.info.dir === runDir));
    const onnx = path.join(folder, 'toy2d-ensemble.onnx');
    const written = await vscode.commands.executeCommand<string>('sbn.exportRun', item, {
      format: 'onnx-ensemble',
      out: onnx,
    });
    assert.strictEqual(written, onnx);
    assert.ok(fs.statSync(onnx).size > 0);
    const st = path.join(folder, 'toy2d.safetensors');
    await vscode.commands.executeCommand('sbn.exportRun', item, { format: 'safetensors', out: st });
    const header = fs.readFileSync(st);
    const meta = JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString('utf8')) as {
      __metadata__: { model: string };
    };
    assert.strictEqual(meta.__metadata__.model, fs.readFileSync(uri.fsPath, 'utf8'));
    fs.rmSync(path.join(runDir, 'tensorboard'), { recursive: true });
    await vscode.commands.executeCommand('sbn.exportRun', item, { format: 'tensorboard' });
    assert.deepStrictEqual(readFolder(path.join(runDir, 'tensorboard')).scalars, tb.scalars);
  });
});
