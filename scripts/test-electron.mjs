#!/usr/bin/env node
// `npm run test:electron`: the extension-host integration suite (dist/test/integration/index.js, built from
// test/integration/) in desktop VS Code (Electron) through @vscode/test-electron, for machines that can download
// VS Code. scripts/test-vscode.mjs runs the same suite in code-server (VS Code's server with its web workbench) and
// needs no download; this launcher is the second opinion of the desktop build.
//
//   node scripts/test-electron.mjs [--grep <pattern>] [--vscode-version <version>]
//
//   --grep <pattern>            only tests whose full title matches (mocha grep; passed as SBN_VSCODE_GREP)
//   --vscode-version <version>  VS Code to download: 1.100.3 by default (the one inside code-server 4.100.3, so that
//                               both launchers test the same VS Code), `stable`, `insiders` or another version
//                               (env SBN_VSCODE_VERSION)
// VS Code is cached in .cache/vscode-electron/ (git-ignored). On Linux it needs a display: run it under
// `xvfb-run -a npm run test:electron` on a machine without one.
//
// Where VS Code cannot be downloaded (no network, as on the machines this project is developed on), the launcher
// says so in one line and exits 0 with "skipped"; SBN_ELECTRON_REQUIRED=1 makes that a failure (exit 1) for CI
// machines that must run it. The reachability check gives up after a few seconds, the download after 15 s without
// data. Exit status otherwise: 0 when every test passed, 1 when one failed, 2 when a prerequisite is missing.
// UI tests (those that drive the page through the code-server harness) skip themselves here.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CODE_SERVER_VERSION, prepareState, root, secs } from './code-server.mjs';

const startedAt = Date.now();
const cachePath = join(root, '.cache', 'vscode-electron');
const testsIndex = join(root, 'dist', 'test', 'integration', 'index.js');
/** code-server 4.X.Y carries VS Code 1.X.Y. */
const DEFAULT_VERSION = CODE_SERVER_VERSION.replace(/^4\./, '1.');
const DOWNLOAD_HOST = 'update.code.visualstudio.com';
const PROBE_TIMEOUT_MS = 8000;
const IDLE_TIMEOUT_MS = 15_000;

function log(msg) {
  process.stderr.write(`test-electron: ${msg}\n`);
}
function usage(err) {
  log(`${err}\nusage: node scripts/test-electron.mjs [--grep <pattern>] [--vscode-version <version>]`);
  process.exit(2);
}

let grep = process.env.SBN_VSCODE_GREP || '';
let version = process.env.SBN_VSCODE_VERSION || DEFAULT_VERSION;
const argv = process.argv.slice(2).filter((a) => a !== '--');
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
  if (a === '--grep' || a === '-g') grep = value();
  else if (a.startsWith('--grep=')) grep = a.slice(7);
  else if (a === '--vscode-version') version = value();
  else if (a.startsWith('--vscode-version=')) version = a.slice(17);
  else usage(`unknown argument ${a}`);
}

function skip(why) {
  const required = process.env.SBN_ELECTRON_REQUIRED === '1';
  console.log(
    `test:electron: ${required ? 'FAILED' : 'skipped'}: ${why}; ` +
      '`node scripts/test-vscode.mjs` runs the same suite in code-server',
  );
  process.exit(required ? 1 : 0);
}

/** Resolves when https://update.code.visualstudio.com answers at all; rejects with the reason otherwise. */
function probe() {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: DOWNLOAD_HOST, path: '/api/releases/stable', method: 'HEAD', timeout: PROBE_TIMEOUT_MS },
      (res) => {
        res.resume();
        resolve(res.statusCode);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${PROBE_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

let electron;
try {
  electron = await import('@vscode/test-electron');
} catch {
  log('@vscode/test-electron is not installed: run `npm install` (it is a devDependency)');
  process.exit(2);
}

// The suite itself (scripts/build.mjs builds it; `npm test` runs the build first).
const suiteSource = join(root, 'test', 'integration', 'index.ts');
if (!existsSync(testsIndex) || statSync(testsIndex).mtimeMs < statSync(suiteSource).mtimeMs) {
  log('building dist/ (node scripts/build.mjs)');
  const b = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: ['ignore', 2, 2] });
  if (b.status !== 0) {
    log(`the build failed (exit ${b.status ?? b.signal})`);
    process.exit(1);
  }
}

// A pinned version already in the cache needs no network (test-electron's folder: vscode-<platform>-<version>);
// anything else does.
const cached =
  /^\d+\.\d+\.\d+$/.test(version) &&
  existsSync(cachePath) &&
  readdirSync(cachePath).some((d) => d.startsWith('vscode-') && d.endsWith(`-${version}`));
if (!cached) {
  try {
    await probe();
  } catch (e) {
    skip(
      `VS Code ${version} is not in .cache/vscode-electron/ and cannot be downloaded: ` +
        `${DOWNLOAD_HOST} is not reachable (${e.code ?? e.message})`,
    );
  }
}

let executable;
try {
  const t0 = Date.now();
  executable = await electron.download({ version, cachePath, timeout: IDLE_TIMEOUT_MS });
  log(`VS Code ${version}: ${executable} (${secs(t0)})`);
} catch (e) {
  skip(`VS Code ${version} could not be downloaded (${String(e?.message ?? e).split('\n')[0]})`);
}

if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
  log('no display (DISPLAY is not set): run `xvfb-run -a npm run test:electron`');
  process.exit(2);
}

// A throw-away copy of examples/ as the workspace, and fresh, quiet user data (the same settings as code-server's).
const tmp = mkdtempSync(join(tmpdir(), 'sbn-electron-'));
const workspace = join(tmp, 'workspace');
cpSync(join(root, 'examples'), workspace, { recursive: true });
const { userDir, extensionsDir } = prepareState(tmp);
let code;
try {
  code = await electron.runTests({
    vscodeExecutablePath: executable,
    extensionDevelopmentPath: root,
    extensionTestsPath: testsIndex,
    launchArgs: [
      workspace,
      '--disable-extensions',
      '--disable-workspace-trust',
      '--skip-welcome',
      '--skip-release-notes',
      '--user-data-dir',
      userDir,
      '--extensions-dir',
      extensionsDir,
      // Electron refuses to run as root without it
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
    ],
    extensionTestsEnv: { SBN_VSCODE_GREP: grep, SBN_VSCODE_WORKSPACE_PATH: workspace },
  });
} catch (e) {
  log(String(e?.message ?? e));
  code = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
}
log(`total ${secs(startedAt)}`);
process.exit(code === 0 ? 0 : 1);
