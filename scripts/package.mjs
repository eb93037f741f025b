// `npm run package`: a VSIX of the extension, built offline with @vscode/vsce.
// The extension host and the worker are bundled with TensorFlow.js inside (only `vscode` stays outside), the wasm
// backend's binaries are copied beside the worker, and the package is staged in .package/ so that nothing but what
// the extension needs goes in. The worker also bundles tfjs-node's JavaScript, with its binding lookup
// (@mapbox/node-pre-gyp) answered by src/engine/native/tfjsBinding.ts: the binding itself is compiled per machine
// by SBN: Set Up Native Backend from the sources in dist/native-src/ (tfjs-node's binding/ and our native/).
// Without a set-up the VSIX runs on the wasm backend.
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { packagedBundleOptions } from './lib/packaged-bundle.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const stage = join(root, '.package');
const require = createRequire(import.meta.url);
rmSync(stage, { recursive: true, force: true });
mkdirSync(join(stage, 'dist', 'wasm'), { recursive: true });

const common = packagedBundleOptions(root);
await build({ ...common, entryPoints: ['src/extension/extension.ts'], outfile: join(stage, 'dist', 'extension.js') });
await build({ ...common, entryPoints: ['src/extension/worker/worker.ts'], outfile: join(stage, 'dist', 'worker.js') });

// the sources SBN: Set Up Native Backend compiles (src/engine/native/setup.ts findNativeSources)
const tfjsNodeDir = dirname(require.resolve('@tensorflow/tfjs-node/package.json'));
mkdirSync(join(stage, 'dist', 'native-src', 'tfjs-node'), { recursive: true });
for (const f of ['package.json', 'binding.gyp', 'binding']) cpSync(join(tfjsNodeDir, f), join(stage, 'dist', 'native-src', 'tfjs-node', f), { recursive: true });
mkdirSync(join(stage, 'dist', 'native-src', 'kernels'), { recursive: true });
for (const f of ['binding.gyp', 'src']) cpSync(join(root, 'native', f), join(stage, 'dist', 'native-src', 'kernels', f), { recursive: true });

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
