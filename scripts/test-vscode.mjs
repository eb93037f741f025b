#!/usr/bin/env node
// Runs the extension-host integration tests (dist/test/integration/index.js, built from test/integration/) inside a
// real VS Code: code-server 4.100.3 (VS Code 1.100.3 server + web workbench) driven by Debian's chromium through
// playwright-core. See /work/shared/notes/vscode-testing.md for why (no Electron download here) and how.
//
//   node scripts/test-vscode.mjs [--grep <pattern>] [--screenshots <dir>] [--timeout <seconds>] [--install-only]
//
//   --grep <pattern>     only tests whose full title matches (mocha grep; passed as SBN_VSCODE_GREP)
//   --screenshots <dir>  where UI tests' screenshots go (default test-results/); the workbench at the end is saved
//                        there as failure.png when the suite fails, and as final.png when this option is given
//   --timeout <seconds>  whole-suite limit (default 600; env SBN_VSCODE_TIMEOUT)
//   --install-only       install code-server if needed and exit
// Environment:
//   SBN_VSCODE_WORKSPACE=<dir>  folder to open (default: a fresh temporary copy of examples/)
//   SBN_VSCODE_TRUST=1          do not pass --disable-workspace-trust (the folder then opens in Restricted Mode)
//   SBN_VSCODE_VERBOSE=1        also forward code-server's own output and the page's console to stderr
//   SBN_VSCODE_KEEP=1           keep the temporary folder (user data, workspace copy, server log)
//   SBN_VSCODE_EXTENSION=<dir>  extension folder under test (default: this repository)
//   CHROMIUM_PATH=<file>        browser (default /usr/bin/chromium)
//
// code-server is installed on first use into .vscode-test/code-server/ (git-ignored, ~46 s, ~300 MB), never as a
// dependency of the project. Exit status: the suite's (0 all passed, 1 otherwise), 2 when a system prerequisite is
// missing (the Debian packages to install are printed) or an argument is wrong. The last line on stdout is
// "N passed, N failed".
//
// Tests reach the browser through a small HTTP endpoint whose URL is in SBN_VSCODE_HARNESS (see `ui` in
// test/integration/index.ts): POST / with {op: 'screenshot'|'press'|'click'|'fill'|'type'|'waitFor'|'text'|'count'}.
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, createWriteStream,
  copyFileSync, statSync,
} from 'node:fs';
import { createServer, get as httpGet } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const CODE_SERVER_VERSION = '4.100.3';
// @vscode/ripgrep as pinned by code-server 4.100.3's lib/vscode: its postinstall looks for this tarball in
// $TMPDIR/vscode-ripgrep-cache-<its version>/ before downloading from GitHub.
const RIPGREP_CACHE = 'vscode-ripgrep-cache-1.15.11';
const RIPGREP_TARBALL = {
  x64: 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz',
  arm64: 'ripgrep-v13.0.0-10-aarch64-unknown-linux-musl.tar.gz',
}[process.arch];
const testDir = join(root, '.vscode-test');
const installDir = join(testDir, 'code-server');
const entry = join(installDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const marker = join(installDir, '.installed');
const testsIndex = join(root, 'dist', 'test', 'integration', 'index.js');
const startedAt = Date.now();

function log(msg) {
  process.stderr.write(`test-vscode: ${msg}\n`);
}
function secs(t0) {
  return `${((Date.now() - t0) / 1000).toFixed(1)} s`;
}

// ---------------------------------------------------------------------------------------------------- arguments
function parseArgs(argv) {
  const o = {
    grep: process.env.SBN_VSCODE_GREP || '',
    screenshots: 'test-results',
    timeout: Number(process.env.SBN_VSCODE_TIMEOUT || 600),
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
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
  const text = lines.slice(0, lines.findIndex((l) => !l.startsWith('//')))
    .map((l) => l.replace(/^\/\/ ?/, '')).join('\n');
  if (err) {
    process.stderr.write(`test-vscode: ${err}\n\n${text}\n`);
    process.exit(2);
  }
  process.stdout.write(`${text}\n`);
  process.exit(0);
}

// -------------------------------------------------------------------------------------------- prerequisites
function onPath(cmd) {
  return (process.env.PATH || '').split(':').some((d) => {
    try { return d && statSync(join(d, cmd)).isFile(); } catch { return false; }
  });
}
function chromiumPath() {
  return process.env.CHROMIUM_PATH || '/usr/bin/chromium';
}

function checkPrerequisites(needInstall) {
  const problems = [];
  const packages = new Set();
  const need = (ok, what, pkg) => {
    if (ok) return;
    problems.push(what);
    if (pkg) packages.add(pkg);
  };
  const major = Number(process.versions.node.split('.')[0]);
  need(major === 20, `Node 20 (code-server ${CODE_SERVER_VERSION} is built for Node 20; this is ${process.version})`,
    null);
  need(existsSync(chromiumPath()), `a Chromium browser at ${chromiumPath()} (or set CHROMIUM_PATH)`, 'chromium');
  if (needInstall) {
    need(onPath('rg'), 'ripgrep (`rg`; its binary seeds @vscode/ripgrep, which would download from GitHub)',
      'ripgrep');
    need(existsSync('/usr/include/gssapi/gssapi.h'), 'gssapi/gssapi.h (the `kerberos` native build)', 'libkrb5-dev');
    need(onPath('pkg-config'), 'pkg-config (the `kerberos` native build)', 'pkg-config');
    need(onPath('make'), 'make (node-gyp)', 'make');
    need(onPath('g++'), 'g++ (node-gyp)', 'g++');
    need(onPath('python3'), 'python3 (node-gyp)', 'python3');
    need(onPath('tar'), 'tar', 'tar');
    need(!!RIPGREP_TARBALL, `a supported architecture for the ripgrep seed (x64 or arm64; this is ${process.arch})`,
      null);
  }
  if (problems.length === 0) return;
  log('missing system prerequisites:');
  for (const p of problems) process.stderr.write(`  - ${p}\n`);
  if (packages.size) {
    process.stderr.write(`Install them with (Debian/Ubuntu, as root):\n  apt-get update && apt-get install -y ${[...packages].join(' ')}\n`);
  }
  if (major !== 20) process.stderr.write('Run with Node 20.x (e.g. Debian trixie\'s nodejs package, or nodesource node_20.x).\n');
  console.log('0 passed, 1 failed');
  process.exit(2);
}

// ------------------------------------------------------------------------------------------------- install
function isInstalled() {
  try {
    return readFileSync(marker, 'utf8').trim() === CODE_SERVER_VERSION && existsSync(entry)
      && existsSync(join(installDir, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules'));
  } catch {
    return false;
  }
}

function pidAlive(pid) {
  try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; }
}

// Two runs at once (npm test in two shells) must not install into the same folder concurrently.
async function withInstallLock(fn) {
  const lock = join(testDir, 'code-server.lock');
  mkdirSync(testDir, { recursive: true });
  const t0 = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let owner = 0;
      try { owner = Number(readFileSync(join(lock, 'pid'), 'utf8')); } catch { /* being created */ }
      if (owner && !pidAlive(owner)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - t0 > 15 * 60_000) throw new Error(`install lock ${lock} held for 15 minutes by pid ${owner}`);
      if (Date.now() - t0 < 1000) log(`another run (pid ${owner || '?'}) is installing code-server; waiting`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function run(cmd, args, opts) {
  return new Promise((res) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 2, 2], ...opts });
    child.on('error', (e) => { log(`${cmd}: ${e.message}`); res(127); });
    child.on('close', (code, signal) => res(code ?? (signal ? 128 : 1)));
  });
}

async function install() {
  if (isInstalled()) return;
  await withInstallLock(async () => {
    if (isInstalled()) return; // another run finished it while we waited
    const t0 = Date.now();
    log(`installing code-server@${CODE_SERVER_VERSION} into ${installDir} (first use only; ~1 min, ~300 MB)`);
    // A half-finished earlier attempt: start from scratch.
    rmSync(installDir, { recursive: true, force: true });
    mkdirSync(installDir, { recursive: true });
    writeFileSync(join(installDir, 'package.json'), `${JSON.stringify({
      name: 'sbn-studio-vscode-test',
      private: true,
      description: 'code-server for scripts/test-vscode.mjs; installed on first use, not a project dependency',
      // npm >= 11.16 reviews dependency install scripts; these two must run (code-server's postinstall installs
      // VS Code's own node_modules; argon2 is a native module).
      allowScripts: { 'code-server': true, argon2: true },
    }, null, 2)}\n`);

    // @vscode/ripgrep would download rg from GitHub: seed its cache with Debian's rg.
    const tmp = join(testDir, 'tmp');
    const cache = join(tmp, RIPGREP_CACHE);
    mkdirSync(cache, { recursive: true });
    const tarball = join(cache, RIPGREP_TARBALL);
    if (!existsSync(tarball)) {
      const rg = spawnSync('sh', ['-c', 'command -v rg'], { encoding: 'utf8' }).stdout.trim();
      const stage = mkdtempSync(join(tmp, 'rg-'));
      copyFileSync(rg, join(stage, 'rg'));
      const r = spawnSync('tar', ['-czf', tarball, '-C', stage, 'rg'], { stdio: ['ignore', 2, 2] });
      rmSync(stage, { recursive: true, force: true });
      if (r.status !== 0) throw new Error('could not create the ripgrep tarball');
      log(`seeded the @vscode/ripgrep cache with ${rg}`);
    }

    const npm = process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath)
      ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
    const args = [...npm[1], 'install', '--prefix', installDir, '--no-audit', '--no-fund', '--no-update-notifier',
      '--loglevel=warn', `code-server@${CODE_SERVER_VERSION}`];
    log(`npm ${args.slice(npm[1].length).join(' ')}`);
    const env = { ...process.env };
    // Settings of the calling `npm test` must not leak into this separate install.
    for (const k of Object.keys(env)) if (/^npm_(config|package|lifecycle)_/i.test(k)) delete env[k];
    Object.assign(env, {
      npm_config_unsafe_perm: 'true', // code-server's postinstall refuses to run as root otherwise
      npm_config_yes: 'true', // node-pty's install runs `npx node-gyp`; the user config may say yes=false
      npm_config_update_notifier: 'false',
      TMPDIR: tmp, // where @vscode/ripgrep looks for its cache
    });
    const code = await run(npm[0], args, { cwd: installDir, env });
    if (code !== 0) throw new Error(`npm install code-server@${CODE_SERVER_VERSION} failed (exit ${code}); see above`);
    const rgBin = join(installDir, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules', '@vscode', 'ripgrep',
      'bin', 'rg');
    if (!existsSync(entry) || !existsSync(rgBin)) {
      throw new Error(`code-server installed incompletely (missing ${existsSync(entry) ? rgBin : entry})`);
    }
    writeFileSync(marker, `${CODE_SERVER_VERSION}\n`);
    log(`installed code-server@${CODE_SERVER_VERSION} in ${secs(t0)}`);
  });
}

// ---------------------------------------------------------------------------------------------- processes
function freePort() {
  return new Promise((res, rej) => {
    const s = createNetServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function descendants(pid) {
  const children = new Map();
  let names = [];
  try { names = readdirSync('/proc'); } catch { return []; }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(n));
    } catch { /* gone */ }
  }
  const out = [];
  const stack = [pid];
  while (stack.length) {
    for (const c of children.get(stack.pop()) || []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

// Kill a process started with detached: true (its own process group), its group, and any descendant that left
// the group (setsid), SIGTERM first, SIGKILL after `graceMs`.
async function killTree(pid, graceMs) {
  if (!pid) return;
  const targets = () => [pid, ...descendants(pid)];
  const signalAll = (sig) => {
    try { process.kill(-pid, sig); } catch { /* no group */ }
    for (const p of targets()) { try { process.kill(p, sig); } catch { /* gone */ } }
  };
  const pids = targets();
  signalAll('SIGTERM');
  const t0 = Date.now();
  while (Date.now() - t0 < graceMs && pids.some(pidAlive)) await new Promise((r) => setTimeout(r, 100));
  const left = pids.filter(pidAlive);
  try { process.kill(-pid, 'SIGKILL'); } catch { /* no group left */ }
  for (const p of left) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
}

function healthz(port) {
  return new Promise((res) => {
    const req = httpGet({ host: '127.0.0.1', port, path: '/healthz', timeout: 2000 }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on('error', () => res(false));
    req.on('timeout', () => { req.destroy(); res(false); });
  });
}

// ------------------------------------------------------------------------------- the tests' UI endpoint
// Tests run in the extension host (Node), the UI in the browser: the harness lends them the page.
function uiServer(getPage, shotsDir) {
  const target = (page, frames = []) => {
    let t = page;
    for (const f of frames) t = t.frameLocator(f);
    return t;
  };
  const ops = {
    async screenshot(page, { name, fullPage }) {
      const safe = String(name || `shot-${Date.now()}`).replace(/[^\w.-]+/g, '_').replace(/\.png$/, '');
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
      await target(page, frames).locator(selector).first().click({ button, timeout: timeout ?? 15_000 });
      return {};
    },
    async fill(page, { selector, frames, text, timeout }) {
      await target(page, frames).locator(selector).first().fill(String(text), { timeout: timeout ?? 15_000 });
      return {};
    },
    async waitFor(page, { selector, frames, state, timeout }) {
      await target(page, frames).locator(selector).first().waitFor({ state: state ?? 'visible', timeout: timeout ?? 15_000 });
      return {};
    },
    async text(page, { selector, frames }) {
      return { texts: await target(page, frames).locator(selector).allTextContents() };
    },
    async count(page, { selector, frames }) {
      return { count: await target(page, frames).locator(selector).count() };
    },
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
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
checkPrerequisites(!isInstalled());
try {
  await install();
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
let server = null;
let serverExited = null;
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
    if (server && serverExited === null) await killTree(server.pid, 5000);
    else if (server) await killTree(server.pid, 0); // the wrapper died; its children may not have
    harness?.close();
    harness?.closeAllConnections?.();
    if (collectLogs) {
      // The run failed: keep VS Code's logs (the extension's own LogOutputChannel is
      // logs/*/exthost1/sbn-studio.sbn-studio/*.log, activation errors are in exthost1/remoteexthost.log).
      const dest = join(opts.screenshots, 'vscode-logs');
      try {
        rmSync(dest, { recursive: true, force: true });
        if (existsSync(join(tmp, 'user', 'logs'))) cpSync(join(tmp, 'user', 'logs'), dest, { recursive: true });
        if (existsSync(join(tmp, 'code-server.log'))) cpSync(join(tmp, 'code-server.log'), join(dest, 'code-server.log'));
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
  const userDir = join(tmp, 'user');
  const extDir = join(tmp, 'extensions');
  mkdirSync(userDir);
  mkdirSync(extDir);
  // No welcome page, no tips, no telemetry or update checks; with SBN_VSCODE_TRUST=1 no trust dialog either
  // (the folder opens in Restricted Mode with its banner; trust it from a test through the UI if needed).
  mkdirSync(join(userDir, 'User'), { recursive: true });
  writeFileSync(join(userDir, 'User', 'settings.json'), `${JSON.stringify({
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'workbench.enableExperiments': false,
    'security.workspace.trust.startupPrompt': 'never',
  }, null, 2)}\n`);
  const configFile = join(tmp, 'config.yaml');
  writeFileSync(configFile, 'auth: none\ncert: false\n');

  harness = await uiServer(() => page, opts.screenshots);
  const harnessUrl = `http://127.0.0.1:${harness.address().port}`;

  const port = await freePort();
  const trust = process.env.SBN_VSCODE_TRUST === '1';
  const args = [entry, '--config', configFile, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none',
    '--disable-telemetry', '--disable-update-check', ...(trust ? [] : ['--disable-workspace-trust']),
    '--user-data-dir', userDir, '--extensions-dir', extDir, workspace];
  const env = {
    ...process.env,
    EXTENSIONS_GALLERY: '{}',
    SBN_VSCODE_GREP: opts.grep,
    SBN_VSCODE_HARNESS: harnessUrl,
    SBN_VSCODE_SCREENSHOTS: opts.screenshots,
    SBN_VSCODE_WORKSPACE_PATH: workspace,
  };
  delete env.VSCODE_IPC_HOOK_CLI; // a terminal of another VS Code must not capture this one
  const serverLog = join(tmp, 'code-server.log');
  const logStream = createWriteStream(serverLog);
  const t0 = Date.now();
  log(`code-server ${CODE_SERVER_VERSION} on 127.0.0.1:${port}, workspace ${workspace}${trust ? ' (workspace trust on)' : ''}`);
  server = spawn(process.execPath, args, { cwd: tmp, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const serverDone = new Promise((res) => server.on('exit', (code, signal) => {
    serverExited = code ?? signal;
    res(serverExited);
  }));
  for (const s of [server.stdout, server.stderr]) {
    s.on('data', (d) => {
      logStream.write(d);
      if (process.env.SBN_VSCODE_VERBOSE === '1') process.stderr.write(`[code-server] ${d}`);
    });
  }
  const tailLog = () => {
    try {
      const lines = readFileSync(serverLog, 'utf8').trimEnd().split('\n').slice(-40);
      process.stderr.write(`--- code-server log (last ${lines.length} lines) ---\n${lines.join('\n')}\n---\n`);
    } catch { /* none */ }
  };

  // Ready?
  for (;;) {
    if (serverExited !== null) {
      tailLog();
      await finish(1, `code-server exited (${serverExited}) before it was ready`);
    }
    if (await healthz(port)) break;
    if (Date.now() - t0 > 60_000) {
      tailLog();
      await finish(1, 'code-server not ready after 60 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  log(`code-server ready in ${secs(t0)}`);

  browserServer = await playwright.chromium.launchServer({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false, // ours kill it
  });
  browser = await playwright.chromium.connect(browserServer.wsEndpoint());
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await context.newPage();

  let resolveExit;
  const exitCode = new Promise((res) => { resolveExit = res; });
  const summaryRe = /^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/;
  const verbose = process.env.SBN_VSCODE_VERBOSE === '1';
  // codeAutomationLog carries both the extension host's console (tests, the extension) and the workbench's own
  // start-up chatter; drop the latter unless verbose.
  const workbenchNoise = /^(Resolving connection token|Resolved connection token|Creating a socket|Ignoring fetching additional builtin extensions|\[Service Worker\]|ChatSessionStore:|Updating additional builtin extensions cache)/;
  await page.exposeFunction('codeAutomationExit', (code) => resolveExit(Number(code)));
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
  page.on('console', (m) => { if (verbose) process.stderr.write(`[browser ${m.type()}] ${m.text()}\n`); });
  page.on('pageerror', (e) => { if (verbose) process.stderr.write(`[browser pageerror] ${e.message}\n`); });

  const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
  // SBN_VSCODE_EXTENSION: another extension folder under test (debugging the harness); the repo root otherwise.
  const extensionPath = process.env.SBN_VSCODE_EXTENSION ? resolve(process.env.SBN_VSCODE_EXTENSION) : root;
  const payload = [['extensionDevelopmentPath', remote(extensionPath)], ['extensionTestsPath', remote(testsIndex)]];
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
      timer = setTimeout(() => res({ code: 1, why: `timed out after ${opts.timeout} s`, timeout: true }), opts.timeout * 1000);
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
    } catch { /* page gone */ }
  }
  if (outcome.why) tailLog();
  await finish(outcome.code, outcome.why ?? `suite finished with exit code ${outcome.code} in ${secs(t0)}`);
} catch (e) {
  await finish(1, `harness error: ${e?.stack ?? e}`);
}
