// Bundles the CLI, the benchmarks and the test files with esbuild. TensorFlow.js stays external:
// tfjs-node is a native addon and the wasm backend loads its .wasm files from its own package folder.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function listTs(dir) {
  const out = [];
  let entries;
  try {
    entries = readdirSync(join(root, dir));
  } catch {
    return out;
  }
  for (const name of entries) {
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) out.push(...listTs(rel));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  external: ['@tensorflow/*', 'vscode', 'playwright-core', 'onnxruntime-node'],
  logLevel: 'warning',
};

const entries = [
  { in: 'src/cli/sbn.ts', out: 'dist/cli' },
  // the VS Code extension host entry and its training worker process
  { in: 'src/extension/extension.ts', out: 'dist/extension' },
  { in: 'src/extension/worker/worker.ts', out: 'dist/worker' },
  // a worker process of `sbn sweep --jobs N` (src/engine/sweeps/pool.ts)
  { in: 'src/cli/sweepWorker.ts', out: 'dist/sweepWorker' },
  // derives the JSON language service's schema of model files, below
  { in: 'src/extension/language/jsonEditorSchema.ts', out: 'dist/jsonEditorSchema' },
  ...listTs('bench').map((f) => ({ in: f, out: join('dist', f.replace(/\.ts$/, '')) })),
  ...listTs('test')
    .filter((f) => !f.startsWith(join('test', 'integration') + '/'))
    .filter((f) => f.endsWith('.test.ts') || f.includes('/helpers/'))
    .map((f) => ({ in: f, out: join('dist', f.replace(/\.ts$/, '')) })),
];

// Extension-host integration tests (run by scripts/test-vscode.mjs inside code-server): the mocha entry point
// test/integration/index.ts and every test/integration/**/*.vscode-test.ts (not *.test.ts: `node --test` must not
// pick them up). `vscode` comes from the extension host; mocha is required from node_modules at run time so that
// the runner and the test files share one instance.
const integration = {
  ...common,
  external: ['vscode', 'mocha', '@tensorflow/*', 'playwright-core'],
};
const integrationEntries = listTs(join('test', 'integration'))
  .filter((f) => f === join('test', 'integration', 'index.ts') || f.endsWith('.vscode-test.ts'))
  .map((f) => ({ in: f, out: join('dist', f.replace(/\.ts$/, '')) }));

// ---- Webview panels (dashboard, diagnostics, layer statistics) ------------------------------------------------------
// webview/*.ts → dist/webview/*.js for the browser (iife), uPlot and @vscode-elements bundled in; a stylesheet a
// script imports (uPlot's) comes out beside it as dist/webview/*.css. webview/common.ts and webview/common/ are shared
// code, not entries.
// The panels load these under a strict CSP (src/html.ts).
const webview = {
  absWorkingDir: root,
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'chrome120',
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
};
const webviewEntries = listTs('webview')
  .filter((f) => !f.includes('/', 'webview/'.length) && !f.endsWith('common.ts'))
  .map((f) => ({ in: f, out: join('dist', f.replace(/\.ts$/, '')) }));
// -------------------------------------------------------------------------------------------------------------------

await Promise.all([
  ...entries.map((e) => build({ ...common, entryPoints: [e.in], outfile: e.out + '.js' })),
  ...integrationEntries.map((e) => build({ ...integration, entryPoints: [e.in], outfile: e.out + '.js' })),
  ...webviewEntries.map((e) => build({ ...webview, entryPoints: [e.in], outfile: e.out + '.js' })),
]);
entries.push(...integrationEntries, ...webviewEntries);

// What VS Code's JSON language service validates *.sbn.json against (package.json jsonValidation): the model schema
// without its constraints, since our own validator reports those problems (src/extension/language/jsonEditorSchema.ts).
const { jsonEditorSchema } = createRequire(import.meta.url)(join(root, 'dist', 'jsonEditorSchema.js'));
const modelSchema = JSON.parse(readFileSync(join(root, 'schemas', 'sbn-model.schema.json'), 'utf8'));
mkdirSync(join(root, 'dist', 'schemas'), { recursive: true });
writeFileSync(
  join(root, 'dist', 'schemas', 'sbn-model.json-editor.schema.json'),
  JSON.stringify(jsonEditorSchema(modelSchema), null, 2) + '\n',
);
console.error(`build: ${entries.length} bundles -> ${relative(process.cwd(), join(root, 'dist')) || 'dist'}/`);
