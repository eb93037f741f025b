// code-server 4.100.3 (a VS Code 1.100.3 server with its web workbench) for the scripts that need a real VS Code
// here: scripts/test-vscode.mjs (integration tests), scripts/test-vsix.mjs (the packaged extension) and
// scripts/open-vscode.mjs (`npm run studio`). Why code-server and how: docs/testing.md, "How the VS Code tests run".
//
// It is installed on first use into .vscode-test/code-server/ (git-ignored, ~46 s, ~300 MB), never as a dependency
// of the project. Every function that reports progress takes a `log(message)` function.
import { spawn, spawnSync } from 'node:child_process';
import {
  createWriteStream,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
export const CODE_SERVER_VERSION = '4.100.3';
// @vscode/ripgrep as pinned by code-server 4.100.3's lib/vscode: its postinstall looks for this tarball in
// $TMPDIR/vscode-ripgrep-cache-<its version>/ before downloading from GitHub.
const RIPGREP_CACHE = 'vscode-ripgrep-cache-1.15.11';
const RIPGREP_TARBALL = {
  x64: 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz',
  arm64: 'ripgrep-v13.0.0-10-aarch64-unknown-linux-musl.tar.gz',
}[process.arch];
export const testDir = join(root, '.vscode-test');
export const installDir = join(testDir, 'code-server');
/** code-server's entry point: run it with this Node (`node entry.js <args>`). */
export const entry = join(installDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const marker = join(installDir, '.installed');

const defaultLog = (msg) => process.stderr.write(`code-server: ${msg}\n`);

export function secs(t0) {
  return `${((Date.now() - t0) / 1000).toFixed(1)} s`;
}

// -------------------------------------------------------------------------------------------- prerequisites
export function onPath(cmd) {
  return (process.env.PATH || '').split(':').some((d) => {
    try {
      return d && statSync(join(d, cmd)).isFile();
    } catch {
      return false;
    }
  });
}

export function chromiumPath() {
  return process.env.CHROMIUM_PATH || '/usr/bin/chromium';
}

/**
 * Headless Chromium for driving the workbench (Debian's chromium through playwright-core); the flags are shared with
 * the unit tests' pages (test/unit/helpers/browser.ts).
 */
export const CHROMIUM_ARGS = JSON.parse(readFileSync(new URL('./chromium-args.json', import.meta.url), 'utf8'));

/**
 * What this machine lacks to run (and, with `needInstall`, to install) code-server; `browser: false` when no
 * Chromium is needed. Returns { ok, problems, packages, nodeOk }; print it with reportPrerequisites().
 */
export function checkPrerequisites(needInstall, { browser = true } = {}) {
  const problems = [];
  const packages = new Set();
  const need = (ok, what, pkg) => {
    if (ok) return;
    problems.push(what);
    if (pkg) packages.add(pkg);
  };
  const major = Number(process.versions.node.split('.')[0]);
  need(
    major === 20,
    `Node 20 (code-server ${CODE_SERVER_VERSION} is built for Node 20; this is ${process.version})`,
    null,
  );
  if (browser) {
    need(existsSync(chromiumPath()), `a Chromium browser at ${chromiumPath()} (or set CHROMIUM_PATH)`, 'chromium');
  }
  if (needInstall) {
    need(onPath('rg'), 'ripgrep (`rg`; its binary seeds @vscode/ripgrep, which would download from GitHub)', 'ripgrep');
    need(existsSync('/usr/include/gssapi/gssapi.h'), 'gssapi/gssapi.h (the `kerberos` native build)', 'libkrb5-dev');
    need(onPath('pkg-config'), 'pkg-config (the `kerberos` native build)', 'pkg-config');
    need(onPath('make'), 'make (node-gyp)', 'make');
    need(onPath('g++'), 'g++ (node-gyp)', 'g++');
    need(onPath('python3'), 'python3 (node-gyp)', 'python3');
    need(onPath('tar'), 'tar', 'tar');
    need(
      !!RIPGREP_TARBALL,
      `a supported architecture for the ripgrep seed (x64 or arm64; this is ${process.arch})`,
      null,
    );
  }
  return { ok: problems.length === 0, problems, packages: [...packages], nodeOk: major === 20 };
}

export function reportPrerequisites(check, log = defaultLog) {
  if (check.ok) return;
  log('missing system prerequisites:');
  for (const p of check.problems) process.stderr.write(`  - ${p}\n`);
  if (check.packages.length) {
    process.stderr.write(
      'Install them with (Debian/Ubuntu, as root):\n' +
        `  apt-get update && apt-get install -y ${check.packages.join(' ')}\n`,
    );
  }
  if (!check.nodeOk)
    process.stderr.write("Run with Node 20.x (e.g. Debian trixie's nodejs package, or nodesource node_20.x).\n");
}

// ------------------------------------------------------------------------------------------------- install
export function isInstalled() {
  try {
    return (
      readFileSync(marker, 'utf8').trim() === CODE_SERVER_VERSION &&
      existsSync(entry) &&
      existsSync(join(installDir, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules'))
    );
  } catch {
    return false;
  }
}

export function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

// Two runs at once (npm test in two shells) must not install into the same folder concurrently.
async function withInstallLock(fn, log) {
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
      try {
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        /* being created */
      }
      if (owner && !pidAlive(owner)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - t0 > 15 * 60_000)
        throw new Error(`install lock ${lock} held for 15 minutes by pid ${owner}`, { cause: e });
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

/** Runs a command with its output on stderr; resolves with its exit code (127 when it cannot start). */
export function run(cmd, args, opts, log = defaultLog) {
  return new Promise((res) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 2, 2], ...opts });
    child.on('error', (e) => {
      log(`${cmd}: ${e.message}`);
      res(127);
    });
    child.on('close', (code, signal) => res(code ?? (signal ? 128 : 1)));
  });
}

/** Installs code-server into .vscode-test/code-server/ unless it is there; throws with the reason on failure. */
export async function install({ log = defaultLog } = {}) {
  if (isInstalled()) return;
  await withInstallLock(async () => {
    if (isInstalled()) return; // another run finished it while we waited
    const t0 = Date.now();
    log(`installing code-server@${CODE_SERVER_VERSION} into ${installDir} (first use only; ~1 min, ~300 MB)`);
    // A half-finished earlier attempt: start from scratch.
    rmSync(installDir, { recursive: true, force: true });
    mkdirSync(installDir, { recursive: true });
    writeFileSync(
      join(installDir, 'package.json'),
      `${JSON.stringify(
        {
          name: 'sbn-studio-vscode-test',
          private: true,
          description: 'code-server for scripts/test-vscode.mjs; installed on first use, not a project dependency',
          // npm >= 11.16 reviews dependency install scripts; these two must run (code-server's postinstall installs
          // VS Code's own node_modules; argon2 is a native module).
          allowScripts: { 'code-server': true, argon2: true },
        },
        null,
        2,
      )}\n`,
    );

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

    const npm =
      process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath)
        ? [process.execPath, [process.env.npm_execpath]]
        : ['npm', []];
    const args = [
      ...npm[1],
      'install',
      '--prefix',
      installDir,
      '--no-audit',
      '--no-fund',
      '--no-update-notifier',
      '--loglevel=warn',
      `code-server@${CODE_SERVER_VERSION}`,
    ];
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
    const code = await run(npm[0], args, { cwd: installDir, env }, log);
    if (code !== 0) throw new Error(`npm install code-server@${CODE_SERVER_VERSION} failed (exit ${code}); see above`);
    const rgBin = join(
      installDir,
      'node_modules',
      'code-server',
      'lib',
      'vscode',
      'node_modules',
      '@vscode',
      'ripgrep',
      'bin',
      'rg',
    );
    if (!existsSync(entry) || !existsSync(rgBin)) {
      throw new Error(`code-server installed incompletely (missing ${existsSync(entry) ? rgBin : entry})`);
    }
    writeFileSync(marker, `${CODE_SERVER_VERSION}\n`);
    log(`installed code-server@${CODE_SERVER_VERSION} in ${secs(t0)}`);
  }, log);
}

// ---------------------------------------------------------------------------------------------- processes
/** A TCP port that is free on 127.0.0.1 now. */
export function freePort() {
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

/** Whether `port` can be listened on at 127.0.0.1. */
export function portFree(port) {
  return new Promise((res) => {
    const s = createNetServer();
    s.unref();
    s.on('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

function descendants(pid) {
  const children = new Map();
  let names;
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(n));
    } catch {
      /* gone */
    }
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
export async function killTree(pid, graceMs) {
  if (!pid) return;
  const targets = () => [pid, ...descendants(pid)];
  const signalAll = (sig) => {
    try {
      process.kill(-pid, sig);
    } catch {
      /* no group */
    }
    for (const p of targets()) {
      try {
        process.kill(p, sig);
      } catch {
        /* gone */
      }
    }
  };
  const pids = targets();
  signalAll('SIGTERM');
  const t0 = Date.now();
  while (Date.now() - t0 < graceMs && pids.some(pidAlive)) await new Promise((r) => setTimeout(r, 100));
  const left = pids.filter(pidAlive);
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* no group left */
  }
  for (const p of left) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** Whether code-server answers GET /healthz on 127.0.0.1:`port`. */
export function healthz(port) {
  return new Promise((res) => {
    const req = httpGet({ host: '127.0.0.1', port, path: '/healthz', timeout: 2000 }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on('error', () => res(false));
    req.on('timeout', () => {
      req.destroy();
      res(false);
    });
  });
}

// ------------------------------------------------------------------------------------------- server state
/** User settings for a quiet workbench: no welcome page, no tips, no telemetry, update checks or trust prompt. */
export const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.startupPrompt': 'never',
};

/**
 * The state folders of a code-server under `dir`: user data (dir/user, with User/settings.json), extensions
 * (dir/extensions) and dir/config.yaml (auth none, no certificate). `fresh`: `dir` is new, write everything;
 * otherwise keep what is there (settings a user changed) and only create what is missing.
 */
export function prepareState(dir, { settings = QUIET_SETTINGS, fresh = true } = {}) {
  const userDir = join(dir, 'user');
  const extensionsDir = join(dir, 'extensions');
  const configFile = join(dir, 'config.yaml');
  mkdirSync(join(userDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  const settingsFile = join(userDir, 'User', 'settings.json');
  if (fresh || !existsSync(settingsFile)) writeFileSync(settingsFile, `${JSON.stringify(settings, null, 2)}\n`);
  if (fresh || !existsSync(configFile)) writeFileSync(configFile, 'auth: none\ncert: false\n');
  return { userDir, extensionsDir, configFile };
}

/** code-server's command line (after `node entry.js`) for a server on 127.0.0.1:`port` opening `folder`. */
export function serverArgs({ port, configFile, userDir, extensionsDir, trust = false, folder }) {
  return [
    '--config',
    configFile,
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    ...(trust ? [] : ['--disable-workspace-trust']),
    '--user-data-dir',
    userDir,
    '--extensions-dir',
    extensionsDir,
    ...(folder ? [folder] : []),
  ];
}

/** The environment for code-server: no gallery calls, not captured by the terminal of another VS Code. */
export function serverEnv(extra = {}) {
  const env = { ...process.env, EXTENSIONS_GALLERY: '{}', ...extra };
  delete env.VSCODE_IPC_HOOK_CLI; // a terminal of another VS Code must not capture this one
  return env;
}

/**
 * Starts code-server (detached: its own process group, stopped with stop()) with its output in `logFile`, and
 * `onOutput(chunk)` for each chunk. Returns { child, port, exitCode (null while it runs), exited (a promise of
 * the exit code or signal), waitReady(timeoutMs), tailLog(n), stop(graceMs) }. waitReady() throws
 * "code-server exited (X) before it was ready" or "code-server not ready after N s".
 */
export function startServer({
  port,
  configFile,
  userDir,
  extensionsDir,
  trust = false,
  folder,
  env,
  cwd,
  logFile,
  onOutput,
}) {
  const args = [entry, ...serverArgs({ port, configFile, userDir, extensionsDir, trust, folder })];
  const logStream = logFile ? createWriteStream(logFile) : null;
  const child = spawn(process.execPath, args, {
    cwd,
    env: env ?? serverEnv(),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const handle = {
    child,
    port,
    exitCode: null,
    exited: null,
    async waitReady(timeoutMs = 60_000) {
      const t0 = Date.now();
      for (;;) {
        if (handle.exitCode !== null) throw new Error(`code-server exited (${handle.exitCode}) before it was ready`);
        if (await healthz(port)) return;
        if (Date.now() - t0 > timeoutMs)
          throw new Error(`code-server not ready after ${Math.round(timeoutMs / 1000)} s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    tailLog(n = 40) {
      try {
        const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-n);
        process.stderr.write(`--- code-server log (last ${lines.length} lines) ---\n${lines.join('\n')}\n---\n`);
      } catch {
        /* none */
      }
    },
    async stop(graceMs = 5000) {
      // A wrapper that died may have left children behind: no grace for those.
      await killTree(child.pid, handle.exitCode === null ? graceMs : 0);
    },
  };
  handle.exited = new Promise((res) =>
    child.on('exit', (code, signal) => {
      handle.exitCode = code ?? signal;
      res(handle.exitCode);
    }),
  );
  for (const s of [child.stdout, child.stderr]) {
    s.on('data', (d) => {
      logStream?.write(d);
      onOutput?.(d);
    });
  }
  return handle;
}
