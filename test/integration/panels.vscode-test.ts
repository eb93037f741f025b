// The webview panels inside real VS Code: training the toy-2d example with gradient diagnostics on opens the
// training dashboard by itself; the dashboard, gradient-diagnostics and layer-statistics panels receive their data
// (read back through the `sbn.panelState` command: what each page reported it drew), a hidden panel gets no
// messages and a revealed one a fresh snapshot, the serializer restores a panel from its state, and the dashboard's
// Stop button stops its run. Each panel in the light and the dark theme: screenshots
// test-results/panel-<kind>-<light|dark>.png, decoded here and checked to be neither blank nor in the other theme.
// Screenshots: test-results/panel-*.png (or the harness's --screenshots folder).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import * as vscode from 'vscode';
import { suite, suiteSetup, test } from 'mocha';
import { ui } from './index';
import type { SbnStudioApi } from '../../src/extension/extension';
import type { Job } from '../../src/extension/runManager';
import type { PanelState } from '../../src/extension/panels/runPanel';
import { TrainingDashboardPanel } from '../../src/extension/panels/dashboardPanel';
import { RunStore } from '../../src/engine/runs';
import { sleep, until } from './wait';

let api: SbnStudioApi;
let folder: string;
let runDir: string;

async function panelState(kind: PanelState['kind'], dir = runDir): Promise<PanelState | undefined> {
  const all = await vscode.commands.executeCommand<PanelState[]>('sbn.panelState');
  return all.find((p) => p.kind === kind && path.resolve(p.runDir) === path.resolve(dir));
}

/** The visible webview's page (two iframes deep). */
const WEBVIEW = ['iframe.webview.ready:visible', 'iframe#active-frame'];

/** A full-window screenshot once the visible panel has drawn its charts (skipped without the harness's browser). */
async function shot(name: string, selector = '.uplot canvas'): Promise<void> {
  if (!ui.available()) return;
  await vscode.commands.executeCommand('notifications.clearAll');
  await ui.waitFor({ selector, frames: WEBVIEW, timeout: 20_000 });
  await sleep(600); // let the last frame and the tab's fade settle
  await ui.screenshot(name);
}

/** An 8-bit, non-interlaced RGB or RGBA PNG (what chromium's screenshots are) decoded to RGBA pixels. */
function readPng(bytes: Buffer): { width: number; height: number; rgba: Uint8Array } {
  assert.ok(bytes.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10])), 'a PNG signature');
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (let o = 8; o < bytes.length;) {
    const len = bytes.readUInt32BE(o);
    const type = bytes.toString('latin1', o + 4, o + 8);
    const data = bytes.subarray(o + 8, o + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      const color = data[9];
      assert.ok(
        depth === 8 && (color === 2 || color === 6) && data[12] === 0,
        `PNG depth ${depth}, colour type ${color}, interlace ${data[12]}`,
      );
      channels = color === 6 ? 4 : 3;
    } else if (type === 'IDAT') {
      idat.push(data);
    }
    o += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? px[y * stride + i - channels] : 0;
      const b = y > 0 ? px[(y - 1) * stride + i] : 0;
      const c = i >= channels && y > 0 ? px[(y - 1) * stride + i - channels] : 0;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      px[y * stride + i] = (line[i] + pred) & 255;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba[i * 4] = px[i * channels];
    rgba[i * 4 + 1] = px[i * channels + 1];
    rgba[i * 4 + 2] = px[i * channels + 2];
    rgba[i * 4 + 3] = channels === 4 ? px[i * channels + 3] : 255;
  }
  return { width, height, rgba };
}

/** Luminance mean and standard deviation, and distinct colours (to 4 bits per channel), in a part of an image. */
function regionStats(
  img: { width: number; height: number; rgba: Uint8Array },
  r: { x0: number; x1: number; y0: number; y1: number },
): { mean: number; std: number; colors: number } {
  let n = 0;
  let sum = 0;
  let sum2 = 0;
  const colors = new Set<number>();
  for (let y = Math.floor(r.y0 * img.height); y < Math.floor(r.y1 * img.height); y++) {
    for (let x = Math.floor(r.x0 * img.width); x < Math.floor(r.x1 * img.width); x++) {
      const i = (y * img.width + x) * 4;
      const l = 0.2126 * img.rgba[i] + 0.7152 * img.rgba[i + 1] + 0.0722 * img.rgba[i + 2];
      n++;
      sum += l;
      sum2 += l * l;
      colors.add(((img.rgba[i] >> 4) << 8) | ((img.rgba[i + 1] >> 4) << 4) | (img.rgba[i + 2] >> 4));
    }
  }
  const mean = sum / n;
  return { mean, std: Math.sqrt(Math.max(0, sum2 / n - mean * mean)), colors: colors.size };
}

function writeModel(name: string, content: unknown): vscode.Uri {
  const file = path.join(folder, name);
  fs.writeFileSync(file, JSON.stringify(content, null, 2));
  return vscode.Uri.file(file);
}

const TOY_DIAG = {
  name: 'toy2d-diag',
  input: { shape: [2] },
  states: 'pm1',
  layers: [
    { type: 'dense', units: 16 },
    { type: 'dense', units: 16 },
  ],
  output: { units: 1, loss: 'logistic' },
  data: { dataset: 'toy-2d', validation: 40 },
  train: { estimator: 'psa', lr: 0.03, batchSize: 10, epochs: 24, evalSamples: 10, logInterval: 4, evalInterval: 16 },
  diagnostics: { interval: 5, budgetSeconds: 1, draws: 40 },
};

suite('Panels: training dashboard, gradient diagnostics, layer statistics', () => {
  suiteSetup(async () => {
    api = await vscode.extensions.getExtension<SbnStudioApi>('sbn-studio.sbn-studio')!.activate();
    folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('workbench.action.closePanel');
  });

  test('training with diagnostics opens the dashboard beside the model; it fills while the run trains', async () => {
    const uri = writeModel('toy2d-diag.sbn.json', TOY_DIAG);
    await vscode.window.showTextDocument(uri, { preview: false });
    const job = await vscode.commands.executeCommand<Job>('sbn.trainModel', uri);
    assert.ok(job);
    let ended = false;
    void job.finished.then(() => {
      ended = true;
    });
    runDir = await until('the run folder', () => job.runDir);
    // opened by itself, beside the model file, without taking the focus
    const dash = await until('the dashboard', () => api.panels.get('dashboard', runDir));
    assert.strictEqual(vscode.window.activeTextEditor?.document.uri.fsPath, uri.fsPath, 'the editor keeps the focus');
    const live = await until('live charts', async () => {
      const s = await panelState('dashboard');
      return s?.rendered && (s.rendered.points.objective ?? 0) >= 3 ? s : undefined;
    });
    if (!ended) {
      await shot('panel-dashboard-live');
      await until('deltas while training', async () => ((await panelState('dashboard'))?.deltas ?? 0) > 0 || ended);
    }
    assert.ok(live.snapshots >= 1);
    const end = await job.finished;
    assert.strictEqual(end.type === 'done' && end.status, 'finished', JSON.stringify(end));
    // the last records and the finished status reach the page
    const done = await until(
      'the finished run drawn',
      async () => {
        const s = await panelState('dashboard');
        const n = s?.rendered?.points;
        return n && (n['validation/acc_e'] ?? 0) >= 20 && (n.objective ?? 0) >= 80 ? s : undefined;
      },
      20_000,
    );
    for (const k of [
      'objective',
      'stepsPerSecond',
      'train/u_loss',
      'validation/u_loss',
      'train/acc1',
      'validation/acc_e',
    ]) {
      assert.ok((done.rendered!.points[k] ?? 0) > 0, `${k} drawn: ${JSON.stringify(done.rendered!.points)}`);
    }
    // lr 0.03 throughout: a fact of the header, not a chart; 24 epochs: the epoch-mean dots start off
    assert.strictEqual(done.rendered!.extras?.lrChart, 0, JSON.stringify(done.rendered));
    assert.strictEqual(done.rendered!.points.lr, undefined);
    assert.strictEqual(done.rendered!.extras?.epochMeans, 0);
    assert.strictEqual(done.rendered!.points.epochObjective, undefined);
    assert.ok(done.rendered!.charts >= 4, `${done.rendered!.charts} charts`);
    assert.deepStrictEqual(done.errors, []);
    if (ui.available()) {
      const head = (await ui.text({ selector: '.run-header .facts', frames: WEBVIEW })).join(' ');
      assert.match(head, /lr\s*0\.03 constant/, head);
      // the toggle in the loss chart's title row brings the dots back, and takes them away again
      assert.strictEqual(await ui.count({ selector: '[data-chart="loss"] #epoch-means', frames: WEBVIEW }), 1);
      for (const on of [1, 0]) {
        await ui.click({ selector: '#epoch-means', frames: WEBVIEW });
        const s = await until(`epoch means ${on ? 'on' : 'off'}`, async () => {
          const p = await panelState('dashboard');
          return p?.rendered?.extras?.epochMeans === on ? p : undefined;
        });
        assert.strictEqual((s.rendered!.points.epochObjective ?? 0) > 0, on === 1, JSON.stringify(s.rendered));
      }
    }
    assert.strictEqual(dash.runDir, path.resolve(runDir));
    // the dashboard alone in the window, for a screenshot
    await vscode.commands.executeCommand('workbench.action.joinAllGroups');
    dash.reveal(false);
    await until('the dashboard visible', async () => (await panelState('dashboard'))?.visible);
    await shot('panel-dashboard');
  });

  test(
    'the gradient-diagnostics panel draws every estimator per layer, ' + 'over M and over training, with the table',
    async () => {
      const state = await vscode.commands.executeCommand<PanelState>('sbn.openDiagnostics', runDir);
      assert.strictEqual(state.kind, 'diagnostics');
      const s = await until(
        'diagnostics drawn',
        async () => {
          const p = await panelState('diagnostics');
          return p?.rendered && (p.rendered.extras?.passes ?? 0) > 10 && (p.rendered.extras?.tableRows ?? 0) > 0
            ? p
            : undefined;
        },
        30_000,
      );
      const keys = Object.keys(s.rendered!.points);
      for (const e of ['psa', 'dste', 'reinforce', 'arm']) {
        assert.ok(keys.includes(`diag/cos/dense1/${e}`), `${e} over training: ${keys.join(', ')}`);
        assert.ok(keys.includes(`m/rmse/dense2/${e}`), `${e} against M`);
      }
      assert.ok(s.rendered!.points['diag/cos/dense1/psa'] > 10);
      // 3 layers × 4 estimators
      assert.strictEqual(s.rendered!.extras?.tableRows, 12);
      assert.ok(s.rendered!.charts >= 12, `${s.rendered!.charts} charts`);
      assert.deepStrictEqual(s.errors, []);
      if (ui.available()) {
        const ref = await ui.text({ selector: '.reference', frames: WEBVIEW });
        assert.match(ref.join(' '), /Reference: (the exact|an unbiased mean)/);
      }
      await shot('panel-diagnostics');
    },
  );

  test(
    'the layer-statistics panel draws per-layer curves ' + 'and the pre-activation, firing-rate and weight heatmaps',
    async () => {
      await vscode.commands.executeCommand('sbn.openLayerStats', runDir);
      const s = await until(
        'layer statistics drawn',
        async () => {
          const p = await panelState('layers');
          // two hidden layers: pre-activations and firing rates of each, weights of those and the output layer
          return p?.rendered && (p.rendered.extras?.heatmaps ?? 0) === 7 ? p : undefined;
        },
        30_000,
      );
      assert.ok((s.rendered!.points['layer/firingRate/dense1'] ?? 0) > 10, JSON.stringify(s.rendered!.points));
      assert.ok((s.rendered!.points['layer/gradNorm/output'] ?? 0) > 10);
      assert.ok((s.rendered!.extras?.histogramColumns ?? 0) > 20);
      // every heatmap has its colour bar, which (not a word about brightness) says what the colours mean
      assert.strictEqual(s.rendered!.extras?.colorBars, 7, JSON.stringify(s.rendered!.extras));
      assert.deepStrictEqual(s.errors, []);
      if (ui.available()) {
        const captions = await ui.text({ selector: '.colorbar-caption', frames: WEBVIEW });
        assert.strictEqual(captions.length, 7);
        for (const c of captions) assert.match(c, /share of its column's largest count/);
        const ticks = await ui.text({ selector: '.colorbar-ticks', frames: WEBVIEW });
        for (const t of ticks) assert.match(t, /^0 %.*100 %$/);
        const page = (await ui.text({ selector: 'main', frames: WEBVIEW })).join(' ');
        assert.doesNotMatch(page, /brighter/i);
      }
      await shot('panel-layers', 'canvas.heatmap');
    },
  );

  test(
    'the Fashion conv example: ' + 'dashboard, gradient diagnostics and layer statistics all fill while it trains',
    async function () {
      if (!fs.existsSync(process.env.SBN_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist')) this.skip();
      this.timeout(240_000);
      // the example as shipped, shortened: 640 training images, one epoch, a diagnostics pass every 5 steps
      const text = fs
        .readFileSync(path.join(folder, 'fashion-conv-psa.sbn.yaml'), 'utf8')
        .replace('validation: 5000', 'validation: 200\n  limit: 640')
        .replace(/epochs: 5/, 'epochs: 1')
        .replace('interval: 300', 'interval: 5')
        .replace('budgetSeconds: 4', 'budgetSeconds: 1')
        .replace('logInterval: 20', 'logInterval: 2');
      const uri = vscode.Uri.file(path.join(folder, 'fashion-short.sbn.yaml'));
      fs.writeFileSync(uri.fsPath, text);
      const job = await vscode.commands.executeCommand<Job>('sbn.trainModel', uri);
      const dir = await until('the run folder', () => job.runDir);
      // each panel draws while it is visible (hidden panels are sent nothing): open them one after the other
      await until(
        'the dashboard drawn',
        async () => ((await panelState('dashboard', dir))?.rendered?.points.objective ?? 0) >= 2,
        120_000,
      );
      await vscode.commands.executeCommand('sbn.openDiagnostics', dir);
      await until(
        'the diagnostics drawn',
        async () => ((await panelState('diagnostics', dir))?.rendered?.points['diag/cos/conv1/psa'] ?? 0) >= 1,
        120_000,
      );
      await vscode.commands.executeCommand('sbn.openLayerStats', dir);
      // conv1, conv2, dense4: pre-activations and firing rates; those and the output layer: weights
      await until(
        'the layer statistics drawn',
        async () => ((await panelState('layers', dir))?.rendered?.extras?.heatmaps ?? 0) === 10,
        120_000,
      );
      const end = await job.finished;
      assert.strictEqual(end.type, 'done', JSON.stringify(end));
      // (the Active Run view may be a second visible webview here: take the picture without waiting on one frame)
      if (ui.available()) {
        await sleep(600);
        await ui.screenshot('panel-fashion-layers');
      }
    },
  );

  test('light and dark themes: each panel redraws in the theme; screenshots, checked not blank', async function () {
    // screenshots need the harness's browser (scripts/test-vscode.mjs)
    if (!ui.available()) this.skip();
    this.timeout(240_000);
    const config = vscode.workspace.getConfiguration();
    const original = config.inspect<string>('workbench.colorTheme')?.globalValue;
    const PANELS: { kind: PanelState['kind']; selector: string; drawn(s: PanelState): boolean }[] = [
      {
        kind: 'dashboard',
        selector: '.uplot canvas',
        drawn: (s) => (s.rendered?.charts ?? 0) >= 4 && (s.rendered?.points.objective ?? 0) > 0,
      },
      {
        kind: 'diagnostics',
        selector: '.uplot canvas',
        drawn: (s) => (s.rendered?.charts ?? 0) >= 12 && (s.rendered?.extras?.tableRows ?? 0) > 0,
      },
      {
        kind: 'layers',
        selector: 'canvas.heatmap',
        drawn: (s) =>
          (s.rendered?.extras?.heatmaps ?? 0) === 7 && (s.rendered?.points['layer/firingRate/dense1'] ?? 0) > 0,
      },
    ];
    const THEMES = [
      { id: 'Default Light Modern', name: 'light', kind: vscode.ColorThemeKind.Light },
      { id: 'Default Dark Modern', name: 'dark', kind: vscode.ColorThemeKind.Dark },
    ];
    const seen: Record<string, { mean: number; std: number; colors: number }> = {};
    try {
      await vscode.commands.executeCommand('workbench.action.joinAllGroups');
      for (const theme of THEMES) {
        const since = Date.now();
        await config.update('workbench.colorTheme', theme.id, vscode.ConfigurationTarget.Global);
        await until(`the ${theme.name} theme`, () => vscode.window.activeColorTheme.kind === theme.kind, 20_000);
        for (const p of PANELS) {
          api.panels.get(p.kind, runDir)!.reveal(false);
          // a hidden panel reloads on reveal; the visible one redraws on the theme change: both report after `since`
          const s = await until(
            `${p.kind} drawn in the ${theme.name} theme`,
            async () => {
              const st = await panelState(p.kind);
              return st?.visible && st.rendered && st.rendered.at >= since && p.drawn(st) ? st : undefined;
            },
            30_000,
          );
          assert.deepStrictEqual(s.errors, []);
          await vscode.commands.executeCommand('notifications.clearAll');
          await ui.waitFor({ selector: p.selector, frames: WEBVIEW, timeout: 20_000 });
          await sleep(800); // the theme transition and the last frame
          const file = await ui.screenshot(`panel-${p.kind}-${theme.name}`);
          const img = readPng(fs.readFileSync(file));
          // the editor area (right of the side bar, below the tabs, above the status bar): the panel's page
          const st = regionStats(img, { x0: 0.3, x1: 0.97, y0: 0.12, y1: 0.92 });
          seen[`${p.kind}-${theme.name}`] = st;
          assert.ok(
            st.std > 6 && st.colors >= 24,
            `panel-${p.kind}-${theme.name}.png looks blank: ${JSON.stringify(st)}`,
          );
          if (theme.name === 'light')
            assert.ok(st.mean > 170, `panel-${p.kind}-light.png is not light: ${JSON.stringify(st)}`);
          else assert.ok(st.mean < 90, `panel-${p.kind}-dark.png is not dark: ${JSON.stringify(st)}`);
        }
      }
    } finally {
      await config.update('workbench.colorTheme', original, vscode.ConfigurationTarget.Global);
    }
    console.log(`theme screenshots (editor area luminance mean/std, colours): ${JSON.stringify(seen)}`);
  });

  test('a hidden panel is sent nothing; shown again, it gets a fresh snapshot and draws everything again', async () => {
    const dash = api.panels.get('dashboard', runDir)!;
    dash.reveal(false);
    await until('dashboard visible', async () => (await panelState('dashboard'))?.visible);
    const before = (await panelState('dashboard'))!;
    // hide it behind a text editor in the same group
    await vscode.window.showTextDocument(vscode.Uri.file(path.join(folder, 'toy2d-diag.sbn.json')), {
      viewColumn: dash.panel.viewColumn,
      preview: false,
    });
    await until('dashboard hidden', async () => (await panelState('dashboard'))?.visible === false);
    const hidden = (await panelState('dashboard'))!;
    await sleep(1500);
    const stillHidden = (await panelState('dashboard'))!;
    assert.strictEqual(
      stillHidden.snapshots + stillHidden.deltas,
      hidden.snapshots + hidden.deltas,
      'nothing is posted while hidden',
    );
    dash.reveal(false);
    const shown = await until(
      'a fresh snapshot after the reveal',
      async () => {
        const s = await panelState('dashboard');
        return s && s.visible && s.snapshots > before.snapshots && s.rendered && s.rendered.at > before.rendered!.at
          ? s
          : undefined;
      },
      20_000,
    );
    assert.deepStrictEqual(shown.rendered!.points, before.rendered!.points, 'the reloaded page draws the same series');
    await shot('panel-dashboard-reshown');
  });

  test('a panel restored after a reload (serializer, state = run folder) shows its run again', async () => {
    const existing = api.panels.get('dashboard', runDir)!;
    existing.dispose();
    const panel = vscode.window.createWebviewPanel(
      TrainingDashboardPanel.viewType,
      'restored',
      vscode.ViewColumn.Active,
      { enableScripts: true },
    );
    await api.panels
      .serializer(TrainingDashboardPanel)
      .deserializeWebviewPanel(panel, { runDir, smoothing: 0.6, log: false, hidden: [] });
    const restored = await until('the restored panel drawn', async () => {
      const s = await panelState('dashboard');
      return s?.rendered && (s.rendered.points.objective ?? 0) > 0 ? s : undefined;
    });
    assert.match(restored.title, /^Training · toy2d-diag/);
    // a state without a usable run folder closes the panel rather than showing nothing
    const orphan = vscode.window.createWebviewPanel(
      TrainingDashboardPanel.viewType,
      'orphan',
      vscode.ViewColumn.Active,
      { enableScripts: true },
    );
    let closed = false;
    orphan.onDidDispose(() => {
      closed = true;
    });
    await api.panels
      .serializer(TrainingDashboardPanel)
      .deserializeWebviewPanel(orphan, { runDir: path.join(folder, 'runs', 'gone') });
    assert.ok(closed);
  });

  test('Stop training in the dashboard stops that run', async () => {
    // only the new run's dashboard on screen (the Stop button is clicked in the visible webview)
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const uri = writeModel('toy2d-stop.sbn.json', {
      ...TOY_DIAG,
      name: 'toy2d-stop',
      train: { ...TOY_DIAG.train, epochs: 200 },
      diagnostics: { interval: 0 },
    });
    const job = await vscode.commands.executeCommand<Job>('sbn.trainModel', uri);
    const dir = await until('the run folder', () => job.runDir);
    const dash = await until('the dashboard', () => api.panels.get('dashboard', dir));
    dash.reveal(false);
    await until('the Stop button offered', async () => {
      const s = await panelState('dashboard', dir);
      return s?.visible && s.rendered && (s.rendered.points.objective ?? 0) > 2;
    });
    if (ui.available()) {
      await ui.waitFor({ selector: '#stop:not([hidden])', frames: WEBVIEW });
      await ui.click({ selector: '#stop', frames: WEBVIEW });
    } else {
      await vscode.commands.executeCommand('sbn.stopTraining', dir);
    }
    const end = await job.finished;
    assert.strictEqual(end.type === 'done' && end.status, 'stopped', JSON.stringify(end));
    assert.strictEqual(RunStore.status(dir).status, 'stopped');
    await until('the stopped status in the header', async () => {
      const s = await panelState('dashboard', dir);
      return s && s.runStates + s.snapshots > 1;
    });
    if (ui.available()) {
      // one figure: the header's step is the step the status names, even between log points
      const header = await until('the header of the stopped run', async () => {
        const text = (await ui.text({ selector: '.run-header', frames: WEBVIEW })).join(' ');
        return /stopped at step \d+/.test(text) ? text : undefined;
      });
      const shown = /step\s*(\d+) \//.exec(header)?.[1];
      assert.strictEqual(shown, /stopped at step (\d+)/.exec(header)![1], header);
      assert.strictEqual(Number(shown), RunStore.status(dir).step, header);
    }
    await shot('panel-dashboard-stopped');
  });

  test(
    'setting sbn.diagnostics.interval: ' + 'gradient diagnostics for a model file without a diagnostics section',
    async () => {
      const config = vscode.workspace.getConfiguration('sbn');
      await config.update('diagnostics.interval', 16, vscode.ConfigurationTarget.Global);
      try {
        const plain: Partial<typeof TOY_DIAG> = { ...TOY_DIAG };
        delete plain.diagnostics;
        const uri = writeModel('toy2d-setting.sbn.json', {
          ...plain,
          name: 'toy2d-setting',
          train: { ...TOY_DIAG.train, epochs: 2 },
        });
        const job = await vscode.commands.executeCommand<Job>('sbn.trainModel', uri);
        const end = await job.finished;
        assert.strictEqual(end.type === 'done' && end.status, 'finished', JSON.stringify(end));
        const dir = job.runDir!;
        const records = fs
          .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { kind: string; step: number });
        const passes = records.filter((r) => r.kind === 'diagnostics');
        // 2 epochs of 16 steps (160 examples, batches of 10): a pass every 16 steps
        assert.ok(
          passes.length >= 2,
          `${passes.length} diagnostics passes at steps ${passes.map((r) => r.step).join(', ')}`,
        );
        const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as {
          model: { diagnostics?: { interval?: number } };
        };
        assert.strictEqual(cfg.model.diagnostics?.interval, 16, 'the run records the interval it used');
        // a model file's own section wins (interval 0: off)
        const own = writeModel('toy2d-own.sbn.json', {
          ...TOY_DIAG,
          name: 'toy2d-own',
          train: { ...TOY_DIAG.train, epochs: 2 },
          diagnostics: { interval: 0 },
        });
        const job2 = await vscode.commands.executeCommand<Job>('sbn.trainModel', own);
        await job2.finished;
        const records2 = fs.readFileSync(path.join(job2.runDir!, 'metrics.jsonl'), 'utf8');
        assert.ok(!records2.includes('"kind":"diagnostics"'), 'no diagnostics when the model file turns them off');
      } finally {
        await config.update('diagnostics.interval', undefined, vscode.ConfigurationTarget.Global);
      }
    },
  );
});
