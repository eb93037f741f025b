// The packaged extension: scripts/test-vsix.mjs builds the VSIX (npm run package), installs it into a fresh
// code-server extensions folder and runs this suite against that installed copy (SBN_VSCODE_PACKAGED=<its
// folder>, also the harness's SBN_VSCODE_EXTENSION). Without SBN_VSCODE_PACKAGED the suite is not defined, so the
// main run of scripts/test-vscode.mjs does not see it.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { suite, suiteSetup, test } from 'mocha';
import { RunManager, type Job } from '../../src/extension/runManager';
import { cacheRoot, TF_VERSION, type NativeManifest } from '../../src/engine/native/paths';

/** Training steps per second of a finished run: steps over the epochs' training time (summary.json). */
function stepRate(runDir: string): number {
  const s = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as {
    steps: number;
    epochs: number;
    secondsPerEpoch: number;
  };
  return s.steps / (s.epochs * s.secondsPerEpoch);
}

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
      assert.ok(
        !real(ext.extensionPath).startsWith(real(repoRoot) + path.sep),
        `${ext.extensionPath} is inside the repository`,
      );
      const manifest = ext.packageJSON as {
        version: string;
        scripts?: unknown;
        devDependencies?: unknown;
        main: string;
      };
      const repoVersion = (
        JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }
      ).version;
      assert.strictEqual(manifest.version, repoVersion);
      assert.strictEqual(manifest.scripts, undefined, 'the packaged manifest has no scripts');
      assert.strictEqual(manifest.devDependencies, undefined, 'the packaged manifest has no devDependencies');
      // everything is bundled: no node_modules, the wasm binaries beside the worker
      assert.ok(!fs.existsSync(path.join(ext.extensionPath, 'node_modules')), 'node_modules in the package');
      for (const f of [
        manifest.main,
        'dist/worker.js',
        'package.nls.json',
        'schemas/sbn-model.schema.json',
        'media/sbn-activity.svg',
      ]) {
        assert.ok(fs.existsSync(path.join(ext.extensionPath, f)), `${f} missing from the package`);
      }
      assert.ok(
        fs.readdirSync(path.join(ext.extensionPath, 'dist', 'wasm')).some((f) => f.endsWith('.wasm')),
        'no .wasm files in dist/wasm',
      );
    });

    const rates: Record<string, number> = {};

    test('Train Model trains the toy-2d example on the wasm backend', async () => {
      const job = await vscode.commands.executeCommand<Job>(
        'sbn.trainModel',
        vscode.Uri.file(path.join(folder, 'toy2d.sbn.json')),
      );
      assert.ok(job, 'sbn.trainModel returns its job');
      const end = await job.finished;
      assert.strictEqual(end.type === 'done' && end.status, 'finished', JSON.stringify(end));
      assert.strictEqual(job.backend, 'wasm', 'the backend the worker reported');
      const runDir = job.runDir!;
      assert.ok(runDir.startsWith(path.join(folder, 'runs') + path.sep), runDir);
      const status = JSON.parse(fs.readFileSync(path.join(runDir, 'status.json'), 'utf8')) as { status: string };
      assert.strictEqual(status.status, 'finished');
      const summary = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as {
        backend: string;
        estimator: string;
        last: { validation?: { acc_e: number } };
      };
      assert.strictEqual(summary.backend, 'wasm');
      assert.strictEqual(summary.estimator, 'psa');
      // the universal VSIX carries no native addon: PSA falls back to the TensorFlow.js kernels (and says so)
      const env = JSON.parse(fs.readFileSync(path.join(runDir, 'environment.json'), 'utf8')) as {
        kernels: string;
        kernelsPath: string | null;
      };
      assert.match(env.kernels, /^TensorFlow\.js ops \(native kernels not built/, env.kernels);
      assert.strictEqual(env.kernelsPath, null);
      assert.ok((summary.last.validation?.acc_e ?? 0) > 0.5, `validation acc_e ${summary.last.validation?.acc_e}`);
      rates.wasm = stepRate(runDir);
    });

    // The set-up builds against the libtensorflow that `npm install` extracted into the cache (sbn.libtensorflowPath
    // points there), so nothing is downloaded; the tfjs-node binding compiled for it is reused from that cache too.
    test('the MNIST template trains on the MNIST in the VSIX (no download, no native set-up)', async function () {
      this.timeout(300_000); // one epoch on 800 images, then the 10 000 test images evaluated, on single-threaded wasm
      const shipped = path.join(ext.extensionPath, 'dist', 'datasets', 'mnist');
      assert.deepStrictEqual(fs.readdirSync(shipped).sort(), [
        't10k-images-idx3-ubyte.gz',
        't10k-labels-idx1-ubyte.gz',
        'train-images-idx3-ubyte.gz',
        'train-labels-idx1-ubyte.gz',
      ]);
      const target = await vscode.commands.executeCommand<vscode.Uri>('sbn.newModelFile', 'MNIST MLP');
      assert.ok(target, 'sbn.newModelFile writes the template');
      // the template as it is, on 1000 examples for one epoch: the point is that the data loads and a run finishes
      // (edited through its open editor: Train Model reads the editor's text)
      const doc = await vscode.workspace.openTextDocument(target);
      const text = doc
        .getText()
        .replace('validation: 5000', 'validation: 200\n  limit: 1000')
        .replace('epochs: 5', 'epochs: 1');
      const edit = new vscode.WorkspaceEdit();
      edit.replace(target, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), text);
      assert.ok(await vscode.workspace.applyEdit(edit));
      assert.ok(await doc.save());
      const job = await vscode.commands.executeCommand<Job>('sbn.trainModel', target);
      assert.ok(job, 'sbn.trainModel starts a job: no download was needed');
      const end = await job.finished;
      assert.strictEqual(end.type === 'done' && end.status, 'finished', JSON.stringify(end));
      const summary = JSON.parse(fs.readFileSync(path.join(job.runDir!, 'summary.json'), 'utf8')) as {
        backend: string;
        last: { validation?: { acc_e: number } };
      };
      assert.strictEqual(summary.backend, 'wasm');
      assert.ok(
        (summary.last.validation?.acc_e ?? 0) > 0.3,
        `validation acc_e ${summary.last.validation?.acc_e} after one epoch on 800 MNIST images`,
      );
    });

    test('SBN: Set Up Native Backend, then tensorflow + native kernels as fast as the checkout', async function () {
      this.timeout(900_000);
      const lt = process.env.SBN_LIBTENSORFLOW ?? path.join(cacheRoot(), `libtensorflow-${TF_VERSION}`);
      if (!fs.existsSync(path.join(lt, 'lib'))) {
        console.log(`    (no libtensorflow in ${lt}: npm install extracts it; skipping)`);
        this.skip();
      }
      const wide = path.join(folder, 'toy2d-wide.sbn.json');
      const model = JSON.parse(fs.readFileSync(path.join(folder, 'toy2d.sbn.json'), 'utf8')) as {
        name: string;
        layers: { units: number }[];
        train: Record<string, unknown>;
      };
      model.name = 'toy2d-wide';
      model.layers = model.layers.map((l) => ({ ...l, units: 256 }));
      model.train = { ...model.train, batchSize: 40, epochs: 40 };
      fs.writeFileSync(wide, JSON.stringify(model, null, 2));
      // before the set-up: the wide model on wasm
      const wasmWide = await vscode.commands.executeCommand<Job>('sbn.trainModel', vscode.Uri.file(wide));
      const wasmEnd = await wasmWide.finished;
      assert.strictEqual(wasmEnd.type === 'done' && wasmEnd.status, 'finished', JSON.stringify(wasmEnd));
      assert.strictEqual(wasmWide.backend, 'wasm');
      rates.wasmWide = stepRate(wasmWide.runDir!);

      await vscode.workspace.getConfiguration('sbn').update('libtensorflowPath', lt, vscode.ConfigurationTarget.Global);
      const t0 = Date.now();
      const manifest = await vscode.commands.executeCommand<NativeManifest | undefined>('sbn.setupNativeBackend');
      assert.ok(manifest, 'the set-up failed (see the SBN Studio log)');
      console.log(
        `    set-up in ${((Date.now() - t0) / 1000).toFixed(1)} s: ` +
          `libtensorflow ${manifest.libtensorflow.version} (${manifest.libtensorflow.source}), ` +
          `devices ${manifest.check.devices.map((d) => d.type).join(', ')}, kernels ${manifest.check.kernels?.isa}`,
      );
      assert.strictEqual(manifest.libtensorflow.version, TF_VERSION);
      assert.strictEqual(manifest.libtensorflow.source, 'path');
      assert.ok(
        manifest.check.devices.some((d) => d.type === 'CPU'),
        JSON.stringify(manifest.check.devices),
      );

      // a new run, without a reload, uses it
      const job = await vscode.commands.executeCommand<Job>(
        'sbn.trainModel',
        vscode.Uri.file(path.join(folder, 'toy2d.sbn.json')),
      );
      const end = await job.finished;
      assert.strictEqual(end.type === 'done' && end.status, 'finished', JSON.stringify(end));
      assert.strictEqual(job.backend, 'tensorflow');
      const env = JSON.parse(fs.readFileSync(path.join(job.runDir!, 'environment.json'), 'utf8')) as {
        backend: string;
        kernels: string;
        kernelsKind: string;
        kernelsPath: string;
        native: { origin: string; libtensorflow: { version: string }; devices: { type: string }[] } | null;
      };
      assert.strictEqual(env.backend, 'tensorflow');
      assert.strictEqual(env.kernelsKind, 'native', env.kernels);
      assert.match(env.kernels, /^native \((avx512|avx2|scalar), \d+ threads?(, OpenBLAS dense step, \w+ kernels)?\)$/);
      // the kernels of the set-up folder (<dir>/kernels/build/Release/sbn_kernels.node beside <dir>/manifest.json)
      const setupDir = path.resolve(env.kernelsPath, '..', '..', '..', '..');
      assert.ok(fs.existsSync(path.join(setupDir, 'manifest.json')), env.kernelsPath);
      assert.ok(!env.kernelsPath.startsWith(ext.extensionPath), env.kernelsPath);
      assert.strictEqual(env.native?.origin, 'setup');
      assert.strictEqual(env.native?.libtensorflow.version, TF_VERSION);
      assert.ok(env.native?.devices.some((d) => d.type === 'CPU'));
      // the Runs view says what ran
      const tree = (ext.exports as { tree: { getChildren(): vscode.TreeItem[] } }).tree;
      const item = tree.getChildren().find((i) => path.resolve(i.id ?? '') === path.resolve(job.runDir!));
      assert.ok(item, 'the run is in the Runs view');
      assert.match(String(item.description), /tensorflow \+ native kernels/);
      // the tooltip shows workspace text escaped (untrustedText.ts): compare it as displayed
      assert.match(
        (item.tooltip as vscode.MarkdownString).value.replace(/\\(.)/g, '$1'),
        /backend: tensorflow \(libtensorflow 2\.21\.0\) from native set-up, on CPU/,
      );

      // Speed: the installed extension's worker (its set-up) against the checkout's (dist/worker.js: node_modules'
      // tfjs-node, native/build's kernels), each forked the same way by a RunManager of its own with nothing listening,
      // on the same model and steps, alternated (best of two each: the machine is shared). Also through the
      // extension's own run manager, as a user trains: its dashboard opens and draws every step on the same 2 cores.
      // toy2d's 16-unit layers measure per-op overhead; a 256-unit variant measures the arithmetic.
      const speedLog = vscode.window.createOutputChannel('SBN speed comparison (test)', { log: true });
      const checkoutRuns = new RunManager(
        path.join(repoRoot, 'dist', 'worker.js'),
        speedLog,
        () => 10_000,
        () => ({ SBN_NATIVE_DIR: '' }),
      );
      const installedRuns = new RunManager(
        path.join(ext.extensionPath, 'dist', 'worker.js'),
        speedLog,
        () => 10_000,
        () => ({ SBN_NATIVE_DIR: setupDir }),
      );
      const extensionRuns = (ext.exports as { runs: RunManager }).runs;
      const runsRoot = fs.mkdtempSync(path.join(folder, 'speed-runs-'));
      const trainWith = async (manager: RunManager, modelFile: string) => {
        const j = manager.start(
          {
            type: 'train',
            modelFile,
            modelText: fs.readFileSync(modelFile, 'utf8'),
            overrides: {},
            runsRoot,
            backend: 'tensorflow',
          },
          `speed ${path.basename(modelFile)}`,
        );
        const e = await j.finished;
        assert.strictEqual(e.type === 'done' && e.status, 'finished', JSON.stringify(e));
        const env = JSON.parse(fs.readFileSync(path.join(j.runDir!, 'environment.json'), 'utf8')) as {
          native: { origin: string } | null;
          kernelsKind: string;
        };
        return { env, rate: stepRate(j.runDir!) };
      };
      const best: Record<'installed' | 'checkout' | 'extension', { toy: number; wide: number }> = {
        installed: { toy: 0, wide: 0 },
        checkout: { toy: 0, wide: 0 },
        extension: { toy: 0, wide: 0 },
      };
      try {
        for (let round = 0; round < 2; round++) {
          for (const [who, manager, origin] of [
            ['installed', installedRuns, 'setup'],
            ['checkout', checkoutRuns, 'checkout'],
            ['extension', extensionRuns, 'setup'],
          ] as const) {
            for (const [key, file] of [
              ['toy', path.join(folder, 'toy2d.sbn.json')],
              ['wide', wide],
            ] as const) {
              const r = await trainWith(manager, file);
              assert.strictEqual(r.env.native?.origin, origin, `${who}: ${JSON.stringify(r.env.native)}`);
              assert.strictEqual(r.env.kernelsKind, 'native', who);
              best[who][key] = Math.max(best[who][key], r.rate);
            }
          }
        }
      } finally {
        checkoutRuns.dispose();
        installedRuns.dispose();
        speedLog.dispose();
      }
      const line = (key: 'toy' | 'wide', wasm: number | undefined) =>
        `installed VSIX native ${best.installed[key].toFixed(1)}, checkout native ${best.checkout[key].toFixed(1)} ` +
        `(installed/checkout ${(best.installed[key] / best.checkout[key]).toFixed(2)}); ` +
        `through the extension with its dashboard open ${best.extension[key].toFixed(1)}; ` +
        `installed VSIX on wasm ${wasm?.toFixed(1) ?? '?'}`;
      console.log(`    steps/s, toy2d (2×16 units, batch 10, 320 steps): ${line('toy', rates.wasm)}`);
      console.log(`    steps/s, toy2d-wide (2×256 units, batch 40, 160 steps): ${line('wide', rates.wasmWide)}`);
      // the same binding, libtensorflow and kernels run in both: only noise separates them
      for (const key of ['toy', 'wide'] as const) {
        assert.ok(
          best.installed[key] > 0.6 * best.checkout[key],
          `${key}: installed ${best.installed[key].toFixed(1)} steps/s vs checkout ${best.checkout[key].toFixed(1)}`,
        );
      }
    });
  });
}
