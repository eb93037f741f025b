// Sweeps inside real VS Code: a sweep file with an error gets the engine's diagnostic at the right line (and the
// fix clears it); the example sweep (examples/toy2d.sbn-sweep.yaml, copied into the workspace) started from its
// ▶ Run Sweep lens runs in a `sweep` worker job; the Runs view shows the sweep as a group with its progress and its
// points' runs; the Sweep panel shows finished points (table rows and drawn charts, as the page reports them);
// Stop leaves the sweep resumable, and Resume Sweep is offered only then. Screenshot test-results/panel-sweep.png.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { suite, suiteSetup, suiteTeardown, test } from 'mocha';
import { ui } from './index';
import type { SbnStudioApi } from '../../src/extension/extension';
import type { Job } from '../../src/extension/runManager';
import type { RunsTreeItem, SweepItem } from '../../src/extension/runsTree';
import type { SweepPanelState } from '../../src/extension/panels/sweepPanel';
import { readSweepState } from '../../src/engine/sweeps';
import { sleep, until } from './wait';

const BAD_SWEEP = [
  'model: toy2d.sbn.json',
  'grid:',
  '  train.estimator: [psa, dste]',
  '  train.lrr: [0.01, 0.1]',
  'seeds: 2',
  '',
].join('\n');

/** A sweep group of the Runs view (the extension's class is not this bundle's: no instanceof). */
function isSweepItem(i: RunsTreeItem): i is SweepItem {
  return (i as Partial<SweepItem>).sweep !== undefined;
}

suite('Sweeps', () => {
  let api: SbnStudioApi;
  let folder: string;
  let job: Job | undefined;

  suiteSetup(async () => {
    api = (await vscode.extensions.getExtension('sbn-studio.sbn-studio')!.activate()) as SbnStudioApi;
    folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('notifications.clearAll');
  });

  suiteTeardown(async () => {
    if (job && api.runs.active.some((j) => j.id === job!.id)) {
      job.stop();
      await job.finished;
    }
  });

  test('a sweep file with an unknown field: a diagnostic at its line, in the engine’s words', async () => {
    const file = path.join(folder, 'bad.sbn-sweep.yaml');
    fs.writeFileSync(file, BAD_SWEEP);
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc, { preview: false });
    const diagnostics = await until('a diagnostic of the sweep file', () => {
      const d = vscode.languages.getDiagnostics(doc.uri).filter((x) => x.source === 'sbn');
      return d.length > 0 && d;
    });
    assert.strictEqual(diagnostics[0].range.start.line, 3, JSON.stringify(diagnostics.map((d) => d.message)));
    assert.match(diagnostics[0].message, /train\.lrr/);
    assert.match(diagnostics[0].message, /train\.lr\b/, 'a "did you mean" names the model field');
    assert.strictEqual(diagnostics[0].severity, vscode.DiagnosticSeverity.Error);
    // the lens says what is wrong instead of how many runs
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    assert.ok(
      lenses.some((l) => l.command?.title === '1 problem'),
      JSON.stringify(lenses.map((l) => l.command)),
    );
    const edit = new vscode.WorkspaceEdit();
    const at = doc.getText().indexOf('train.lrr');
    edit.replace(doc.uri, new vscode.Range(doc.positionAt(at), doc.positionAt(at + 'train.lrr'.length)), 'train.lr');
    assert.ok(await vscode.workspace.applyEdit(edit));
    await until('the diagnostic cleared', () => vscode.languages.getDiagnostics(doc.uri).length === 0);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    fs.rmSync(file, { force: true });
  });

  test('the example sweep from its ▶ Run Sweep lens: the Runs view group, the Sweep panel', async function () {
    this.timeout(400000);
    const file = path.join(folder, 'toy2d.sbn-sweep.yaml');
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc, { preview: false });
    const lenses = await until('the sweep file’s lenses', async () => {
      const l = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
      return l.some((x) => x.command?.command === 'sbn.runSweep') && l;
    });
    assert.ok(lenses.some((l) => l.command?.title === '18 runs (6 points × 3 seeds)'));
    const run = lenses.find((l) => l.command?.command === 'sbn.runSweep')!.command!;
    // the lens's command with its own argument (the document); the jobs count given, as the input box would
    job = await vscode.commands.executeCommand<Job>(run.command, ...((run.arguments ?? []) as unknown[]), { jobs: 2 });
    assert.ok(job, 'a sweep job started');
    assert.strictEqual(job.kind, 'sweep');
    const dir = job.runDir!;
    assert.strictEqual(path.dirname(dir), path.join(folder, 'sweeps'));
    assert.strictEqual(readSweepState(dir).points.length, 18);

    // the Runs view: the sweep as a group after the runs, its progress read from sweep.json as points finish
    const sweepItem = (): SweepItem | undefined =>
      api.tree.getChildren().find((i): i is SweepItem => isSweepItem(i) && i.sweep.dir === dir);
    const early = await until('the sweep group in the Runs view', () => sweepItem(), 30000);
    assert.match(String(early.description), /^done \d+\/18/);
    const end = await job.finished;
    assert.strictEqual(end.type, 'done', JSON.stringify(end));
    assert.strictEqual(end.type === 'done' && end.status, 'finished');
    const group = await until('the finished sweep in the Runs view', () => {
      const item = sweepItem();
      return item?.contextValue === 'sbnSweep.done' && item;
    });
    assert.match(String(group.description), /^done 18\/18 · 2 workers seen$/);
    const children: RunsTreeItem[] = api.tree.getChildren(group);
    assert.strictEqual(children.length, 18);
    assert.ok(children.every((c) => c.contextValue === 'sbnRun.finished'));

    // the Sweep panel (opened with the job): six rows, every point with its mean, both charts drawn
    const panel = await until(
      'the Sweep panel drawing the finished points',
      async () => {
        const s = await vscode.commands.executeCommand<SweepPanelState>('sbn.openSweep', dir);
        return s.finishedPoints === 6 && s.rendered?.extras?.finishedPoints === 6 && s.rendered.charts === 2 && s;
      },
      60000,
    );
    assert.strictEqual(panel.rows, 6);
    assert.deepStrictEqual(panel.errors, []);
    // lr chart: one line per estimator, 3 points each; estimator chart: one line per lr, 2 points each
    assert.strictEqual(
      Object.values(panel.rendered!.points).reduce((a, b) => a + b, 0),
      2 * 3 + 3 * 2,
      JSON.stringify(panel.rendered),
    );
    if (ui.available()) {
      await vscode.commands.executeCommand('notifications.clearAll');
      await sleep(700);
      await ui.screenshot('panel-sweep');
    }
    // nothing left: Resume is not offered
    assert.strictEqual(await vscode.commands.executeCommand('sbn.resumeSweep', dir, { jobs: 1 }), undefined);
  });

  test('Stop Sweep leaves the sweep resumable; Resume Sweep continues it', async function () {
    this.timeout(300000);
    // long points: the stop reaches them while they train
    const file = path.join(folder, 'long.sbn-sweep.yaml');
    fs.writeFileSync(
      file,
      'model: toy2d.sbn.json\ngrid:\n  train.lr: [0.01, 0.03]\nseeds: 2\noverrides:\n  train.epochs: 400\n',
    );
    job = await vscode.commands.executeCommand<Job>('sbn.runSweep', vscode.Uri.file(file), { jobs: 2 });
    assert.ok(job);
    const dir = job.runDir!;
    await until(
      'two points running',
      () => readSweepState(dir).points.filter((p) => p.status === 'running').length === 2,
      120000,
    );
    // Resume is not offered while it runs
    assert.strictEqual(await vscode.commands.executeCommand('sbn.resumeSweep', dir, { jobs: 1 }), undefined);
    assert.strictEqual(await vscode.commands.executeCommand('sbn.stopSweep', dir), true);
    const end = await job.finished;
    assert.strictEqual(end.type, 'done', JSON.stringify(end));
    assert.strictEqual(end.type === 'done' && end.status, 'stopped');
    const state = readSweepState(dir);
    assert.ok(
      state.points.every((p) => p.status === 'waiting'),
      JSON.stringify(state.points.map((p) => p.status)),
    );
    const stoppedRuns = state.points.filter((p) => fs.existsSync(path.join(dir, p.run, 'run.json')));
    assert.strictEqual(stoppedRuns.length, 2, 'the two points that ran have run folders to continue');
    const item = await until('the sweep resumable in the Runs view', () =>
      api.tree
        .getChildren()
        .find((i): i is SweepItem => isSweepItem(i) && i.sweep.dir === dir && i.contextValue === 'sbnSweep.resumable'),
    );
    assert.match(String(item.description), /waiting 4/);
    // resumed: the stopped points continue from their checkpoints (resumed, not started again)
    const resumed = await vscode.commands.executeCommand<Job>('sbn.resumeSweep', dir, { jobs: 1 });
    assert.ok(resumed, 'Resume Sweep offered for the stopped sweep');
    job = resumed;
    await until(
      'the resumed sweep running a point',
      () => readSweepState(dir).points.some((p) => p.status === 'running'),
      120000,
    );
    assert.strictEqual(await vscode.commands.executeCommand('sbn.stopSweep', dir), true);
    const end2 = await resumed.finished;
    assert.strictEqual(end2.type, 'done', JSON.stringify(end2));
    assert.ok(readSweepState(dir).points.every((p) => p.status === 'waiting'));
    fs.rmSync(file, { force: true });
  });
});
