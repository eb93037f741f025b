// Entry point of the extension-host integration tests (VS Code's `extensionTestsPath` contract): VS Code loads the
// bundle dist/test/integration/index.js in the extension host of the development extension and awaits `run()`.
// scripts/test-vscode.mjs starts it inside code-server; see that file for options.
//
// Test files: test/integration/**/*.vscode-test.ts (never *.test.ts, which `node --test` would run outside VS Code),
// mocha `tdd` UI. Import what you use from 'mocha' (`import { suite, test, suiteSetup } from 'mocha'`).
// Every test is reported with console.log (the harness forwards the extension host's console to its stdout) and the
// last line is "N passed, N failed" (", N skipped" appended when tests are pending).
import * as fs from 'fs';
import * as path from 'path';
import Mocha from 'mocha';

const repoRoot = path.resolve(__dirname, '..', '..', '..');

function listTests(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const p = path.join(dir, n);
    if (fs.statSync(p).isDirectory()) return listTests(p);
    return n.endsWith('.vscode-test.js') ? [p] : [];
  });
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const e = err as Error & { actual?: unknown; expected?: unknown; showDiff?: boolean };
    let text = e.stack ?? `${e.name}: ${e.message}`;
    // node:assert puts its own diff into the message.
    if (
      (e as { code?: string }).code !== 'ERR_ASSERTION' &&
      e.showDiff !== false &&
      ('actual' in e || 'expected' in e)
    ) {
      const show = (v: unknown) => {
        try {
          return JSON.stringify(v);
        } catch {
          return String(v);
        }
      };
      text += `\n      actual:   ${show(e.actual)}\n      expected: ${show(e.expected)}`;
    }
    return text;
  }
  return String(err);
}

// Plain console output only (mocha's own reporters write to process.stdout, which the extension host does not
// forward): one line per suite and test, failures with their stack, then the totals.
class ConsoleReporter extends Mocha.reporters.Base {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const c = Mocha.Runner.constants;
    let depth = 0;
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const pad = () => '  '.repeat(depth);
    runner.on(c.EVENT_SUITE_BEGIN, (s: Mocha.Suite) => {
      if (s.root) return;
      console.log(`${pad()}${s.title}`);
      depth++;
    });
    runner.on(c.EVENT_SUITE_END, (s: Mocha.Suite) => {
      if (!s.root) depth--;
    });
    runner.on(c.EVENT_TEST_PASS, (t: Mocha.Test) => {
      passed++;
      console.log(`${pad()}ok   ${t.title} (${t.duration ?? 0} ms)`);
    });
    runner.on(c.EVENT_TEST_PENDING, (t: Mocha.Test) => {
      skipped++;
      console.log(`${pad()}skip ${t.title}`);
    });
    runner.on(c.EVENT_TEST_FAIL, (t: Mocha.Runnable, err: unknown) => {
      failed++;
      console.log(`${pad()}FAIL ${t.title}`);
      console.error(`FAIL ${t.fullTitle()}\n${errorText(err).replace(/^/gm, '    ')}`);
    });
    runner.once(c.EVENT_RUN_END, () => {
      console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
    });
  }
}

export function run(): Promise<void> {
  const grep = process.env.SBN_VSCODE_GREP;
  const mocha = new Mocha({
    ui: 'tdd',
    timeout: 120_000,
    color: false,
    reporter: ConsoleReporter,
    ...(grep ? { grep } : {}),
  });
  const files = listTests(__dirname)
    // dist/ is not cleaned between builds: skip bundles whose test/integration/**/*.vscode-test.ts source is gone.
    .filter((f) =>
      fs.existsSync(path.join(repoRoot, path.relative(path.join(repoRoot, 'dist'), f).replace(/\.js$/, '.ts'))),
    )
    .sort();
  for (const f of files) mocha.addFile(f);
  const filter = grep ? `, grep ${JSON.stringify(grep)}` : '';
  console.log(`integration tests: ${files.length} file${files.length === 1 ? '' : 's'}${filter}`);
  return new Promise<void>((resolve, reject) => {
    try {
      mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} integration test(s) failed`)) : resolve()));
    } catch (err) {
      // A test file that throws while loading.
      console.error(`integration tests could not start: ${errorText(err)}`);
      console.log('0 passed, 1 failed');
      reject(err instanceof Error ? err : new Error(errorText(err)));
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The browser side, for UI tests: scripts/test-vscode.mjs serves the page it drives at SBN_VSCODE_HARNESS.
// `frames` is a chain of iframe selectors (a webview: ['iframe.webview.ready', 'iframe#active-frame']).

export interface UiTarget {
  selector: string;
  frames?: string[];
  timeout?: number;
}

async function uiCall<T>(op: string, args: Record<string, unknown>): Promise<T> {
  const url = process.env.SBN_VSCODE_HARNESS;
  if (!url) throw new Error('SBN_VSCODE_HARNESS is not set: UI helpers need scripts/test-vscode.mjs');
  const res = await fetch(url, { method: 'POST', body: JSON.stringify({ op, ...args }) });
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(`ui.${op}: ${body.error ?? res.statusText}`);
  return body;
}

export const ui = {
  /** Whether the browser is reachable (false when the tests run without the harness). */
  available: (): boolean => !!process.env.SBN_VSCODE_HARNESS,
  /** PNG of the whole workbench into the --screenshots folder; returns its path. */
  screenshot: async (name: string): Promise<string> => (await uiCall<{ path: string }>('screenshot', { name })).path,
  /** A key or chord on the page (Playwright names: 'F1', 'Escape', 'Control+Shift+P'), or on `selector`. */
  press: async (key: string, target?: UiTarget): Promise<void> => {
    await uiCall('press', { key, ...target });
  },
  /** Types text into whatever has the focus. */
  type: async (text: string): Promise<void> => {
    await uiCall('type', { text });
  },
  click: async (target: UiTarget): Promise<void> => {
    await uiCall('click', { ...target });
  },
  fill: async (target: UiTarget, text: string): Promise<void> => {
    await uiCall('fill', { ...target, text });
  },
  waitFor: async (target: UiTarget & { state?: 'attached' | 'detached' | 'visible' | 'hidden' }): Promise<void> => {
    await uiCall('waitFor', { ...target });
  },
  /** textContent of every match. */
  text: async (target: UiTarget): Promise<string[]> => (await uiCall<{ texts: string[] }>('text', { ...target })).texts,
  count: async (target: UiTarget): Promise<number> => (await uiCall<{ count: number }>('count', { ...target })).count,
  /** Runs a command through the palette, as a user would (F1, type, Enter). */
  runFromPalette: async (title: string): Promise<void> => {
    await uiCall('press', { key: 'F1' });
    await uiCall('waitFor', { selector: '.quick-input-widget input' });
    await uiCall('fill', { selector: '.quick-input-widget input', text: `>${title}` });
    await uiCall('waitFor', { selector: '.quick-input-list .monaco-list-row' });
    await uiCall('press', { key: 'Enter' });
  },
};
