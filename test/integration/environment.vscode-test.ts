// SBN: Show Environment inside real VS Code: run from the Command Palette, the panel shows each backend (and why it
// loads or not) and the data sets with where they are found; Copy as JSON puts the report, VS Code version included,
// on the clipboard. State through `sbn.panelState`; screenshot test-results/panel-environment.png. And a model file
// whose data set is missing: Train Model offers the download (from a mirror on 127.0.0.1 that this file starts,
// serving Debian's Fashion-MNIST files), which lands in the extension's global storage, then the run starts.
import * as assert from 'assert';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { suite, suiteSetup, test } from 'mocha';
import { ui } from './index';
import type { PanelState } from '../../src/extension/panels/runPanel';
import type { EnvironmentPanelState } from '../../src/extension/panels/environmentPanel';
import type { EnvironmentReport } from '../../src/environmentReport';
import type { Job } from '../../src/extension/runManager';
import { sleep, until } from './wait';

async function environmentState(): Promise<EnvironmentPanelState | undefined> {
  const all = await vscode.commands.executeCommand<PanelState[]>('sbn.panelState');
  return all.find((p): p is EnvironmentPanelState => p.kind === 'environment');
}

const FRAMES = ['iframe.webview.ready:visible', 'iframe#active-frame'];

suite('environment', () => {
  suiteSetup(async () => {
    await vscode.extensions.getExtension('sbn-studio.sbn-studio')!.activate();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('notifications.clearAll');
  });

  test('SBN: Show Environment shows the backends and the data sets, computed in a worker', async () => {
    if (ui.available()) await ui.runFromPalette('SBN: Show Environment');
    else void vscode.commands.executeCommand('sbn.showEnvironment');
    const s = await until(
      'the report drawn',
      async () => {
        const p = await environmentState();
        return p?.status === 'done' && p.rendered?.extras?.backends === 3 ? p : undefined;
      },
      120_000,
    );
    assert.strictEqual(s.rendered?.extras?.datasets, 3);
    assert.ok((s.rendered?.extras?.backendsLoading ?? 0) >= 2, 'wasm and cpu load at least');
    assert.deepStrictEqual(s.errors, []);
    if (ui.available()) {
      const backends = (await ui.text({ selector: '#backends', frames: FRAMES })).join(' ');
      for (const b of ['tensorflow', 'wasm', 'cpu'])
        assert.ok(backends.includes(b), `${b} in the backends table: ${backends}`);
      assert.match(backends, /wasm\s*yes\s*wasm \(/);
      const datasets = (await ui.text({ selector: '#datasets', frames: FRAMES })).join(' ');
      assert.match(datasets, /mnist.*fashion-mnist.*cifar10/s);
      assert.match(datasets, /data-set store \(.*datasets/, 'the extension\u2019s store is searched');
      const header = (await ui.text({ selector: 'header', frames: FRAMES })).join(' ');
      assert.ok(header.includes(vscode.version), `VS Code ${vscode.version} in the header: ${header}`);

      await vscode.env.clipboard.writeText('');
      await ui.click({ selector: '#copy-json', frames: FRAMES });
      const copied = await until(
        'the report on the clipboard',
        async () => (await vscode.env.clipboard.readText()) || undefined,
        10_000,
      );
      const report = JSON.parse(copied) as EnvironmentReport;
      assert.strictEqual(report.schema, 'sbn-environment/1');
      assert.strictEqual(report.vscode?.version, vscode.version);
      assert.deepStrictEqual(
        report.backends.map((b) => b.name),
        ['tensorflow', 'wasm', 'cpu'],
      );
      assert.ok(report.dataStores.searched[0].endsWith('datasets'), report.dataStores.searched[0]);

      await vscode.commands.executeCommand('notifications.clearAll');
      await sleep(600);
      await ui.screenshot('panel-environment');
    }
    // Refresh: a second report
    const before = (await environmentState())!.reports;
    const again = await vscode.commands.executeCommand<EnvironmentPanelState>('sbn.showEnvironment');
    assert.strictEqual(again.status, 'done');
    assert.strictEqual(again.reports, before + 1);
  });

  const fashion = '/usr/share/datasets/fashion-mnist';
  test('Train Model offers to download a missing data set into global storage, then trains', async function () {
    if (!ui.available() || !fs.existsSync(fashion)) this.skip();
    this.timeout(180_000);
    // the mirror: Debian's Fashion-MNIST files (the same content as Zalando's, so the catalog's checksums pass)
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const file = path.join(fashion, path.basename(req.url ?? ''));
      if (!fs.existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Length': fs.statSync(file).size });
      fs.createReadStream(file).pipe(res);
    });
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
    );
    const config = vscode.workspace.getConfiguration('sbn');
    await config.update('dataMirror', `http://127.0.0.1:${port}/`, vscode.ConfigurationTarget.Global);
    // this window's engine (diagnostics, workers) then finds no Fashion-MNIST: not Debian's, not in the empty stores
    const keep = process.env.SBN_FASHION_MNIST_DIR;
    process.env.SBN_FASHION_MNIST_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-no-fashion-'));
    const store = process.env.SBN_DATA_DIR!;
    assert.ok(
      store && !fs.existsSync(path.join(store, 'fashion-mnist')),
      `the extension's store ${store} starts empty`,
    );
    try {
      const file = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'fashion-small.sbn.json');
      fs.writeFileSync(
        file,
        JSON.stringify(
          {
            name: 'fashion-small',
            input: { shape: [784] },
            layers: [{ type: 'dense', units: 16 }],
            output: { units: 10, loss: 'nll' },
            data: { dataset: 'fashion-mnist', validation: 100, limit: 500 },
            train: { estimator: 'psa', lr: 0.01, batchSize: 50, epochs: 1 },
          },
          null,
          2,
        ),
      );
      await vscode.commands.executeCommand('notifications.clearAll');
      const started = vscode.commands.executeCommand<Job | undefined>('sbn.trainModel', vscode.Uri.file(file));
      await ui.click({ selector: '.notifications-toasts .monaco-button:has-text("Download")', timeout: 20_000 });
      const job = await started;
      assert.ok(job, 'the run starts once the data set is there');
      assert.deepStrictEqual(requests.sort(), [
        '/t10k-images-idx3-ubyte.gz',
        '/t10k-labels-idx1-ubyte.gz',
        '/train-images-idx3-ubyte.gz',
        '/train-labels-idx1-ubyte.gz',
      ]);
      assert.deepStrictEqual(fs.readdirSync(path.join(store, 'fashion-mnist')).sort(), [
        't10k-images-idx3-ubyte.gz',
        't10k-labels-idx1-ubyte.gz',
        'train-images-idx3-ubyte.gz',
        'train-labels-idx1-ubyte.gz',
      ]);
      const end = await job.finished;
      assert.strictEqual(end.type === 'done' && end.status, 'finished', JSON.stringify(end));
    } finally {
      if (keep === undefined) delete process.env.SBN_FASHION_MNIST_DIR;
      else process.env.SBN_FASHION_MNIST_DIR = keep;
      await config.update('dataMirror', undefined, vscode.ConfigurationTarget.Global);
      server.close();
    }
  });
});
