// test-backends: one
// The native set-up (src/engine/native/setup.ts) and the choice of what loads (locate.ts, backend.ts): the real set-up
// against the cached CPU libtensorflow (nothing is downloaded: the cache of `npm install` is used, or the test skips),
// the selection of packages, wheels and libraries with fake folders, the messages for missing tools and bad paths,
// cancellation, and a bundle built like the VSIX's worker (no node_modules) loading a set-up folder's binding.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chooseTfjsNodePackage, locateNativeBackend, setupLocation } from '../../src/engine/native/locate';
import { CPU_WHEEL, GPU_WHEEL, MANIFEST_FILE, NATIVE_DIR_ENV, TF_VERSION } from '../../src/engine/native/paths';
import {
  checkLibtensorflowDir,
  chooseLibtensorflow,
  findBuildTools,
  findNativeSources,
  libtensorflowCacheDir,
  SetupCancelled,
  SetupError,
  setupNativeBackend,
  wheelFor,
  which,
} from '../../src/engine/native/setup';
import { describeNativeBackend } from '../../src/engine/native/describe';
import type { BackendInfo } from '../../src/engine/backend';
import type { KernelsInfo } from '../../src/engine/kernels';
import { backendSummary, environmentFacts } from '../../src/engine/runs';

const root = join(__dirname, '..', '..', '..');
const cpuLib = libtensorflowCacheDir(false);
const haveCpuLib = existsSync(join(cpuLib, '.complete'));
const sources = findNativeSources(join(root, 'dist'));
const canBuild = (() => {
  try {
    findBuildTools();
    return process.platform === 'linux';
  } catch {
    return false;
  }
})();
const skipReal = !haveCpuLib
  ? `no cached libtensorflow in ${cpuLib} (npm install makes it)`
  : !sources
    ? 'no tfjs-node sources'
    : !canBuild
      ? 'no build tools'
      : false;

/** What the bundled probe of the set-up test prints. */
interface BundleProbe {
  info: BackendInfo;
  maps: string[];
  kernels: KernelsInfo;
  registered: boolean;
  tfBackend: string;
}

const made: string[] = [];
function tmp(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `sbn-native-${name}-`));
  made.push(dir);
  return dir;
}
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A folder shaped like libtensorflow, with empty files (enough for the checks that only look at files). */
function fakeLibtensorflow(opts: { main?: string; cuda?: boolean; headers?: boolean } = {}): string {
  const dir = tmp('lt');
  mkdirSync(join(dir, 'lib'));
  writeFileSync(join(dir, 'lib', opts.main ?? 'libtensorflow_cc.so.2'), '');
  writeFileSync(join(dir, 'lib', 'libtensorflow_framework.so.2'), '');
  if (opts.headers !== false) {
    mkdirSync(join(dir, 'include', 'tensorflow', 'c', 'eager'), { recursive: true });
    writeFileSync(join(dir, 'include', 'tensorflow', 'c', 'c_api.h'), '');
    writeFileSync(join(dir, 'include', 'tensorflow', 'c', 'eager', 'c_api.h'), '');
  }
  if (opts.cuda) {
    mkdirSync(join(dir, 'nvidia', 'cuda_runtime', 'lib'), { recursive: true });
    writeFileSync(join(dir, 'nvidia', 'cuda_runtime', 'lib', 'libcudart.so.12'), '');
  }
  return dir;
}

// ---- selection ------------------------------------------------------------------------------------------------------

test('the GPU package wins over tfjs-node when both are built; neither gives null', () => {
  assert.equal(
    chooseTfjsNodePackage({ '@tensorflow/tfjs-node-gpu': true, '@tensorflow/tfjs-node': true }),
    '@tensorflow/tfjs-node-gpu',
  );
  assert.equal(
    chooseTfjsNodePackage({ '@tensorflow/tfjs-node-gpu': false, '@tensorflow/tfjs-node': true }),
    '@tensorflow/tfjs-node',
  );
  assert.equal(
    chooseTfjsNodePackage({ '@tensorflow/tfjs-node-gpu': true, '@tensorflow/tfjs-node': false }),
    '@tensorflow/tfjs-node-gpu',
  );
  assert.equal(chooseTfjsNodePackage({ '@tensorflow/tfjs-node-gpu': false, '@tensorflow/tfjs-node': false }), null);
});

test('--gpu downloads the CUDA-enabled tensorflow wheel, else tensorflow-cpu, both of the pinned release', () => {
  assert.equal(wheelFor(false), CPU_WHEEL);
  assert.equal(wheelFor(true), GPU_WHEEL);
  assert.equal(GPU_WHEEL, `tensorflow==${TF_VERSION}`);
  assert.equal(CPU_WHEEL, `tensorflow-cpu==${TF_VERSION}`);
});

test('a given libtensorflow folder is used as it is; CUDA libraries beside it make it a GPU library', () => {
  const cpu = fakeLibtensorflow();
  const a = chooseLibtensorflow({ path: { dir: cpu, label: '--libtensorflow' }, gpu: false })!;
  assert.equal(a.source, 'path');
  assert.equal(a.gpu, false);
  assert.deepEqual(a.cudaLibs, []);
  assert.equal(
    chooseLibtensorflow({ path: { dir: cpu, label: '--libtensorflow' }, gpu: true })!.gpu,
    true,
    '--gpu marks it',
  );
  const gpu = fakeLibtensorflow({ cuda: true, main: 'libtensorflow.so.2' });
  const b = chooseLibtensorflow({ path: { dir: gpu, label: 'SBN_LIBTENSORFLOW' }, gpu: false })!;
  assert.equal(b.gpu, true);
  assert.deepEqual(b.cudaLibs, [join(gpu, 'nvidia', 'cuda_runtime', 'lib', 'libcudart.so.12')]);
});

test('without a folder: the cached extraction for the CPU or GPU wheel, or null (download)', () => {
  const cache = tmp('cache');
  const env = { ...process.env, SBN_CACHE_DIR: cache };
  assert.equal(chooseLibtensorflow({ gpu: false }, env), null);
  assert.equal(chooseLibtensorflow({ gpu: true }, env), null);
  const gpuDir = libtensorflowCacheDir(true, env);
  mkdirSync(gpuDir, { recursive: true });
  writeFileSync(
    join(gpuDir, '.complete'),
    JSON.stringify({ version: TF_VERSION, wheel: 'tensorflow-2.21.0-x.whl', gpu: true }),
  );
  const g = chooseLibtensorflow({ gpu: true }, env)!;
  assert.equal(g.dir, gpuDir);
  assert.equal(g.gpu, true);
  assert.equal(g.wheel, 'tensorflow-2.21.0-x.whl');
  assert.equal(chooseLibtensorflow({ gpu: false }, env), null, 'the GPU extraction never stands in for the CPU one');
});

test('a bad libtensorflow path gives one line naming the source, the path and what is expected', () => {
  const cases: [string, RegExp][] = [
    [join(tmpdir(), 'sbn-no-such-libtensorflow'), /no such folder/],
    [tmp('empty'), /no lib\/libtensorflow_cc\.so\.2 or lib\/libtensorflow\.so\.2/],
    [fakeLibtensorflow({ headers: false }), /no include\/tensorflow\/c\/c_api\.h/],
  ];
  for (const [dir, why] of cases) {
    assert.throws(
      () => checkLibtensorflowDir(dir, '--libtensorflow'),
      (e: Error) => {
        assert.ok(e instanceof SetupError);
        assert.equal(e.missing, 'libtensorflow');
        assert.ok(e.message.startsWith(`--libtensorflow ${dir}: `), e.message);
        assert.match(e.message, why);
        assert.match(e.message, /expected a libtensorflow folder with lib\/libtensorflow\*\.so\* and include\//);
        assert.ok(!e.message.includes('\n'));
        return true;
      },
    );
  }
});

test('sbn setup backend --libtensorflow with a bad path: exit code 2, one line, nothing built', () => {
  const dir = tmp('cli');
  const bad = join(tmpdir(), 'sbn-no-such-libtensorflow');
  const r = spawnSync(
    process.execPath,
    [join(root, 'bin', 'sbn.js'), 'setup', 'backend', '--dir', dir, '--libtensorflow', bad],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 2, r.stderr);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('sbn: setup backend:'));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0], new RegExp(`--libtensorflow ${bad}: no such folder`));
  assert.match(errors[0], /sbn doctor/);
  assert.ok(!existsSync(join(dir, MANIFEST_FILE)));
  assert.match(readFileSync(join(dir, 'setup.log'), 'utf8'), /failed: --libtensorflow/);
});

test('missing build tools are named: python3, make, a C++ compiler', () => {
  const bin = tmp('bin');
  const env = { PATH: bin } as NodeJS.ProcessEnv;
  assert.throws(
    () => findBuildTools(env),
    (e: SetupError) => e.missing === 'python3' && /python3 not found on PATH/.test(e.message),
  );
  symlinkSync(which('python3')!, join(bin, 'python3'));
  assert.throws(
    () => findBuildTools(env),
    (e: SetupError) => e.missing === 'make' && /make not found on PATH/.test(e.message),
  );
  if (which('make')) {
    symlinkSync(which('make')!, join(bin, 'make'));
    assert.throws(
      () => findBuildTools(env),
      (e: SetupError) =>
        e.missing === 'c++' && /no C\+\+ compiler \(g\+\+, c\+\+ or clang\+\+\) found on PATH/.test(e.message),
    );
  }
});

test(
  'without pip, or without the wheel on the index, the download step says which',
  { skip: !sources || !canBuild ? 'no build tools' : false },
  async () => {
    const bin = tmp('fakebin');
    const fake = (script: string) => writeFileSync(join(bin, 'python3'), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
    const env = {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      SBN_CACHE_DIR: tmp('cache'),
      SBN_LIBTENSORFLOW: '',
    };
    fake('echo "/usr/bin/python3: No module named pip" >&2; exit 1');
    await assert.rejects(setupNativeBackend({ dir: tmp('nopip'), sources: sources!, env }), (e: SetupError) => {
      assert.equal(e.missing, 'pip');
      assert.match(
        e.message,
        /^pip not available \(`python3 -m pip --version` failed; install pip, or give an existing libtensorflow folder\)$/,
      );
      return true;
    });
    fake(
      'case "$*" in *--version*) echo "pip 23.2.1"; exit 0;; esac\n' +
        'echo "ERROR: No matching distribution found for tensorflow-cpu==2.21.0" >&2; exit 1',
    );
    await assert.rejects(setupNativeBackend({ dir: tmp('nowheel'), sources: sources!, env }), (e: SetupError) => {
      assert.equal(e.missing, 'wheel');
      assert.equal(
        e.message,
        'pip download tensorflow-cpu==2.21.0 failed (is it on your package index?): ' +
          'ERROR: No matching distribution found for tensorflow-cpu==2.21.0',
      );
      return true;
    });
  },
);

test('locate: explicit SBN_NATIVE_DIR without a set-up says why; a folder is a set-up only with its manifest', () => {
  const empty = tmp('empty-setup');
  const s = setupLocation(empty);
  assert.equal(s.location, null);
  assert.match(s.why!, /has no complete set-up \(no manifest\.json\)/);
  const missing = join(tmpdir(), 'sbn-no-such-setup');
  assert.match(setupLocation(missing).why!, /not set up/);
  const r = locateNativeBackend({ ...process.env, [NATIVE_DIR_ENV]: empty });
  assert.equal(r.setupDir, empty);
  if (r.location) assert.equal(r.location.origin, 'checkout', 'falls back to node_modules');
  else assert.match(r.why!, new RegExp(`${NATIVE_DIR_ENV}: .*no complete set-up`));
});

// ---- the real set-up ----------------------------------------------------------------------------------------------

test(
  'setupNativeBackend with the cached CPU libtensorflow: binding, kernels, a load check that lists the CPU, a manifest',
  { skip: skipReal, timeout: 600_000 },
  async () => {
    const dir = tmp('setup');
    const steps: string[] = [];
    const lines: string[] = [];
    const manifest = await setupNativeBackend({
      dir,
      sources: sources!,
      libtensorflow: { dir: cpuLib, label: 'SBN_LIBTENSORFLOW' },
      reporter: { step: (s) => steps.push(s), log: (l) => lines.push(l) },
    });
    assert.deepEqual(steps, ['tools', 'libtensorflow', 'binding', 'kernels', 'check']);
    assert.equal(manifest.libtensorflow.version, TF_VERSION);
    assert.equal(manifest.libtensorflow.source, 'path');
    assert.equal(manifest.libtensorflow.gpu, false);
    assert.ok(
      manifest.check.devices.some((d) => d.type === 'CPU' && /device:CPU:0$/.test(d.name)),
      JSON.stringify(manifest.check.devices),
    );
    assert.equal(manifest.check.devices.filter((d) => d.type === 'GPU').length, 0, 'the CPU library lists no GPU');
    assert.ok(manifest.check.kernels && manifest.check.kernels.threads >= 1);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')), manifest);
    assert.match(readFileSync(join(dir, 'setup.log'), 'utf8'), /== Checking that it loads/);
    assert.ok(lines.length > 3);

    const loc = setupLocation(dir).location!;
    assert.equal(loc.origin, 'setup');
    assert.ok(existsSync(loc.bindingPath));
    assert.ok(loc.kernelsPath && existsSync(loc.kernelsPath));

    const d = describeNativeBackend({ ...process.env, [NATIVE_DIR_ENV]: dir });
    assert.equal(d.setupDir, dir);
    assert.equal(d.setUp, true);
    assert.equal(d.origin, 'setup');
    assert.equal(d.libtensorflow?.version, TF_VERSION);
    assert.equal(d.libtensorflow?.source, 'path');
    assert.equal(d.devicesSource, 'setup-check');
    assert.ok(d.devices.some((x) => x.type === 'CPU'));
    assert.equal(d.why, null);

    // a bundle built like the VSIX's worker, run from a folder without node_modules, loads this set-up's binding
    // esbuild from node_modules at run time (its API refuses to run from inside a bundle)
    const esbuildPath = join(root, 'node_modules', 'esbuild');
    const { build } = createRequire(__filename)(esbuildPath) as typeof import('esbuild');
    const { packagedBundleOptions } = (await import(join(root, 'scripts', 'lib', 'packaged-bundle.mjs'))) as {
      packagedBundleOptions: (r: string) => Record<string, unknown>;
    };
    const out = tmp('bundle');
    await build({
      ...packagedBundleOptions(root),
      stdin: {
        resolveDir: root,
        loader: 'ts',
        sourcefile: 'probe.ts',
        contents: `import * as tf from '@tensorflow/tfjs';
import { initBackend } from './src/engine/backend';
import { kernelsInfo } from './src/engine/kernels';
import { readFileSync } from 'node:fs';
initBackend('tensorflow').then((info) => {
  const maps = readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.includes('tfjs_binding.node'))
    .map((l) => l.split(/\\s+/).pop());
  process.stdout.write(JSON.stringify({ info, maps: [...new Set(maps)], kernels: kernelsInfo(),
    registered: !!tf.findBackendFactory('tensorflow'), tfBackend: tf.getBackend() }));
}, (e) => { process.stderr.write(String(e.message)); process.exit(1); });`,
      },
      minify: false,
      outfile: join(out, 'probe.js'),
    });
    const r = spawnSync(process.execPath, [join(out, 'probe.js')], {
      cwd: out,
      encoding: 'utf8',
      env: { ...process.env, [NATIVE_DIR_ENV]: dir, NODE_PATH: '' },
    });
    assert.equal(r.status, 0, r.stderr);
    const probe = JSON.parse(r.stdout) as BundleProbe;
    assert.equal(probe.info.name, 'tensorflow');
    assert.equal(probe.info.native?.origin, 'setup');
    assert.equal(probe.info.native?.libtensorflowVersion, TF_VERSION);
    assert.ok(probe.info.native?.devices.some((x) => x.type === 'CPU'));
    assert.deepEqual(probe.maps, [loc.bindingPath], "the binding mapped is the set-up folder's");
    assert.equal(probe.registered, true, 'tfjs-node registered its backend with the one bundled tfjs');
    assert.equal(probe.tfBackend, 'tensorflow');
    assert.equal(probe.kernels.kind, 'native');

    // the same folder recorded as a GPU set-up (the CPU library standing in, and its framework library standing in for
    // a CUDA library): the recorded libraries are preloaded before the binding, the detail says "GPU build, 0 GPUs"
    const manifestFile = join(dir, MANIFEST_FILE);
    const gpuManifest = {
      ...manifest,
      libtensorflow: {
        ...manifest.libtensorflow,
        gpu: true,
        cudaLibs: [realpathSync(join(cpuLib, 'lib', 'libtensorflow_framework.so.2'))],
      },
    };
    writeFileSync(manifestFile, JSON.stringify(gpuManifest));
    const g = spawnSync(process.execPath, [join(out, 'probe.js')], {
      cwd: out,
      encoding: 'utf8',
      env: { ...process.env, [NATIVE_DIR_ENV]: dir },
    });
    assert.equal(g.status, 0, g.stderr);
    const gp = JSON.parse(g.stdout) as BundleProbe;
    assert.match(gp.info.detail, /^tensorflow \(libtensorflow 2\.21\.0, GPU build, 0 GPUs\)$/);
    assert.equal(gp.info.native?.gpu, true);
    // a CUDA library that is not there: the backend says so instead of failing later inside libtensorflow
    writeFileSync(
      manifestFile,
      JSON.stringify({
        ...gpuManifest,
        libtensorflow: {
          ...gpuManifest.libtensorflow,
          cudaLibs: [join(dir, 'nvidia', 'cuda_runtime', 'lib', 'libcudart.so.12')],
        },
      }),
    );
    const bad = spawnSync(process.execPath, [join(out, 'probe.js')], {
      cwd: out,
      encoding: 'utf8',
      env: { ...process.env, [NATIVE_DIR_ENV]: dir },
    });
    assert.equal(bad.status, 1);
    assert.match(
      bad.stderr,
      /backend "tensorflow" cannot load: .*preload: .*libcudart\.so\.12: cannot open shared object file/,
    );
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
    rmSync(out, { recursive: true, force: true });
  },
);

test('what ran, from environment.json: backend in full, origin, devices, kernels (older runs lose detail only)', () => {
  const facts = environmentFacts({
    backend: 'tensorflow',
    backendDetail: 'tensorflow (libtensorflow 2.21.0)',
    kernels: 'native (avx512, 2 threads)',
    native: {
      origin: 'setup',
      devices: [
        { type: 'CPU', name: 'cpu0', memoryBytes: 0 },
        { type: 'GPU', name: 'gpu0', memoryBytes: 1 },
      ],
    },
  });
  assert.deepEqual(facts, {
    backend: 'tensorflow',
    backendDetail: 'tensorflow (libtensorflow 2.21.0)',
    origin: 'setup',
    devices: ['CPU', 'GPU'],
    kernels: 'native (avx512, 2 threads)',
  });
  assert.equal(backendSummary(facts), 'tensorflow (libtensorflow 2.21.0) from native set-up, on CPU + GPU');
  assert.equal(
    backendSummary(
      environmentFacts({
        backend: 'tensorflow',
        backendDetail: 'tensorflow (libtensorflow 2.21.0)',
        native: { origin: 'checkout', devices: [] },
      }),
    ),
    'tensorflow (libtensorflow 2.21.0) from node_modules',
  );
  assert.equal(backendSummary(environmentFacts({ backend: 'wasm' })), 'wasm');
  assert.equal(backendSummary(environmentFacts(null)), undefined);
});

test(
  '--force compiles the binding with node-gyp (no cached copy), and cancelling kills the build',
  { skip: skipReal, timeout: 900_000 },
  async () => {
    const dir = tmp('force');
    const controller = new AbortController();
    let sawBinding = false;
    await assert.rejects(
      setupNativeBackend({
        dir,
        sources: sources!,
        libtensorflow: { dir: cpuLib, label: 'SBN_LIBTENSORFLOW' },
        force: true,
        signal: controller.signal,
        reporter: {
          step: (s) => {
            if (s === 'binding') sawBinding = true;
          },
          log: (l) => {
            if (sawBinding && /gyp info spawn make|CXX\(target\)/.test(l)) controller.abort();
          },
        },
      }),
      (e: Error) => e instanceof SetupCancelled,
    );
    assert.ok(sawBinding);
    assert.ok(!existsSync(join(dir, MANIFEST_FILE)), 'a cancelled set-up is not a set-up');

    const m = await setupNativeBackend({
      dir,
      sources: sources!,
      libtensorflow: { dir: cpuLib, label: 'SBN_LIBTENSORFLOW' },
      force: true,
    });
    const log = readFileSync(join(dir, 'setup.log'), 'utf8');
    assert.match(log, /CXX\(target\) Release\/obj\.target\/tfjs_binding\/binding\/tfjs_backend\.o/);
    assert.ok(!/restored the tfjs-node/.test(log));
    assert.equal(m.libtensorflow.version, TF_VERSION);
  },
);
