#!/usr/bin/env node
// `npm run studio`: open the examples/ workspace in VS Code with SBN Studio loaded from this repository.
//
//   node scripts/open-vscode.mjs [--port N] [--no-open] [--server]
//
// Builds first when dist/extension.js or dist/worker.js is missing or older than src/ (node scripts/build.mjs).
// Then:
//   - desktop VS Code when `code` is on PATH: `code --extensionDevelopmentPath=<repo> <repo>/examples`;
//   - otherwise code-server 4.100.3 (VS Code 1.100.3 in the browser; installed on first use into
//     .vscode-test/code-server/, ~1 min, like the integration tests) on 127.0.0.1, with its settings and window
//     state kept in .vscode-test/studio/ and the extension linked from the repository into its extensions folder.
//     It prints the address to open, opens it in the browser where there is a desktop, and runs until Ctrl-C.
//     After `npm run build`, reload the browser window ("Developer: Reload Window") to load the new build.
// Runs trained from the workbench go to examples/runs/. Workspace trust is off (the folder is trusted).
//
//   --port N     code-server's port (default 8080, or a free one when 8080 is taken)
//   --no-open    do not open a browser (code-server only; implies --server)
//   --server     use code-server even when `code` is on PATH
// Exit status: 0 after Ctrl-C, 1 when the build or the server fails, 2 on a wrong argument or a missing system
// prerequisite (the Debian packages to install are printed).
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CODE_SERVER_VERSION,
  QUIET_SETTINGS,
  checkPrerequisites,
  entry,
  freePort,
  install,
  isInstalled,
  killTree,
  onPath,
  pidAlive,
  portFree,
  prepareState,
  reportPrerequisites,
  root,
  secs,
  serverEnv,
  startServer,
  testDir,
} from './code-server.mjs';

const examples = join(root, 'examples');
const stateDir = join(testDir, 'studio');
const runningFile = join(stateDir, 'running.json');
const DEFAULT_PORT = 8080;

function log(msg) {
  process.stderr.write(`studio: ${msg}\n`);
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
    process.stderr.write(`studio: ${err}\n\n${text}\n`);
    process.exit(2);
  }
  process.stdout.write(`${text}\n`);
  process.exit(0);
}

function parseArgs(argv) {
  const o = { port: 0, open: true, server: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    let port;
    if (a === '--') continue;
    else if (a === '--port' || a === '-p') port = argv[++i];
    else if (a.startsWith('--port=')) port = a.slice(7);
    else if (a === '--no-open') [o.open, o.server] = [false, true];
    else if (a === '--server') o.server = true;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
    if (port !== undefined) {
      o.port = Number(port);
      if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) usage(`--port needs a port number (got ${port})`);
      o.server = true;
    }
  }
  return o;
}

// ----------------------------------------------------------------------------------------------------- build
function newestMtime(dir) {
  let newest = 0;
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const n of names) {
    const p = join(dir, n);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    } // removed meanwhile, or a dangling link
    newest = Math.max(newest, st.isDirectory() ? newestMtime(p) : st.mtimeMs);
  }
  return newest;
}

function buildIfStale() {
  const outputs = ['extension.js', 'worker.js'].map((f) => join(root, 'dist', f));
  const missing = outputs.filter((f) => !existsSync(f));
  const oldest = missing.length ? 0 : Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  const sources = Math.max(newestMtime(join(root, 'src')), statSync(join(root, 'scripts', 'build.mjs')).mtimeMs);
  if (!missing.length && oldest >= sources) return;
  log(
    missing.length
      ? `${missing.map((f) => relative(root, f)).join(', ')} missing: building`
      : 'src/ changed since the last build: building',
  );
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    log(`the build failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
  log(`built in ${secs(t0)}`);
}

// ------------------------------------------------------------------------------------------- desktop VS Code
function codeCommand() {
  if (process.platform === 'win32') return onPath('code.cmd') ? 'code.cmd' : null;
  return onPath('code') ? 'code' : null;
}

function openDesktop(code) {
  const args = [`--extensionDevelopmentPath=${root}`, '--disable-workspace-trust', examples];
  log(`${code} ${args.join(' ')}`);
  const r = spawnSync(code, args, { stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.error) {
    log(`${code}: ${r.error.message}`);
    process.exit(1);
  }
  process.exit(r.status ?? 1);
}

// ---------------------------------------------------------------------------------------------- code-server
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const extensionId = `${pkg.publisher}.${pkg.name}`;

/**
 * Loads the extension from the repository: a link <extensions>/<publisher>.<name>-<version> → the repository,
 * registered in the folder's extensions.json (VS Code scans the folder only while that file does not exist, and
 * ignores folders it does not list afterwards).
 */
function linkExtension(extensionsDir) {
  const name = `${extensionId}-${pkg.version}`;
  const link = join(extensionsDir, name);
  const isLink = (p) => {
    try {
      return lstatSync(p).isSymbolicLink();
    } catch {
      return false;
    }
  };
  // links of other versions go (an installed copy stays, unlisted below)
  for (const n of readdirSync(extensionsDir)) {
    if (n.toLowerCase().startsWith(`${extensionId}-`) && n !== name && isLink(join(extensionsDir, n)))
      rmSync(join(extensionsDir, n));
  }
  let ok = false;
  try {
    ok = isLink(link) && realpathSync(link) === realpathSync(root);
  } catch {
    /* dangling */
  }
  if (!ok) {
    // a stale link, or a copy of this version installed into the studio from a VSIX: the repository wins
    if (existsSync(link) || isLink(link)) rmSync(link, { recursive: !isLink(link), force: true });
    symlinkSync(root, link, 'dir');
  }
  const manifest = join(extensionsDir, 'extensions.json');
  if (!existsSync(manifest)) return; // the first start scans the folder and writes it
  let entries = [];
  try {
    entries = JSON.parse(readFileSync(manifest, 'utf8'));
  } catch {
    /* rewritten below */
  }
  if (!Array.isArray(entries)) entries = [];
  const mine = entries.filter((e) => e?.identifier?.id?.toLowerCase() === extensionId.toLowerCase());
  if (
    mine.length === 1 &&
    mine[0].version === pkg.version &&
    mine[0].relativeLocation === name &&
    mine[0].location?.path === link
  )
    return;
  entries = entries.filter((e) => !mine.includes(e));
  entries.push({
    identifier: { id: extensionId },
    version: pkg.version,
    location: { $mid: 1, path: link, scheme: 'file' },
    relativeLocation: name,
  });
  writeFileSync(manifest, JSON.stringify(entries));
}

function openBrowser(url) {
  const opener =
    process.platform === 'darwin'
      ? 'open'
      : process.platform === 'win32'
        ? null
        : (process.env.DISPLAY || process.env.WAYLAND_DISPLAY) && onPath('xdg-open')
          ? 'xdg-open'
          : null;
  if (process.platform === 'win32') {
    spawn('cmd', ['/c', 'start', '""', url], { detached: true, stdio: 'ignore' })
      .on('error', () => {})
      .unref();
    return true;
  }
  if (!opener) return false;
  spawn(opener, [url], { detached: true, stdio: 'ignore' })
    .on('error', () => {})
    .unref();
  return true;
}

/** Whether `pid` is a live `npm run studio` (a zombie or a recycled pid is not). */
function studioAlive(pid) {
  if (!existsSync('/proc/self')) return pidAlive(pid);
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('open-vscode.mjs');
  } catch {
    return false;
  }
}

function folderUrl(port) {
  return `http://127.0.0.1:${port}/?folder=${encodeURIComponent(examples).replace(/%2F/g, '/')}`;
}

async function serve(opts) {
  const prerequisites = checkPrerequisites(!isInstalled(), { browser: false });
  if (!prerequisites.ok) {
    reportPrerequisites(prerequisites, log);
    process.exit(2);
  }
  try {
    await install({ log });
  } catch (e) {
    log(String(e.message ?? e));
    process.exit(1);
  }

  // One server per state folder: a second `npm run studio` points at the first.
  mkdirSync(stateDir, { recursive: true });
  try {
    const running = JSON.parse(readFileSync(runningFile, 'utf8'));
    if (running.pid && running.pid !== process.pid && studioAlive(running.pid)) {
      log(`already running (pid ${running.pid}); stop it with Ctrl-C in its terminal, or open:`);
      console.log(`\n    ${running.url}\n`);
      if (opts.open) openBrowser(running.url);
      process.exit(0);
    }
    // This script was killed without its clean-up: stop the code-server it left behind (if it still is ours).
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${running.serverPid}/cmdline`, 'utf8');
    } catch {
      /* gone, or no /proc */
    }
    if (running.serverPid && cmdline.includes(entry) && cmdline.includes(stateDir)) {
      log(`stopping the code-server left running by an earlier run (pid ${running.serverPid})`);
      await killTree(running.serverPid, 5000);
    }
  } catch {
    /* none */
  }

  let port = opts.port;
  if (port) {
    if (!(await portFree(port))) usage(`port ${port} is in use on 127.0.0.1`);
  } else {
    port = (await portFree(DEFAULT_PORT)) ? DEFAULT_PORT : await freePort();
  }

  const { userDir, extensionsDir, configFile } = prepareState(stateDir, {
    fresh: false,
    settings: { ...QUIET_SETTINGS, 'git.openRepositoryInParentFolders': 'never' },
  });
  linkExtension(extensionsDir);

  const t0 = Date.now();
  const server = startServer({
    port,
    configFile,
    userDir,
    extensionsDir,
    folder: examples,
    cwd: root,
    env: serverEnv(),
    logFile: join(stateDir, 'code-server.log'),
  });
  let stopping = false;
  const stop = async (code, why) => {
    if (stopping) return;
    stopping = true;
    if (why) log(why);
    await server.stop(5000);
    rmSync(runningFile, { force: true });
    process.exit(code);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => stop(0, `${sig === 'SIGINT' ? 'Ctrl-C' : sig}: stopping code-server`));
  }
  const url = folderUrl(port);
  writeFileSync(
    runningFile,
    `${JSON.stringify({ pid: process.pid, serverPid: server.child.pid, port, url }, null, 2)}\n`,
  );
  try {
    await server.waitReady(60_000);
  } catch (e) {
    server.tailLog(40);
    await stop(1, e.message);
  }
  log(
    `code-server ${CODE_SERVER_VERSION} ready in ${secs(t0)} ` +
      `(log: ${relative(root, join(stateDir, 'code-server.log'))})`,
  );
  const opened = opts.open && openBrowser(url);
  console.log(
    [
      '',
      `  SBN Studio in VS Code (code-server ${CODE_SERVER_VERSION}), examples/ workspace:`,
      '',
      `      ${url}`,
      '',
      `  ${opened ? 'Opened in your browser. ' : ''}The extension is loaded from ${root}; after \`npm run build\`,`,
      '  run "Developer: Reload Window" there. Runs go to examples/runs/. Ctrl-C stops the server.',
      '',
    ].join('\n'),
  );
  const code = await server.exited;
  if (!stopping) {
    server.tailLog(40);
    await stop(1, `code-server exited (${code})`);
  }
}

// ------------------------------------------------------------------------------------------------------ main
const opts = parseArgs(process.argv.slice(2));
buildIfStale();
const code = opts.server ? null : codeCommand();
if (code) openDesktop(code);
else await serve(opts);
