// Chooses and initialises the TensorFlow.js backend: tensorflow (tfjs-node, native libtensorflow) > wasm > cpu.
// Pure TypeScript: no vscode import. Use `import * as tf from '@tensorflow/tfjs'` elsewhere; tfjs-node re-exports the
// same union package (one tfjs-core instance, checked by test/unit/backend.test.ts), so the chosen backend is global.
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { withEnvironmentHint } from './environmentHint';
import { nativeKernels } from './kernels';
import { locateNativeBackend, type NativeLocation } from './native/locate';
import { find as findTfjsBinding, setTfjsBindingPath } from './native/tfjsBinding';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  name: BackendName;
  /** e.g. "tensorflow (libtensorflow 2.21.0)", "wasm (SIMD, 1 thread)", "cpu (JavaScript)" */
  detail: string;
  /** tensorflow only: where its binding came from and what libtensorflow sees. */
  native?: {
    origin: NativeLocation['origin'];
    package: NativeLocation['package'];
    bindingPath: string;
    libtensorflowVersion: string;
    /** The libtensorflow folder (lib/, include/) the binding resolved to. */
    libtensorflowDir: string | null;
    gpu: boolean;
    /** The devices TensorFlow lists (empty when the kernels addon, which lists them, is not loaded). */
    devices: { name: string; type: string; memoryBytes: number }[];
  };
}

const ORDER: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];
const ALIASES: Record<string, BackendName | 'auto'> = {
  '': 'auto',
  auto: 'auto',
  tensorflow: 'tensorflow',
  node: 'tensorflow',
  'tfjs-node': 'tensorflow',
  native: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
  js: 'cpu',
};

let current: BackendInfo | null = null;
let prodModeSet = false;
/** Why a backend failed to load in this process (it is then no longer listed as available). */
const loadFailures = new Map<BackendName, string>();
/** What this module reads of a loaded tfjs-node package (it registers its backend with tf on load). */
type TfjsNodeModule = { version?: Record<string, string> };
let tfjsNode: TfjsNodeModule | null = null;
let tfjsNodeFrom: NativeLocation | null = null;

function packageDir(name: string): string | null {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return null;
  }
}

/**
 * Where the .wasm binaries are: $SBN_WASM_DIR when set (then only there: a wrong setting is reported, not
 * skipped), else a `wasm/` folder beside this bundle (the packaged extension carries them there), or the installed
 * @tensorflow/tfjs-backend-wasm package.
 */
export function wasmDistDir(): string | null {
  const hasBinaries = (d: string) =>
    existsSync(join(d, 'tfjs-backend-wasm-simd.wasm')) || existsSync(join(d, 'tfjs-backend-wasm.wasm'));
  if (process.env.SBN_WASM_DIR) return hasBinaries(process.env.SBN_WASM_DIR) ? process.env.SBN_WASM_DIR : null;
  const pkg = packageDir('@tensorflow/tfjs-backend-wasm');
  const candidates = [join(__dirname, 'wasm'), pkg ? join(pkg, 'dist') : undefined];
  return candidates.find((d): d is string => !!d && hasBinaries(d)) ?? null;
}

function hasWebAssembly(): boolean {
  return typeof (globalThis as { WebAssembly?: unknown }).WebAssembly === 'object';
}

/** Backends that can load here, best first, without initialising any of them. */
export function availableBackends(): BackendName[] {
  const out: BackendName[] = [];
  if (!loadFailures.has('tensorflow') && (tfjsNode !== null || locateNativeBackend().location !== null))
    out.push('tensorflow');
  if (!loadFailures.has('wasm') && hasWebAssembly() && wasmDistDir() !== null) out.push('wasm');
  out.push('cpu');
  return out;
}

/** Why `name` failed to load in this process (initBackend tried it), or undefined. */
export function backendLoadFailure(name: BackendName): string | undefined {
  return loadFailures.get(name);
}

/** The backend initBackend settled on, or null before the first call. */
export function currentBackend(): BackendInfo | null {
  return current;
}

function parsePreference(raw: string | undefined, source: string): BackendName | 'auto' {
  const key = (raw ?? '').trim().toLowerCase();
  const name = ALIASES[key];
  if (name === undefined) {
    throw new Error(
      `unknown backend "${raw}"${source} (expected one of ${ORDER.join(', ')}, auto); ` +
        `available here: ${availableBackends().join(', ')}`,
    );
  }
  return name;
}

/** tf.setBackend reports failures with console.warn and returns false: capture them as the reason instead. */
async function setBackendQuietly(name: BackendName): Promise<void> {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map(String).join(' '));
  };
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    warnings.push(e instanceof Error ? e.message : String(e));
  } finally {
    console.warn = warn;
  }
  if (!ok || tf.getBackend() !== name) {
    const why = warnings.map((w) => w.split('\n')[0]).filter((w) => !/^Initialization of backend/.test(w))[0];
    throw new Error(why || `tf.setBackend('${name}') failed`);
  }
}

/**
 * Lets a tfjs-node from node_modules (a checkout's external require) load the set-up folder's binding: node-pre-gyp,
 * which tfjs-node asks for the binding's path, is answered by src/engine/native/tfjsBinding.ts. In the packaged
 * extension tfjs-node's JavaScript is bundled with that module in node-pre-gyp's place (scripts/package.mjs).
 */
function redirectExternalTfjsNode(): void {
  let tfjsNodeDir: string | null;
  try {
    tfjsNodeDir = dirname(require.resolve('@tensorflow/tfjs-node/package.json'));
  } catch {
    return; // bundled, or absent (the require below then says so)
  }
  let preGyp: string;
  try {
    preGyp = require.resolve('@mapbox/node-pre-gyp', { paths: [tfjsNodeDir] });
  } catch {
    return;
  }
  // node:module's Module class is not in its typings as a constructor; the shim must be a real Module
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const shim = new (require('node:module') as { Module: new (id: string) => NodeJS.Module }).Module(preGyp);
  shim.filename = preGyp;
  shim.loaded = true;
  shim.exports = { find: findTfjsBinding };
  require.cache[preGyp] = shim;
}

function loadTfjsNode(): void {
  if (tfjsNode) return;
  const { location, why } = locateNativeBackend();
  if (!location) {
    throw new Error(
      `no native tensorflow backend here (${why}); \`sbn setup backend\` or SBN: Set Up Native Backend builds one`,
    );
  }
  // libtensorflow logs at load time; keep warnings and errors only unless the user chose a level.
  if (process.env.TF_CPP_MIN_LOG_LEVEL === undefined) process.env.TF_CPP_MIN_LOG_LEVEL = '2';
  // oneDNN's own kernels are slower here (1024² matMul 168 → 198 GFLOP/s without them) and print a banner.
  if (process.env.TF_ENABLE_ONEDNN_OPTS === undefined) process.env.TF_ENABLE_ONEDNN_OPTS = '0';
  const cuda = location.manifest?.libtensorflow.cudaLibs ?? [];
  if (cuda.length) {
    // a GPU libtensorflow dlopens CUDA by SONAME: load the set-up's copies first
    const k = nativeKernels();
    if (!k?.preload)
      throw new Error(
        'this GPU set-up needs the native kernels addon to preload its CUDA libraries, and it does not load',
      );
    k.preload(cuda);
  }
  try {
    if (location.origin === 'setup') {
      setTfjsBindingPath(location.bindingPath);
      redirectExternalTfjsNode();
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      tfjsNode = require('@tensorflow/tfjs-node') as TfjsNodeModule;
    } else if (location.package === '@tensorflow/tfjs-node-gpu') {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      tfjsNode = require('@tensorflow/tfjs-node-gpu') as TfjsNodeModule;
    } else {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      tfjsNode = require('@tensorflow/tfjs-node') as TfjsNodeModule;
    }
    tfjsNodeFrom = location;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    const from = location.origin === 'setup' ? `set up in ${location.setupDir}` : 'node_modules';
    throw new Error(`${location.package} (${from}) does not load: ${msg}`, { cause: e });
  }
}

/** The devices the loaded libtensorflow lists (the kernels addon asks its C API), or [] when that cannot be asked. */
function tfDevices(location: NativeLocation): { name: string; type: string; memoryBytes: number }[] {
  const k = nativeKernels();
  if (!k?.tfDevices || !location.libDir) return [];
  try {
    return k.tfDevices(join(dirname(location.bindingPath), '..', '..', 'deps', 'lib', 'libtensorflow.so'));
  } catch {
    return [];
  }
}

async function init(name: BackendName): Promise<BackendInfo> {
  switch (name) {
    case 'tensorflow': {
      loadTfjsNode();
      if (!tf.findBackendFactory('tensorflow')) {
        throw new Error(
          'tfjs-node loaded but registered no "tensorflow" backend with @tensorflow/tfjs ' +
            '(two copies of @tensorflow/tfjs-core? check `npm ls @tensorflow/tfjs-core`)',
        );
      }
      await setBackendQuietly('tensorflow');
      const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
      const version = binding?.TF_Version ?? 'unknown version';
      const from = tfjsNodeFrom!;
      const devices = tfDevices(from);
      const gpu = from.manifest?.libtensorflow.gpu ?? from.package === '@tensorflow/tfjs-node-gpu';
      const gpus = devices.filter((d) => d.type === 'GPU').length;
      return {
        name,
        detail: `tensorflow (libtensorflow ${version}${gpu ? `, GPU build, ${gpus} GPU${gpus === 1 ? '' : 's'}` : ''})`,
        native: {
          origin: from.origin,
          package: from.package,
          bindingPath: from.bindingPath,
          libtensorflowVersion: version,
          libtensorflowDir: from.libDir ? dirname(from.libDir) : null,
          gpu,
          devices,
        },
      };
    }
    case 'wasm': {
      const dist = wasmDistDir();
      if (!dist) {
        throw new Error(
          process.env.SBN_WASM_DIR
            ? `SBN_WASM_DIR=${process.env.SBN_WASM_DIR} has no tfjs-backend-wasm .wasm files`
            : '@tensorflow/tfjs-backend-wasm has no .wasm files',
        );
      }
      if (!hasWebAssembly()) throw new Error('this Node.js has no WebAssembly');
      setWasmPaths(dist + '/');
      await setBackendQuietly('wasm');
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = getThreadsCount();
      return { name, detail: `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'})` };
    }
    case 'cpu':
      await setBackendQuietly('cpu');
      return { name, detail: 'cpu (JavaScript)' };
  }
}

/**
 * Initialises a backend and makes it tfjs's current one. `preference` (a --backend flag) wins over env SBN_BACKEND;
 * without either, the best backend that loads is used (tensorflow > wasm > cpu). An explicit preference that
 * cannot load throws an Error with a one-line message. Calling again returns the same info, unless a different
 * backend is asked for explicitly.
 */
export async function initBackend(preference?: string): Promise<BackendInfo> {
  const explicit = preference !== undefined && preference !== '';
  const source = explicit ? '' : ' (from SBN_BACKEND)';
  const wanted = parsePreference(explicit ? preference : process.env.SBN_BACKEND, source);
  if (current && (wanted === 'auto' || wanted === current.name)) return current;
  if (!prodModeSet) {
    tf.enableProdMode();
    prodModeSet = true;
  }

  if (wanted !== 'auto') {
    try {
      current = await init(wanted);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      loadFailures.set(wanted, why);
      throw new Error(
        withEnvironmentHint(
          `backend "${wanted}"${source} cannot load: ${why}; available here: ` + `${availableBackends().join(', ')}`,
        ),
        { cause: e },
      );
    }
    return current;
  }

  const reasons: string[] = [];
  for (const name of availableBackends()) {
    try {
      current = await init(name);
      return current;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      loadFailures.set(name, why);
      reasons.push(`${name}: ${why}`);
    }
  }
  throw new Error(withEnvironmentHint(`no TensorFlow.js backend could be initialised (${reasons.join('; ')})`));
}
