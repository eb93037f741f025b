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
import * as vscode from 'vscode';

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

/**
 * Where the suite stands, handed over a window reload (`ui.reloadWindow`): the tests already run, by full title, and
 * the counts so far. The reloaded window's run leaves out those tests and goes on from these counts.
 */
interface SuiteProgress {
  done: string[];
  passed: number;
  failed: number;
  skipped: number;
}
/**
 * The suite's state shared by this module's copies: each test file is its own bundle with its own copy of this
 * module, so the reporter (in the entry's copy) and `ui.reloadWindow` (in a test file's) meet on a global.
 * `reloadedBy`: set when this run goes on after a reload that the test of this full title asked for.
 */
const suiteState = ((
  globalThis as { sbnIntegrationSuite?: { progress: SuiteProgress; reloadedBy?: string } }
).sbnIntegrationSuite ??= { progress: { done: [], passed: 0, failed: 0, skipped: 0 } });
const progress = suiteState.progress;

// Plain console output only (mocha's own reporters write to process.stdout, which the extension host does not
// forward): one line per suite and test, failures with their stack, then the totals.
class ConsoleReporter extends Mocha.reporters.Base {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const c = Mocha.Runner.constants;
    let depth = 0;
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
      progress.passed++;
      progress.done.push(t.fullTitle());
      console.log(`${pad()}ok   ${t.title} (${t.duration ?? 0} ms)`);
    });
    runner.on(c.EVENT_TEST_PENDING, (t: Mocha.Test) => {
      progress.skipped++;
      progress.done.push(t.fullTitle());
      console.log(`${pad()}skip ${t.title}`);
    });
    runner.on(c.EVENT_TEST_FAIL, (t: Mocha.Runnable, err: unknown) => {
      progress.failed++;
      progress.done.push(t.fullTitle());
      console.log(`${pad()}FAIL ${t.title}`);
      console.error(`FAIL ${t.fullTitle()}\n${errorText(err).replace(/^/gm, '    ')}`);
    });
    runner.once(c.EVENT_RUN_END, () => {
      const { passed, failed, skipped } = progress;
      console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
    });
  }
}

/** Leaves out of `suite` (and its suites) the tests whose full titles are in `done`. */
function leaveOut(suite: Mocha.Suite, done: Set<string>): void {
  suite.tests = suite.tests.filter((t) => !done.has(t.fullTitle()));
  for (const s of suite.suites) leaveOut(s, done);
}

export async function run(): Promise<void> {
  // after a reload a test asked for: the tests not yet run, from the counts so far
  const handed = ui.available()
    ? (await uiCall<{ state: (SuiteProgress & { test: string }) | null }>('continuation', {})).state
    : null;
  if (handed) {
    Object.assign(progress, {
      done: handed.done,
      passed: handed.passed,
      failed: handed.failed,
      skipped: handed.skipped,
    });
    suiteState.reloadedBy = handed.test;
    console.log(`(the window reloaded: the suite goes on after ${handed.done.length} tests)`);
  }
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
  if (!handed) console.log(`integration tests: ${files.length} file${files.length === 1 ? '' : 's'}${filter}`);
  return new Promise<void>((resolve, reject) => {
    try {
      // loaded here, not by run(), so that the tests run before a reload can be left out
      const loader = mocha as unknown as { loadFiles(): void; lazyLoadFiles(on: boolean): void };
      loader.loadFiles();
      loader.lazyLoadFiles(true);
      leaveOut(mocha.suite, new Set(progress.done));
      mocha.run(() => {
        const failures = progress.failed;
        if (failures > 0) reject(new Error(`${failures} integration test(s) failed`));
        else resolve();
      });
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
  /** Scrolls the first match into view (within its frames), as a user would to see it. */
  scrollIntoView: async (target: UiTarget): Promise<void> => {
    await uiCall('scrollIntoView', { ...target });
  },
  /** textContent of every match. */
  text: async (target: UiTarget): Promise<string[]> => (await uiCall<{ texts: string[] }>('text', { ...target })).texts,
  count: async (target: UiTarget): Promise<number> => (await uiCall<{ count: number }>('count', { ...target })).count,
  /** Computed style of the first match: the value of each CSS property named. */
  style: async (target: UiTarget, properties: string[]): Promise<Record<string, string>> =>
    (await uiCall<{ values: Record<string, string> }>('style', { ...target, properties })).values,
  /**
   * Reloads the window (workbench.action.reloadWindow) from inside the test `test`: this extension host ends, and
   * the reloaded window's run goes on with the tests not yet run, `test` again first, where `reloaded(test)` is then
   * true (docs/testing.md, "Reloading the window"). Never returns.
   */
  reloadWindow: async (test: Mocha.Context): Promise<never> => {
    const title = test.test!.fullTitle();
    await uiCall('reloading', { state: { ...progress, done: progress.done.slice(), test: title } });
    await vscode.commands.executeCommand('workbench.action.reloadWindow');
    return new Promise<never>(() => undefined);
  },
  /** Whether this run began in the window that the test of this context reloaded. */
  reloaded: (test: Mocha.Context): boolean => suiteState.reloadedBy === test.test?.fullTitle(),
  /** Runs a command through the palette, as a user would (F1, type, Enter). */
  runFromPalette: async (title: string): Promise<void> => {
    await uiCall('press', { key: 'F1' });
    await uiCall('waitFor', { selector: '.quick-input-widget input' });
    await uiCall('fill', { selector: '.quick-input-widget input', text: `>${title}` });
    await uiCall('waitFor', { selector: '.quick-input-list .monaco-list-row' });
    await uiCall('press', { key: 'Enter' });
  },
};
