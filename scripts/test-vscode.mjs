#!/usr/bin/env node
// Runs the extension-host integration tests (dist/test/integration/index.js, built from test/integration/) inside a
// real VS Code: code-server 4.100.3 (VS Code 1.100.3 server + web workbench) driven by Debian's chromium through
// playwright-core. Why (no Electron download here) and how: docs/testing.md, "How the VS Code tests run".
//
//   node scripts/test-vscode.mjs [--grep <pattern>] [--screenshots <dir>] [--timeout <seconds>] [--install-only]
//
//   --grep <pattern>     only tests whose full title matches (mocha grep; passed as SBN_VSCODE_GREP)
//   --screenshots <dir>  where UI tests' screenshots go (default test-results/); the workbench at the end is saved
//                        there as failure.png when the suite fails, and as final.png when this option is given
//   --timeout <seconds>  whole-suite limit (default 1200; env SBN_VSCODE_TIMEOUT)
//   --install-only       install code-server if needed and exit
// Environment:
//   SBN_VSCODE_WORKSPACE=<dir>  folder to open (default: a fresh temporary copy of examples/)
//   SBN_VSCODE_TRUST=1          do not pass --disable-workspace-trust (the folder then opens in Restricted Mode)
//   SBN_VSCODE_VERBOSE=1        also forward code-server's own output and the page's console to stderr
//   SBN_VSCODE_KEEP=1           keep the temporary folder (user data, workspace copy, server log)
//   SBN_VSCODE_EXTENSION=<dir>  extension folder under test (default: this repository; scripts/test-vsix.mjs
//                               passes the installed VSIX)
//   CHROMIUM_PATH=<file>        browser (default /usr/bin/chromium)
//
// code-server is installed on first use (scripts/code-server.mjs, shared with scripts/test-vsix.mjs and
// scripts/open-vscode.mjs) into .vscode-test/code-server/ (git-ignored, ~46 s, ~300 MB), never as a
// dependency of the project. Exit status: the suite's (0 all passed, 1 otherwise), 2 when a system prerequisite is
// missing (the Debian packages to install are printed) or an argument is wrong. The last line on stdout is
// "N passed, N failed".
//
// Tests reach the browser through a small HTTP endpoint whose URL is in SBN_VSCODE_HARNESS (see `ui` in
// test/integration/index.ts): POST / with {op: 'screenshot'|'press'|'click'|'fill'|'type'|'waitFor'|'scrollIntoView'|
// 'text'|'count'|'style'}.
// A test may reload the window (ops 'reloading' and 'continuation'): the suite's run ends with the old extension
// host, and the reloaded window's run goes on with the tests not yet run (docs/testing.md, "Reloading the window").
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CHROMIUM_ARGS,
  CODE_SERVER_VERSION,
  checkPrerequisites,
  chromiumPath,
  freePort,
  install,
  isInstalled,
  killTree,
  prepareState,
  reportPrerequisites,
  root,
  secs,
  serverEnv,
  startServer,
} from './code-server.mjs';

const testsIndex = join(root, 'dist', 'test', 'integration', 'index.js');
const startedAt = Date.now();

function log(msg) {
  process.stderr.write(`test-vscode: ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------------- arguments
function parseArgs(argv) {
  const o = {
    grep: process.env.SBN_VSCODE_GREP || '',
    screenshots: 'test-results',
    timeout: Number(process.env.SBN_VSCODE_TIMEOUT || 1200),
    screenshotsGiven: false,
    installOnly: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--') continue;
    else if (a === '--grep' || a === '-g') o.grep = value();
    else if (a.startsWith('--grep=')) o.grep = a.slice(7);
    else if (a === '--screenshots') [o.screenshots, o.screenshotsGiven] = [value(), true];
    else if (a.startsWith('--screenshots=')) [o.screenshots, o.screenshotsGiven] = [a.slice(14), true];
    else if (a === '--timeout') o.timeout = Number(value());
    else if (a.startsWith('--timeout=')) o.timeout = Number(a.slice(10));
    else if (a === '--install-only') o.installOnly = true;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!(o.timeout > 0)) usage('--timeout must be a positive number of seconds');
  o.screenshots = isAbsolute(o.screenshots) ? o.screenshots : resolve(process.cwd(), o.screenshots);
  return o;
}
function usage(err) {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8')
    .split('\n')
    .slice(1);
  const text = lines
    .slice(
      0,
      lines.findIndex((l) => !l.startsWith('//')),
    )
    .map((l) => l.replace(/^\/\/ ?/, ''))
    .join('\n');
  if (err) {
    process.stderr.write(`test-vscode: ${err}\n\n${text}\n`);
    process.exit(2);
  }
  process.stdout.write(`${text}\n`);
  process.exit(0);
}

// ------------------------------------------------------------------------------- the tests' UI endpoint
// Tests run in the extension host (Node), the UI in the browser: the harness lends them the page.
// A reload a test asked for: what the suite's next run (in the reloaded window) continues with. While it is pending,
// an exit reported by the old window's extension host is not the suite's.
let continuation = null;

function uiServer(getPage, shotsDir) {
  const target = (page, frames = []) => {
    let t = page;
    for (const f of frames) t = t.frameLocator(f);
    return t;
  };
  const ops = {
    async screenshot(page, { name, fullPage }) {
      const safe = String(name || `shot-${Date.now()}`)
        .replace(/[^\w.-]+/g, '_')
        .replace(/\.png$/, '');
      mkdirSync(shotsDir, { recursive: true });
      const path = join(shotsDir, `${safe}.png`);
      await page.screenshot({ path, fullPage: !!fullPage });
      log(`screenshot ${path}`);
      return { path };
    },
    async press(page, { key, selector, frames }) {
      if (selector) await target(page, frames).locator(selector).first().press(key);
      else await page.keyboard.press(key);
      return {};
    },
    async type(page, { text, delay }) {
      await page.keyboard.type(String(text), { delay: delay ?? 10 });
      return {};
    },
    async click(page, { selector, frames, button, timeout }) {
      await target(page, frames)
        .locator(selector)
        .first()
        .click({ button, timeout: timeout ?? 15_000 });
      return {};
    },
    async fill(page, { selector, frames, text, timeout }) {
      await target(page, frames)
        .locator(selector)
        .first()
        .fill(String(text), { timeout: timeout ?? 15_000 });
      return {};
    },
    async waitFor(page, { selector, frames, state, timeout }) {
      await target(page, frames)
        .locator(selector)
        .first()
        .waitFor({ state: state ?? 'visible', timeout: timeout ?? 15_000 });
      return {};
    },
    async scrollIntoView(page, { selector, frames, timeout }) {
      await target(page, frames)
        .locator(selector)
        .first()
        .scrollIntoViewIfNeeded({ timeout: timeout ?? 15_000 });
      return {};
    },
    async text(page, { selector, frames }) {
      return { texts: await target(page, frames).locator(selector).allTextContents() };
    },
    async count(page, { selector, frames }) {
      return { count: await target(page, frames).locator(selector).count() };
    },
    async style(page, { selector, frames, properties }) {
      const el = target(page, frames).locator(selector).first();
      const values = await el.evaluate((e, props) => {
        const style = e.ownerDocument.defaultView.getComputedStyle(e); // runs in the page
        return Object.fromEntries(props.map((p) => [p, style.getPropertyValue(p)]));
      }, properties ?? []);
      return { values };
    },
    async reloading(_page, { state }) {
      continuation = state ?? {};
      log('the window reloads; the suite goes on in the reloaded window');
      return {};
    },
    async continuation() {
      const state = continuation;
      continuation = null;
      return { state };
    },
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', async () => {
      const reply = (status, obj) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      try {
        const msg = JSON.parse(body || '{}');
        const op = ops[msg.op];
        if (!op) return reply(400, { error: `unknown op ${msg.op}; one of ${Object.keys(ops).join(', ')}` });
        const page = getPage();
        if (!page) return reply(503, { error: 'no page yet' });
        reply(200, await op(page, msg));
      } catch (e) {
        reply(500, { error: String(e?.message ?? e) });
      }
    });
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res(server)));
}

// ---------------------------------------------------------------------------------------------------- main
const opts = parseArgs(process.argv.slice(2));
const prerequisites = checkPrerequisites(!isInstalled());
if (!prerequisites.ok) {
  reportPrerequisites(prerequisites, log);
  console.log('0 passed, 1 failed');
  process.exit(2);
}
try {
  await install({ log });
} catch (e) {
  log(String(e.message ?? e));
  console.log('0 passed, 1 failed');
  process.exit(1);
}
if (opts.installOnly) process.exit(0);
if (!existsSync(testsIndex)) {
  log(`${testsIndex} is missing: run \`npm run build\` first`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

let playwright;
try {
  playwright = await import('playwright-core');
} catch {
  log('playwright-core is not installed: run `npm install` (it is a devDependency)');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const tmp = mkdtempSync(join(tmpdir(), 'sbn-vscode-'));
let server = null; // startServer()'s handle
let browserServer = null;
let browser = null;
let page = null;
let harness = null;
let summary = null; // [passed, failed, skipped] as printed by the suite
let cleaning = null;

let collectLogs = false;
async function cleanup() {
  cleaning ??= (async () => {
    if (browser) await Promise.race([browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
    const bpid = browserServer?.process()?.pid;
    if (bpid) await killTree(bpid, 2000);
    await server?.stop(5000); // no grace if the wrapper died: its children may not have
    harness?.close();
    harness?.closeAllConnections?.();
    if (collectLogs) {
      // The run failed: keep VS Code's logs (the extension's own LogOutputChannel is
      // logs/*/exthost1/sbn-studio.sbn-studio/*.log, activation errors are in exthost1/remoteexthost.log).
      const dest = join(opts.screenshots, 'vscode-logs');
      try {
        rmSync(dest, { recursive: true, force: true });
        if (existsSync(join(tmp, 'user', 'logs'))) cpSync(join(tmp, 'user', 'logs'), dest, { recursive: true });
        if (existsSync(join(tmp, 'code-server.log')))
          cpSync(join(tmp, 'code-server.log'), join(dest, 'code-server.log'));
        if (existsSync(dest)) log(`VS Code logs: ${dest}`);
      } catch (e) {
        log(`could not copy the logs: ${e.message}`);
      }
    }
    if (process.env.SBN_VSCODE_KEEP === '1') log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
  })();
  return cleaning;
}

function finish(code, why) {
  if (code !== 0 && !interrupted) collectLogs = true;
  return cleanup().then(() => {
    if (why) log(why);
    log(`total ${secs(startedAt)}`);
    let [passed, failed, skipped] = summary ?? [0, 0, 0];
    if (code !== 0 && failed === 0) failed = 1; // crashed, timed out, or failed outside a test
    if (code === 0 && failed > 0) code = 1;
    console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
    process.exit(code);
  });
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    interrupted = true;
    finish(sig === 'SIGINT' ? 130 : 143, `interrupted (${sig})`);
  });
}

try {
  // Workspace: a throw-away copy of examples/ so that tests may write runs into it.
  let workspace = process.env.SBN_VSCODE_WORKSPACE ? resolve(process.env.SBN_VSCODE_WORKSPACE) : '';
  if (!workspace) {
    workspace = join(tmp, 'workspace');
    cpSync(join(root, 'examples'), workspace, { recursive: true });
  }
  // No welcome page, no tips, no telemetry or update checks; with SBN_VSCODE_TRUST=1 no trust dialog either
  // (the folder opens in Restricted Mode with its banner; trust it from a test through the UI if needed).
  const { userDir, extensionsDir, configFile } = prepareState(tmp);

  harness = await uiServer(() => page, opts.screenshots);
  const harnessUrl = `http://127.0.0.1:${harness.address().port}`;

  const port = await freePort();
  const trust = process.env.SBN_VSCODE_TRUST === '1';
  const env = serverEnv({
    SBN_VSCODE_GREP: opts.grep,
    SBN_VSCODE_HARNESS: harnessUrl,
    SBN_VSCODE_SCREENSHOTS: opts.screenshots,
    SBN_VSCODE_WORKSPACE_PATH: workspace,
  });
  const t0 = Date.now();
  log(
    `code-server ${CODE_SERVER_VERSION} on 127.0.0.1:${port}, ` +
      `workspace ${workspace}${trust ? ' (workspace trust on)' : ''}`,
  );
  server = startServer({
    port,
    configFile,
    userDir,
    extensionsDir,
    trust,
    folder: workspace,
    env,
    cwd: tmp,
    logFile: join(tmp, 'code-server.log'),
    onOutput: (d) => {
      if (process.env.SBN_VSCODE_VERBOSE === '1') process.stderr.write(`[code-server] ${d}`);
    },
  });
  const serverDone = server.exited;
  const tailLog = () => server.tailLog(40);

  // Ready?
  try {
    await server.waitReady(60_000);
  } catch (e) {
    tailLog();
    await finish(1, e.message);
  }
  log(`code-server ready in ${secs(t0)}`);

  browserServer = await playwright.chromium.launchServer({
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_ARGS,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false, // ours kill it
  });
  browser = await playwright.chromium.connect(browserServer.wsEndpoint());
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await context.newPage();

  let resolveExit;
  const exitCode = new Promise((res) => {
    resolveExit = res;
  });
  const summaryRe = /^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/;
  const verbose = process.env.SBN_VSCODE_VERBOSE === '1';
  // codeAutomationLog carries both the extension host's console (tests, the extension) and the workbench's own
  // start-up chatter; drop the latter unless verbose.
  const workbenchNoise =
    /^(Resolving connection token|Resolved connection token|Creating a socket|Ignoring fetching additional builtin extensions|\[Service Worker\]|ChatSessionStore:|Updating additional builtin extensions cache)/;
  await page.exposeFunction('codeAutomationExit', (code) => {
    if (continuation) log(`exit ${code} of the window being reloaded: the suite goes on`);
    else resolveExit(Number(code));
  });
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    const parts = (Array.isArray(args) ? args : [args]).map((a) => (typeof a === 'string' ? a : JSON.stringify(a)));
    const text = parts.join(' ');
    if (!verbose && workbenchNoise.test(text)) return;
    const m = text.match(summaryRe);
    if (m) {
      summary = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)]; // printed last, after the clean-up
      return;
    }
    const out = type === 'error' || type === 'warn' ? process.stderr : process.stdout;
    out.write(text.endsWith('\n') ? text : `${text}\n`);
  });
  page.on('console', (m) => {
    if (verbose) process.stderr.write(`[browser ${m.type()}] ${m.text()}\n`);
  });
  page.on('pageerror', (e) => {
    if (verbose) process.stderr.write(`[browser pageerror] ${e.message}\n`);
  });

  const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
  // SBN_VSCODE_EXTENSION: another extension folder under test (the installed VSIX); the repo root otherwise.
  const extensionPath = process.env.SBN_VSCODE_EXTENSION ? resolve(process.env.SBN_VSCODE_EXTENSION) : root;
  const payload = [
    ['extensionDevelopmentPath', remote(extensionPath)],
    ['extensionTestsPath', remote(testsIndex)],
  ];
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  log(`opening the workbench (extensionDevelopmentPath ${extensionPath})`);
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });

  let timer;
  const outcome = await Promise.race([
    exitCode.then((code) => ({ code })),
    serverDone.then((c) => ({ code: 1, why: `code-server exited (${c}) during the tests` })),
    new Promise((res) => page.on('crash', () => res({ code: 1, why: 'the browser page crashed' }))),
    new Promise((res) => page.on('close', () => res({ code: 1, why: 'the browser page closed' }))),
    new Promise((res) => {
      timer = setTimeout(
        () => res({ code: 1, why: `timed out after ${opts.timeout} s`, timeout: true }),
        opts.timeout * 1000,
      );
    }),
  ]);
  clearTimeout(timer);
  if (interrupted) await new Promise(() => {}); // finish() from the signal handler exits
  if (outcome.code !== 0 || outcome.timeout || opts.screenshotsGiven) {
    try {
      mkdirSync(opts.screenshots, { recursive: true });
      const shot = join(opts.screenshots, outcome.code !== 0 ? 'failure.png' : 'final.png');
      await page.screenshot({ path: shot, timeout: 10_000 });
      log(`screenshot of the workbench: ${shot}`);
    } catch {
      /* page gone */
    }
  }
  if (outcome.why) tailLog();
  await finish(outcome.code, outcome.why ?? `suite finished with exit code ${outcome.code} in ${secs(t0)}`);
} catch (e) {
  await finish(1, `harness error: ${e?.stack ?? e}`);
}
