// describeNativeBackend(): what `sbn doctor` and SBN: Show Environment say about the native backend — where the
// set-up folder is, whether it is set up, which tfjs-node binding the tensorflow backend loads (and from where),
// libtensorflow's version and origin, the PSA kernels (ISA, threads), the devices TensorFlow sees, and why not
// when something is missing. Reads files and the state of this process; never initialises a backend.
import { dirname } from 'node:path';
import { currentBackend } from '../backend';
import { kernelsInfo, nativeKernels, nativeKernelsPath } from '../kernels';
import { locateNativeBackend, setupLocation, type NativeOrigin, type TfjsNodePackage } from './locate';
import { TF_VERSION, type LibtensorflowSource, type NativeManifest, type TfDevice } from './paths';

export type { NativeOrigin, TfjsNodePackage } from './locate';
export type { LibtensorflowSource, NativeManifest, TfDevice } from './paths';

export interface NativeBackendDescription {
  /** The set-up folder this process uses (SBN_NATIVE_DIR, else the default under the user cache dir). */
  setupDir: string;
  /** True when setupDir holds a complete set-up (manifest and a binding). */
  setUp: boolean;
  /** The tensorflow backend's binding: where it is found here (null: none, see `why`). */
  origin: NativeOrigin | null;
  package: TfjsNodePackage | null;
  bindingPath: string | null;
  /** libtensorflow as the binding will load it; null when no binding is found. */
  libtensorflow: {
    /** From the loaded binding when the tensorflow backend runs in this process, else from the set-up record. */
    version: string | null;
    /** pip-wheel: extracted from the TensorFlow wheel; path: a folder given by the user; null: not recorded. */
    source: LibtensorflowSource | null;
    /** The libtensorflow folder (lib/, include/) the binding resolves to. */
    dir: string | null;
    gpu: boolean;
  } | null;
  /** True when the tensorflow backend is the one initialised in this process. */
  loaded: boolean;
  /** The PSA kernels addon: where it loads from and how it runs (null fields when it does not load; see why). */
  kernels: { path: string | null; isa: string | null; isas: string[]; threads: number | null; why: string | null };
  /**
   * The devices TensorFlow sees: as listed when the backend loaded in this process, else as the set-up's check saw
   * them.
   */
  devices: TfDevice[];
  devicesSource: 'live' | 'setup-check' | null;
  /** One line: why the tensorflow backend cannot load here (null when a binding is found). */
  why: string | null;
  /** The manifest the set-up wrote (null for none). */
  manifest: NativeManifest | null;
}

export function describeNativeBackend(env: NodeJS.ProcessEnv = process.env): NativeBackendDescription {
  const { location, setupDir, why } = locateNativeBackend(env);
  const current = currentBackend();
  const loaded = current?.name === 'tensorflow';
  const manifest = location?.manifest ?? null;
  let devices: TfDevice[] = [];
  let devicesSource: NativeBackendDescription['devicesSource'] = null;
  if (loaded && current?.native?.devices.length) {
    // listed by the kernels addon when the backend loaded (backend.ts)
    devices = current.native.devices;
    devicesSource = 'live';
  }
  if (!devicesSource && manifest) {
    devices = manifest.check.devices;
    devicesSource = 'setup-check';
  }
  const loadedVersion = loaded ? (current?.native?.libtensorflowVersion ?? null) : null;
  const versionFromDir = location?.libDir ? (/libtensorflow-(\d+\.\d+\.\d+)/.exec(location.libDir)?.[1] ?? null) : null;
  const k = kernelsInfo();
  const native = nativeKernels();
  const ki = native?.info();
  return {
    setupDir,
    setUp: location?.origin === 'setup' || !!setupLocation(setupDir).location,
    origin: location?.origin ?? null,
    package: location?.package ?? null,
    bindingPath: location?.bindingPath ?? null,
    libtensorflow: location
      ? {
          version: loadedVersion ?? manifest?.libtensorflow.version ?? versionFromDir,
          source: manifest?.libtensorflow.source ?? (versionFromDir === TF_VERSION ? 'pip-wheel' : null),
          dir: location.libDir ? dirname(location.libDir) : null,
          gpu: manifest?.libtensorflow.gpu ?? location.package === '@tensorflow/tfjs-node-gpu',
        }
      : null,
    loaded,
    kernels: {
      path: nativeKernelsPath() ?? null,
      isa: ki?.isa ?? null,
      isas: ki?.isas ?? [],
      threads: ki?.threads ?? null,
      why: k.kind === 'native' ? null : k.detail,
    },
    devices,
    devicesSource,
    why: location ? null : why,
    manifest,
  };
}
