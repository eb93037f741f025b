// Issue 18, "Done when": a screenshot tour. For each of the nine items, the panel or view that shows it, in
// Default Light Modern, Default Dark Modern, Default High Contrast and Default High Contrast Light:
// test-results/item<N>-<what>-<theme>.png. Each shot is checked: the page has drawn (a webview's `rendered` report),
// it carries the theme (its body class), the element that shows the item is there, and its computed colours differ
// from those of every other theme. Reuses one tiny finished run (test/integration/everyPanel.ts). Needs the browser
// of scripts/test-vscode.mjs (skipped without it).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { suite, suiteSetup, suiteTeardown, test } from 'mocha';
import { ui, type UiTarget } from './index';
import type { SbnStudioApi } from '../../src/extension/extension';
import type { Job } from '../../src/extension/runManager';
import type { PanelKind } from '../../src/webviewProtocol';
import { panelStates, tinyRun } from './everyPanel';
import { sleep, until } from './wait';

/** The visible webview's page (two iframes deep). */
const WEBVIEW = ['iframe.webview.ready:visible', 'iframe#active-frame'];

const THEMES = [
  { id: 'Default Light Modern', name: 'light', body: 'vscode-light', workbench: 'vs' },
  { id: 'Default Dark Modern', name: 'dark', body: 'vscode-dark', workbench: 'vs-dark' },
  {
    id: 'Default High Contrast',
    name: 'high-contrast',
    body: 'vscode-high-contrast:not(.vscode-high-contrast-light)',
    workbench: 'hc-black',
  },
  {
    id: 'Default High Contrast Light',
    name: 'high-contrast-light',
    body: 'vscode-high-contrast-light',
    workbench: 'hc-light',
  },
] as const;

interface Stop {
  item: number;
  what: string;
  /** A webview panel of this kind (checked to have drawn), or the workbench itself. */
  kind?: PanelKind;
  /** The element is in the visible webview's page (default: when `kind` is given). */
  webview?: boolean;
  /** Brings it on screen. */
  show: () => Promise<unknown>;
  /** The element that shows the item (in the webview's page for a panel, else in the workbench). */
  element: string;
  /** Where the theme's colours are read (default: the element). */
  colours?: string;
  /** Scrolled into view before each shot (an item below the page's first screen). */
  scroll?: string;
  /** After the shots. */
  after?: () => Promise<void>;
}

let api: SbnStudioApi;
let folder: string;
let runDir: string;
let model: vscode.Uri;
let original: string | undefined;

async function shown(stop: Stop): Promise<void> {
  await stop.show();
  if (!stop.kind) return;
  await until(
    `item ${stop.item}: the ${stop.kind} panel drawn`,
    async () => (await panelStates()).find((p) => p.kind === stop.kind && p.visible && p.rendered),
    60_000,
  );
}

suite('Tour: issue 18 items in four themes', () => {
  suiteSetup(async function () {
    if (!ui.available()) return;
    this.timeout(300_000);
    api = await vscode.extensions.getExtension<SbnStudioApi>('sbn-studio.sbn-studio')!.activate();
    folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    ({ runDir, model } = await tinyRun(api, folder));
    original = vscode.workspace.getConfiguration().inspect<string>('workbench.colorTheme')?.globalValue;
  });

  suiteTeardown(async () => {
    if (!ui.available()) return;
    if (fs.existsSync(movedScript())) fs.renameSync(movedScript(), compareScript());
    await vscode.workspace
      .getConfiguration()
      .update('workbench.colorTheme', original, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('workbench.action.closePanel');
    fs.rmSync(typo(), { force: true });
  });

  const exec = <T>(command: string, ...args: unknown[]) => vscode.commands.executeCommand<T>(command, ...args);
  const alone = async () => {
    await exec('workbench.action.closeAllEditors');
    await exec('workbench.action.closePanel');
    await exec('notifications.clearAll');
  };
  let comparison = false;
  let evaluation = false;
  const typo = () => path.join(folder, 'toy2d-typo.sbn.json');
  const compareScript = () =>
    path.join(vscode.extensions.getExtension('sbn-studio.sbn-studio')!.extensionPath, 'dist', 'webview', 'compare.js');
  const movedScript = () => `${compareScript()}.moved-by-test`;
  const STOPS: Stop[] = [
    {
      item: 1,
      what: 'runs-table',
      kind: 'runsTable',
      show: async () => (await alone(), exec('sbn.openRunsTable')),
      element: '#runs-table',
      colours: 'body',
    },
    {
      item: 2,
      what: 'estimator-comparison',
      kind: 'estimatorComparison',
      show: async () => {
        if (comparison) return;
        await alone();
        const job = await exec<Job>('sbn.compareEstimators', model);
        await job.finished;
        comparison = true;
      },
      element: '#comparison-table',
      colours: 'body',
    },
    {
      item: 3,
      what: 'gradient-diagnostics',
      kind: 'diagnostics',
      show: async () => (await alone(), exec('sbn.openDiagnostics', runDir)),
      element: '.uplot canvas',
      colours: 'body',
    },
    {
      item: 4,
      what: 'exports',
      kind: 'runEvaluation',
      show: async () => {
        if (evaluation) return;
        await alone();
        await (
          await exec<Job>('sbn.evaluateRun', runDir)
        ).finished;
        evaluation = true;
      },
      element: '#export-png',
      colours: 'body',
    },
    {
      item: 5,
      what: 'dashboard-header',
      kind: 'dashboard',
      show: async () => (await alone(), exec('sbn.openDashboard', runDir)),
      element: 'header',
      colours: 'body',
    },
    {
      item: 6,
      what: 'walkthrough',
      show: async () => {
        await alone();
        await until(
          'the walkthrough',
          async () => {
            await exec('sbn.openWalkthrough');
            await sleep(500);
            return /Open an example model/.test((await ui.text({ selector: '.gettingStartedContainer' })).join(' '));
          },
          30_000,
        );
      },
      element: '.gettingStartedContainer',
    },
    {
      item: 7,
      what: 'layer-statistics',
      kind: 'layers',
      show: async () => (await alone(), exec('sbn.openLayerStats', runDir)),
      element: '.colorbar-strip',
      colours: 'body',
      // the heatmaps and their colour bars sit below the panel's first screen
      scroll: '.colorbar-strip',
    },
    {
      // Compare Runs with its script moved away until after the last retry: the line that says so, Reload panel
      item: 8,
      what: 'load-problem',
      webview: true,
      show: async () => {
        await alone();
        fs.renameSync(compareScript(), movedScript());
        await exec('sbn.compareRuns', [runDir]);
        await ui.waitFor({ selector: '#reload-panel', frames: WEBVIEW, timeout: 30_000 });
      },
      element: '#load-problem',
      colours: 'body',
      after: async () => {
        fs.renameSync(movedScript(), compareScript());
        await ui.click({ selector: '#reload-panel', frames: WEBVIEW });
        await until('Compare drawn after Reload panel', async () =>
          (await panelStates()).find((p) => p.kind === 'compare' && p.rendered),
        );
      },
    },
    {
      item: 9,
      what: 'editor-help',
      show: async () => {
        await alone();
        const text = fs.readFileSync(model.fsPath, 'utf8').replace('"lr"', '"lrr"');
        fs.writeFileSync(typo(), text.replace('toy2d-every-panel', 'toy2d-typo'));
        const doc = await vscode.workspace.openTextDocument(typo());
        await vscode.window.showTextDocument(doc, { preview: false });
        const problems = await until('the typo’s diagnostic', () => {
          const d = vscode.languages.getDiagnostics(doc.uri).filter((x) => /lrr/.test(x.message));
          return d.length > 0 && d;
        });
        assert.match(problems.map((p) => p.message).join(' '), /did you mean "lr"\?/);
        await exec('workbench.actions.view.problems');
      },
      element: '.markers-panel .monaco-list-row',
      colours: '.monaco-workbench',
    },
  ];

  for (const stop of STOPS) {
    test(`item ${stop.item}: ${stop.what} in the light, dark and both high-contrast themes`, async function () {
      if (!ui.available()) this.skip();
      this.timeout(240_000);
      await shown(stop);
      const frames = (stop.webview ?? !!stop.kind) ? WEBVIEW : undefined;
      const colours: string[] = [];
      for (const theme of THEMES) {
        await vscode.workspace
          .getConfiguration()
          .update('workbench.colorTheme', theme.id, vscode.ConfigurationTarget.Global);
        // the theme reached the page: its body class (a webview) or the workbench's
        const themed: UiTarget = frames
          ? { selector: `body.${theme.body}`, frames, timeout: 20_000 }
          : { selector: `.monaco-workbench.${theme.workbench}`, timeout: 20_000 };
        await ui.waitFor({ ...themed, state: 'attached' });
        await ui.waitFor({ selector: stop.element, frames, timeout: 30_000 });
        assert.ok((await ui.count({ selector: stop.element, frames })) > 0, `${stop.element} in ${theme.name}`);
        if (stop.kind) {
          const s = (await panelStates()).find((p) => p.kind === stop.kind && p.visible);
          assert.ok(s?.rendered, `the ${stop.kind} page has drawn`);
          assert.deepStrictEqual(s.errors, [], `${stop.kind}: page errors`);
          assert.strictEqual(await ui.count({ selector: '#loading', frames }), 0, 'not "Loading…"');
        }
        const style = await ui.style({ selector: stop.colours ?? stop.element, frames }, ['background-color', 'color']);
        colours.push(`${style['background-color']} / ${style.color}`);
        await exec('notifications.clearAll');
        if (stop.scroll) await ui.scrollIntoView({ selector: stop.scroll, frames });
        await sleep(800); // the theme's transition and the last frame
        const file = await ui.screenshot(`item${stop.item}-${stop.what}-${theme.name}`);
        assert.ok(fs.statSync(file).size > 10_000, `${file} looks empty`);
      }
      assert.strictEqual(new Set(colours).size, THEMES.length, `colours per theme: ${colours.join(' | ')}`);
      await stop.after?.();
    });
  }
});
