// Where the native backend lives and what a set-up records: the one place that names the cache, the set-up folder,
// the manifest and the libtensorflow release we build against. Used by the set-up (src/engine/native/setup.ts, run
// by `npm install`, `sbn setup backend` and SBN: Set Up Native Backend), by the backend choice (src/engine/backend.ts)
// and by describeNativeBackend(). No vscode import.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The libtensorflow release the set-up extracts from the pip wheel. */
export const TF_VERSION = '2.21.0';
/** The pip requirement for the CPU library, and for the CUDA-enabled one (`--gpu`). */
export const CPU_WHEEL = `tensorflow-cpu==${TF_VERSION}`;
export const GPU_WHEEL = `tensorflow==${TF_VERSION}`;
/** The shared libraries the binding links against (their SONAMEs). */
export const TF_LIBS = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'] as const;
/** Env var: a libtensorflow folder (lib/ + include/) to build against instead of downloading a wheel. */
export const LIBTENSORFLOW_ENV = 'SBN_LIBTENSORFLOW';
/**
 * Env var: the set-up folder the tensorflow backend and the kernels are loaded from (the extension sets it for its
 * workers).
 */
export const NATIVE_DIR_ENV = 'SBN_NATIVE_DIR';
/** The file in a set-up folder that records what was built. */
export const MANIFEST_FILE = 'manifest.json';
/** The set-up's full log, beside the manifest. */
export const SETUP_LOG_FILE = 'setup.log';
/** The N-API version the tfjs-node binding is built for (its package.json `binary.napi_versions`, newest). */
export const NAPI_VERSION = 8;

/** ${SBN_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/sbn-studio}: the wheel extraction and the CLI's set-up folder. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SBN_CACHE_DIR) return env.SBN_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sbn-studio');
}

/** The set-up folder of `sbn setup backend` without --dir. */
export function defaultSetupDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), `native-${process.platform}-${process.arch}`);
}

/** A device TensorFlow lists (TFE_ContextListDevices). */
export interface TfDevice {
  /** e.g. "/job:localhost/replica:0/task:0/device:CPU:0" */
  name: string;
  /** "CPU", "GPU", … */
  type: string;
  /** Memory TensorFlow reports for it, in bytes (0 for CPUs). */
  memoryBytes: number;
}

/** Where libtensorflow came from. */
export type LibtensorflowSource = 'pip-wheel' | 'path';

/** manifest.json of a set-up folder (and sbn-native.json beside a checkout's tfjs-node). */
export interface NativeManifest {
  schema: 1;
  createdAt: string;
  platform: string;
  /** The Node.js that ran the build (the binding is N-API: any Node/Electron with that N-API version loads it). */
  node: string;
  /** The tfjs-node package whose binding sources were compiled, and its version. */
  tfjsNode: { package: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu'; version: string; napiVersion: number };
  libtensorflow: {
    version: string;
    source: LibtensorflowSource;
    /** The libtensorflow folder (lib/, include/) the binding links to at run time. */
    dir: string;
    /** The wheel file it was extracted from (source pip-wheel). */
    wheel?: string;
    /** Built for CUDA (a `tensorflow` wheel or a GPU library path given with --gpu). */
    gpu: boolean;
    /**
     * CUDA libraries to preload before the binding (absolute paths; from the nvidia wheels of
     * tensorflow[and-cuda]).
     */
    cudaLibs: string[];
  };
  /** Relative to the set-up folder; null when that part was not built. */
  binding: string | null;
  kernels: string | null;
  /** What the load check saw right after the build. */
  check: {
    devices: TfDevice[];
    kernels: { isa: string; threads: number; isas: string[] } | null;
  };
}

export function readManifest(file: string): NativeManifest | null {
  if (!existsSync(file)) return null;
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as NativeManifest;
    return m && m.schema === 1 && m.libtensorflow && m.tfjsNode ? m : null;
  } catch {
    return null;
  }
}
