#!/usr/bin/env node
// Tests the packaged extension the way a user gets it: builds the VSIX (scripts/package.mjs), checks what is inside
// (python3's zipfile), installs it into a fresh code-server extensions folder outside the repository with
// `code-server --install-extension <vsix>` (offline; unpacking extension/ by hand is the fallback), then runs the
// integration suites "activation" and "packaged VSIX" (test/integration/packaged.vscode-test.ts) through
// scripts/test-vscode.mjs against that installed copy (SBN_VSCODE_EXTENSION=<installed folder>,
// SBN_VSCODE_PACKAGED=<the same>): the toy-2d example trains with the sbn.trainModel command on the wasm backend,
// then SBN: Set Up Native Backend builds the native backend (against the cached libtensorflow of `npm install`) and
// the same run trains on tensorflow with native kernels; its step rate is printed beside the checkout's.
//
//   node scripts/test-vsix.mjs [--no-package] [--screenshots <dir>]
//
//   --no-package         test the existing sbn-studio-<version>.vsix instead of building it
//   --screenshots <dir>  for the harness (default test-results/vsix/)
// The last line on stdout is "N passed, N failed"; exit status 0 when all passed, 1 otherwise, 2 when a system
// prerequisite is missing. SBN_VSCODE_KEEP=1 keeps the temporary folder.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import {
  CODE_SERVER_VERSION,
  checkPrerequisites,
  entry,
  install,
  isInstalled,
  prepareState,
  reportPrerequisites,
  root,
  secs,
  serverEnv,
} from './code-server.mjs';

const startedAt = Date.now();
function log(msg) {
  process.stderr.write(`test-vsix: ${msg}\n`);
}
function fail(msg, code = 1) {
  log(msg);
  log(`total ${secs(startedAt)}`);
  console.log('0 passed, 1 failed');
  process.exit(code);
}

const argv = process.argv.slice(2).filter((a) => a !== '--');
let build = true;
let screenshots = join(root, 'test-results', 'vsix');
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--no-package') build = false;
  else if (argv[i] === '--screenshots' && i + 1 < argv.length) screenshots = argv[++i];
  else if (argv[i].startsWith('--screenshots=')) screenshots = argv[i].slice(14);
  else fail(`unknown argument ${argv[i]} (options: --no-package, --screenshots <dir>)`, 2);
}
if (!isAbsolute(screenshots)) screenshots = resolve(process.cwd(), screenshots);

const prerequisites = checkPrerequisites(!isInstalled());
if (!prerequisites.ok) {
  reportPrerequisites(prerequisites, log);
  fail('cannot run code-server here', 2);
}
try {
  await install({ log });
} catch (e) {
  fail(String(e.message ?? e));
}

// ------------------------------------------------------------------------------------------------- package
// The suite itself is in dist/ (built by `npm run build`, which `npm test` runs first).
const suiteSource = join(root, 'test', 'integration', 'packaged.vscode-test.ts');
const suiteBundle = join(root, 'dist', 'test', 'integration', 'packaged.vscode-test.js');
if (!existsSync(suiteBundle) || statSync(suiteBundle).mtimeMs < statSync(suiteSource).mtimeMs) {
  log('dist/ lacks the current packaged suite: node scripts/build.mjs');
  const b = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: ['ignore', 2, 2] });
  if (b.status !== 0) fail(`the build failed (exit ${b.status ?? b.signal})`);
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const vsix = join(root, `${pkg.name}-${pkg.version}.vsix`);
if (build) {
  const t0 = Date.now();
  log('node scripts/package.mjs');
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'package.mjs')], { cwd: root, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) fail(`npm run package failed (exit ${r.status ?? r.signal})`);
  log(`packaged in ${secs(t0)}`);
}
if (!existsSync(vsix)) fail(`${vsix} is missing${build ? '' : ' (run without --no-package)'}`);

// A VSIX is a zip: extension/ holds the extension's files.
const py = `
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
if len(sys.argv) > 2:
    for n in z.namelist():
        if n.startswith('extension/') and not n.endswith('/'):
            z.extract(n, sys.argv[2])
print(json.dumps([[i.filename, i.file_size] for i in z.infolist()]))
`;
function unzip(file, dest) {
  const r = spawnSync('python3', ['-c', py, file, ...(dest ? [dest] : [])], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) fail(`python3 zipfile could not read ${file}: ${r.error?.message ?? r.stderr}`);
  return JSON.parse(r.stdout);
}
const entries = unzip(vsix);
const files = entries.filter(([n]) => n.startsWith('extension/')).map(([n]) => n.slice('extension/'.length));
const size = statSync(vsix).size;
const unpacked = entries.reduce((s, [, n]) => s + n, 0);
log(
  `${vsix.slice(root.length + 1)}: ${(size / 1024 / 1024).toFixed(2)} MiB, ${entries.length} entries, ` +
    `${(unpacked / 1024 / 1024).toFixed(2)} MiB unpacked`,
);
const required = [
  'package.json',
  'package.nls.json',
  'dist/extension.js',
  'dist/worker.js',
  'dist/sweepWorker.js',
  'schemas/sbn-model.schema.json',
  'schemas/sbn-sweep.schema.json',
  'dist/schemas/sbn-model.json-editor.schema.json',
  'media/sbn-activity.svg',
  // the sources SBN: Set Up Native Backend compiles
  'dist/native-src/tfjs-node/binding.gyp',
  'dist/native-src/tfjs-node/binding/tfjs_backend.cc',
  'dist/native-src/kernels/binding.gyp',
  'dist/native-src/kernels/src/addon.cc',
];
const missing = required.filter((f) => !files.includes(f));
if (!files.some((f) => /^dist\/wasm\/.+\.wasm$/.test(f))) missing.push('dist/wasm/*.wasm');
if (missing.length) fail(`the VSIX lacks ${missing.join(', ')}`);
const stray = files.filter(
  (f) => !f.startsWith('dist/native-src/') && /(^|\/)node_modules\/|\.map$|(^|\/)(src|test)\//.test(f),
);
if (stray.length) fail(`the VSIX holds files it should not: ${stray.slice(0, 5).join(', ')}`);

// The README as the Marketplace, Open VSX and VS Code's extension page show it: vsce rewrote its relative links and
// images against the manifest's `repository`; each must point at a file the repository tracks, or lie in the VSIX.
const readme = spawnSync(
  'python3',
  [
    '-c',
    'import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read("extension/readme.md").decode())',
    vsix,
  ],
  { encoding: 'utf8', maxBuffer: 16 << 20 },
);
if (readme.status !== 0) fail(`the VSIX has no extension/readme.md: ${readme.stderr.trim()}`);
const repoBase = pkg.repository.url.replace(/\.git$/, '');
const tracked = new Set(
  spawnSync('git', ['ls-files'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 }).stdout.split('\n'),
);
const targets = [...readme.stdout.matchAll(/\]\(([^)\s]+)/g)].map((m) => m[1]);
const broken = targets.filter((t) => {
  if (t.startsWith(`${repoBase}/`)) {
    const m = t.slice(repoBase.length).match(/^\/(?:raw|blob)\/HEAD\/([^#?]+)/);
    return (
      !m ||
      (!tracked.has(m[1].replace(/\/$/, '')) && ![...tracked].some((f) => f.startsWith(m[1].replace(/\/?$/, '/'))))
    );
  }
  if (/^(https?:|mailto:|#)/.test(t)) return false;
  return !files.includes(t.replace(/^\.\//, ''));
});
if (broken.length)
  fail(
    `the packaged README points to what is neither in the repository nor in the VSIX: ${broken.slice(0, 5).join(', ')}`,
  );
log(`packaged README: ${targets.length} links and images, all in the repository or the VSIX`);

// ------------------------------------------------------------------------------------------------- install
// Outside the repository, so that nothing resolves modules from its node_modules (tfjs-node among them).
const tmp = mkdtempSync(join(tmpdir(), 'sbn-vsix-'));
const cleanup = () => {
  if (process.env.SBN_VSCODE_KEEP === '1') log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
};
const extensionsDir = join(tmp, 'extensions');
const folder = join(extensionsDir, `${pkg.publisher}.${pkg.name}-${pkg.version}`.toLowerCase());
const state = prepareState(tmp);
let t0 = Date.now();
const r = spawnSync(
  process.execPath,
  [
    entry,
    '--config',
    state.configFile,
    '--user-data-dir',
    state.userDir,
    '--extensions-dir',
    extensionsDir,
    '--install-extension',
    vsix,
  ],
  {
    cwd: tmp,
    env: serverEnv(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  },
);
if (r.status === 0 && existsSync(join(folder, 'package.json'))) {
  log(`code-server ${CODE_SERVER_VERSION} --install-extension: installed in ${secs(t0)} (${folder})`);
} else {
  log(`code-server --install-extension failed (exit ${r.status ?? r.signal}): ${(r.stdout + r.stderr).trim()}`);
  log(`unpacking extension/ into ${folder} instead`);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(join(tmp, 'unpacked'));
  unzip(vsix, join(tmp, 'unpacked'));
  mkdirSync(extensionsDir, { recursive: true });
  spawnSync('mv', [join(tmp, 'unpacked', 'extension'), folder]);
  if (!existsSync(join(folder, 'package.json'))) {
    cleanup();
    fail('could not unpack the VSIX');
  }
}
const installedFiles = (function list(dir, prefix = '') {
  return readdirSync(dir).flatMap((n) =>
    statSync(join(dir, n)).isDirectory() ? list(join(dir, n), `${prefix}${n}/`) : [`${prefix}${n}`],
  );
})(folder);
// vsce renames README.md/LICENSE inside the VSIX; compare case-insensitively.
const lower = new Set(installedFiles.map((f) => f.toLowerCase()));
const notInstalled = files.filter((f) => !lower.has(f.toLowerCase()));
if (notInstalled.length) {
  cleanup();
  fail(`the installed folder lacks ${notInstalled.slice(0, 5).join(', ')}`);
}

// ------------------------------------------------------------------------------------------- the suites
t0 = Date.now();
const child = spawn(
  process.execPath,
  [join(root, 'scripts', 'test-vscode.mjs'), '--grep', '^(activation|packaged VSIX) ', '--screenshots', screenshots],
  {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, SBN_VSCODE_EXTENSION: folder, SBN_VSCODE_PACKAGED: folder },
  },
);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
const code = await new Promise((res) => {
  child.on('error', (e) => {
    log(e.message);
    res(1);
  });
  child.on('close', (c, signal) => res(c ?? (signal ? 128 : 1)));
});
cleanup();
log(`VSIX ${(size / 1024 / 1024).toFixed(2)} MiB; suites ${secs(t0)}; total ${secs(startedAt)}`);
process.exit(code);
