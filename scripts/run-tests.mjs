// `npm test`: build (esbuild), type-check (tsc --noEmit), lint (ESLint, prettier --check), then run the unit tests
// (dist/test/unit/**/*.test.js) with node:test: the backends are wasm always, tensorflow when tfjs-node loads here.
// Each test file says on its first line whether its results depend on the tensor backend (docs/testing.md):
//   // test-backends: each      run once per backend (anything computing with tensors)
//   // test-backends: one       run once, on the primary backend (tensorflow when it loads, else the first)
// A file without that line stops the run. Then the extension-host integration tests in real VS Code
// (scripts/test-vscode.mjs) and the packaged VSIX installed there (scripts/test-vsix.mjs); SBN_SKIP_VSCODE_TESTS=1
// skips both.
//   npm test -- spec estimators      only test files whose path contains "spec" or "estimators"
//   SBN_TEST_BACKENDS=wasm npm test  restrict the backends (comma-separated: wasm, tensorflow, cpu)
// The last line printed is "N passed, N failed[, N skipped]" (totals over backends). Exit 1 on any failure, on a
// type error, or when no test ran.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2).filter((a) => a !== '--');

function step(title) {
  process.stderr.write(`\n== ${title}\n`);
}
function die(msg) {
  process.stderr.write(`run-tests: ${msg}\n`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
function runSync(args, what) {
  const t = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) die(`${what} failed (exit ${r.status ?? r.signal})`);
  process.stderr.write(`${what}: ok (${((Date.now() - t) / 1000).toFixed(1)} s)\n`);
}

step('build');
runSync([join(root, 'scripts', 'build.mjs')], 'build');

step('type check');
runSync(
  [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json'), '--noEmit'],
  'tsc --noEmit',
);
// the panels' browser code has its own compiler settings (DOM types, no Node)
runSync(
  [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'webview', 'tsconfig.json'), '--noEmit'],
  'tsc --noEmit (webview)',
);

// The linter and the formatter check cover the whole tree, so a filtered run (`npm test -- spec`), made while
// working on one part, leaves them to `npm run lint`; the full run (and CI) always runs both.
if (filters.length === 0) {
  step('lint');
  runSync([join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), '--max-warnings', '0', '.'], 'eslint');
  runSync(
    [join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs'), '--check', '--log-level', 'warn', '.'],
    'prettier --check',
  );
} else {
  process.stderr.write('lint: left to `npm run lint` in a filtered run\n');
}

function listTests(dir) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return listTests(p);
    return n.endsWith('.test.js') ? [p] : [];
  });
}
const files = listTests(join(root, 'dist', 'test', 'unit'))
  .map((f) => relative(root, f))
  // dist/ is not cleaned between builds: skip bundles whose test/**/*.test.ts source is gone.
  .filter((f) => existsSync(join(root, f.slice('dist/'.length).replace(/\.js$/, '.ts'))))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0)
  die(`no test files under dist/test/unit${filters.length ? ` matching ${filters.join(' or ')}` : ''}`);

// Whether a file runs on every backend or once: the marker on the first line of its source (test/**/*.test.ts).
const BACKEND_MARKER = /^\/\/ test-backends: (each|one)\s*$/;
const perBackend = new Set();
const unmarked = [];
for (const f of files) {
  const source = f.slice('dist/'.length).replace(/\.js$/, '.ts');
  const firstLine = readFileSync(join(root, source), 'utf8').split('\n', 1)[0];
  const m = BACKEND_MARKER.exec(firstLine);
  if (!m) unmarked.push(source);
  else if (m[1] === 'each') perBackend.add(f);
}
if (unmarked.length > 0) {
  die(
    `${unmarked.join(', ')}: the first line must say which backends the file runs on: ` +
      '"// test-backends: each" (it computes with tensors) or "// test-backends: one" (docs/testing.md)',
  );
}

function tensorflowLoads() {
  const code =
    "const tf=require('@tensorflow/tfjs-node');process.stdout.write(String(tf.backend().binding.TF_Version))";
  const r = spawnSync(process.execPath, ['-e', code], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' },
  });
  return r.status === 0 ? r.stdout.trim() : null;
}

let backends;
if (process.env.SBN_TEST_BACKENDS) {
  backends = process.env.SBN_TEST_BACKENDS.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
} else {
  backends = ['wasm'];
  const v = tensorflowLoads();
  if (v) backends.push('tensorflow');
  else process.stderr.write('run-tests: tfjs-node does not load here; testing the wasm backend only\n');
}

// The backend that runs the backend-independent files, and the full statistical tests (fewer draws elsewhere, see
// test/unit/helpers/backends.ts): tensorflow, the faster one and what `auto` picks where it loads.
const primary = backends.includes('tensorflow') ? 'tensorflow' : backends[0];
const filesOf = (backend) => files.filter((f) => backend === primary || perBackend.has(f));

function parseTap(text) {
  const count = (key) => {
    const m = text.match(new RegExp(`^# ${key} (\\d+)$`, 'm'));
    return m ? Number(m[1]) : 0;
  };
  return {
    tests: count('tests'),
    pass: count('pass'),
    fail: count('fail'),
    skipped: count('skipped') + count('todo'),
    cancelled: count('cancelled'),
  };
}

function runBackend(backend, backendFiles, tapFile) {
  return new Promise((resolve) => {
    const args = [
      '--enable-source-maps',
      '--test',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tapFile}`,
      ...backendFiles,
    ];
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        SBN_BACKEND: backend,
        SBN_TEST_PRIMARY_BACKEND: primary,
        TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2',
      },
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

const tmp = mkdtempSync(join(tmpdir(), 'sbn-test-'));
const results = [];
try {
  for (const backend of backends) {
    const backendFiles = filesOf(backend);
    const what = backend === primary ? 'every file' : 'the files marked "test-backends: each"';
    if (backendFiles.length === 0) {
      step(`unit tests, SBN_BACKEND=${backend}: none of ${what} matches`);
      continue;
    }
    const count = `${backendFiles.length} file${backendFiles.length === 1 ? '' : 's'}`;
    step(`unit tests, SBN_BACKEND=${backend} (${count}: ${what})`);
    const tapFile = join(tmp, `${backend}.tap`);
    const t = Date.now();
    const code = await runBackend(backend, backendFiles, tapFile);
    let tap = '';
    try {
      tap = readFileSync(tapFile, 'utf8');
    } catch {
      /* crashed before writing */
    }
    const r = parseTap(tap);
    r.fail += r.cancelled;
    if (code !== 0 && r.fail === 0) r.fail = 1; // the runner itself failed (crash, signal)
    results.push({ backend, ...r, code, secs: (Date.now() - t) / 1000, files: backendFiles.length });
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

// Extension-host integration tests inside real VS Code (code-server + chromium, installed on first use into
// .vscode-test/): scripts/test-vscode.mjs, then the packaged VSIX installed into code-server (scripts/test-vsix.mjs);
// the last stdout line of each is "N passed, N failed[, N skipped]".
function runVscode(script) {
  return new Promise((resolve) => {
    let out = '';
    const child = spawn(process.execPath, [join(root, 'scripts', script)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on('error', (e) => {
      out += `\n${e.message}\n`;
    });
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), out }));
  });
}
async function vscodeStage(script, name, title) {
  step(title);
  const t = Date.now();
  const { code, out } = await runVscode(script);
  const lines = [...out.matchAll(/^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/gm)];
  const m = lines.at(-1);
  const r = { pass: m ? Number(m[1]) : 0, fail: m ? Number(m[2]) : 0, skipped: m ? Number(m[3] ?? 0) : 0 };
  r.tests = r.pass + r.fail + r.skipped;
  if (code !== 0 && r.fail === 0) r.fail = 1;
  const note = code === 2 ? ' (missing system prerequisites, see above)' : '';
  results.push({
    backend: name,
    runner: script.replace(/\.mjs$/, ''),
    note,
    ...r,
    code,
    secs: (Date.now() - t) / 1000,
  });
  return code;
}
if (process.env.SBN_SKIP_VSCODE_TESTS === '1') {
  step('VS Code integration tests: skipped (SBN_SKIP_VSCODE_TESTS=1)');
} else {
  const code = await vscodeStage('test-vscode.mjs', 'vscode', 'VS Code integration tests (scripts/test-vscode.mjs)');
  if (code === 2) step('packaged VSIX tests: skipped (missing system prerequisites, see above)');
  else await vscodeStage('test-vsix.mjs', 'vsix', 'packaged VSIX installed in VS Code (scripts/test-vsix.mjs)');
}

step('summary');
const total = { pass: 0, fail: 0, skipped: 0 };
for (const r of results) {
  const skipped = r.skipped ? `, ${r.skipped} skipped` : '';
  const crashed =
    r.code !== 0 && r.fail === 1 && r.pass + r.skipped === r.tests
      ? ` (${r.runner ?? 'node --test'} exit ${r.code})`
      : '';
  console.log(
    `${r.backend.padEnd(10)} ${r.pass} passed, ${r.fail} failed${skipped}${crashed}${r.note ?? ''} ` +
      `in ${r.secs.toFixed(1)} s${r.files ? ` (${r.files} file${r.files === 1 ? '' : 's'})` : ''}`,
  );
  total.pass += r.pass;
  total.fail += r.fail;
  total.skipped += r.skipped;
}
const ran = total.pass + total.fail;
console.log(`${total.pass} passed, ${total.fail} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`);
process.exitCode = total.fail > 0 || ran === 0 ? 1 : 0;
