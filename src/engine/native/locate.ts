// Where the tensorflow backend's native binding comes from in this process: a checkout's node_modules (built by
// `npm install`) or a set-up folder (built by `sbn setup backend` / SBN: Set Up Native Backend). Files on disk
// only; nothing is loaded here. src/engine/backend.ts loads what this finds; describeNativeBackend() reports it.
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultSetupDir, MANIFEST_FILE, NATIVE_DIR_ENV, readManifest, type NativeManifest } from './paths';

export type NativeOrigin = 'checkout' | 'setup';
export type TfjsNodePackage = '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';

export interface NativeLocation {
  origin: NativeOrigin;
  /** The tfjs-node package whose JavaScript runs the binding (the GPU package when it is installed in a checkout). */
  package: TfjsNodePackage;
  /** tfjs_binding.node */
  bindingPath: string;
  /** The folder holding libtensorflow_cc.so.2 that the binding resolves to (symlinks followed); null if it is gone. */
  libDir: string | null;
  /** The set-up folder (origin 'setup'). */
  setupDir?: string;
  /** The set-up's manifest, or the checkout's sbn-native.json when npm install wrote one. */
  manifest: NativeManifest | null;
  /** The PSA kernels addon of that set-up (origin 'setup'), if it was built. */
  kernelsPath: string | null;
}

export interface NativeLookup {
  location: NativeLocation | null;
  /** The set-up folder this process would use (SBN_NATIVE_DIR, else the default). */
  setupDir: string;
  /** Why no location was found (when location is null), one line. */
  why: string | null;
}

/** Checkout manifest written by npm install beside the tfjs-node package. */
export const CHECKOUT_MANIFEST = 'sbn-native.json';

function packageDir(name: string): string | null {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return null;
  }
}

/** The package a checkout's backend loads: the GPU package when it is installed and built, else tfjs-node. */
export function chooseTfjsNodePackage(built: Record<TfjsNodePackage, boolean>): TfjsNodePackage | null {
  if (built['@tensorflow/tfjs-node-gpu']) return '@tensorflow/tfjs-node-gpu';
  if (built['@tensorflow/tfjs-node']) return '@tensorflow/tfjs-node';
  return null;
}

/** libtensorflow's folder as the binding will see it through deps/lib (symlinks followed), or null. */
function libDirVia(depsLib: string): string | null {
  for (const f of ['libtensorflow_cc.so.2', 'libtensorflow.so']) {
    const p = join(depsLib, f);
    if (existsSync(p)) {
      try {
        return dirname(realpathSync(p));
      } catch {
        return null;
      }
    }
  }
  return null;
}

function checkoutBinding(pkg: TfjsNodePackage): { bindingPath: string; libDir: string | null; dir: string } | null {
  const dir = packageDir(pkg);
  if (!dir) return null;
  try {
    const lib = join(dir, 'lib');
    const sub = readdirSync(lib).find((d) => existsSync(join(lib, d, 'tfjs_binding.node')));
    if (!sub) return null;
    return { bindingPath: join(lib, sub, 'tfjs_binding.node'), libDir: libDirVia(join(dir, 'deps', 'lib')), dir };
  } catch {
    return null;
  }
}

/** A set-up folder's location when it holds a complete set-up (manifest + binding), else the reason it does not. */
export function setupLocation(setupDir: string): { location: NativeLocation | null; why: string | null } {
  const manifest = readManifest(join(setupDir, MANIFEST_FILE));
  if (!manifest) {
    return {
      location: null,
      why: existsSync(setupDir)
        ? `${setupDir} has no complete set-up (no ${MANIFEST_FILE})`
        : `not set up (${setupDir} does not exist)`,
    };
  }
  if (!manifest.binding || !existsSync(join(setupDir, manifest.binding))) {
    return { location: null, why: `${join(setupDir, MANIFEST_FILE)} names no tfjs-node binding that exists` };
  }
  const bindingPath = join(setupDir, manifest.binding);
  const kernelsPath =
    manifest.kernels && existsSync(join(setupDir, manifest.kernels)) ? join(setupDir, manifest.kernels) : null;
  return {
    location: {
      origin: 'setup',
      package: manifest.tfjsNode.package,
      bindingPath,
      setupDir,
      manifest,
      kernelsPath,
      // the binding's rpath is $ORIGIN/../../deps/lib (tfjs-node's binding.gyp); the set-up keeps that layout
      libDir: libDirVia(join(dirname(bindingPath), '..', '..', 'deps', 'lib')),
    },
    why: null,
  };
}

/**
 * Where the tensorflow backend loads from, in this order: the set-up folder named by SBN_NATIVE_DIR (an explicit
 * choice: the extension sets it for its workers once a set-up exists), the checkout's node_modules (the GPU
 * package first), the default set-up folder.
 */
export function locateNativeBackend(env: NodeJS.ProcessEnv = process.env): NativeLookup {
  const explicit = env[NATIVE_DIR_ENV];
  const setupDir = explicit || defaultSetupDir(env);
  const reasons: string[] = [];
  if (explicit) {
    const s = setupLocation(explicit);
    if (s.location) return { location: s.location, setupDir, why: null };
    reasons.push(`${NATIVE_DIR_ENV}: ${s.why}`);
  }
  const found = {
    '@tensorflow/tfjs-node-gpu': checkoutBinding('@tensorflow/tfjs-node-gpu'),
    '@tensorflow/tfjs-node': checkoutBinding('@tensorflow/tfjs-node'),
  };
  const pkg = chooseTfjsNodePackage({
    '@tensorflow/tfjs-node-gpu': !!found['@tensorflow/tfjs-node-gpu']?.libDir,
    '@tensorflow/tfjs-node': !!found['@tensorflow/tfjs-node']?.libDir,
  });
  if (pkg) {
    const c = found[pkg]!;
    return {
      location: {
        origin: 'checkout',
        package: pkg,
        bindingPath: c.bindingPath,
        libDir: c.libDir,
        manifest: readManifest(join(c.dir, CHECKOUT_MANIFEST)),
        kernelsPath: null,
      },
      setupDir,
      why: null,
    };
  }
  if (packageDir('@tensorflow/tfjs-node'))
    reasons.push(
      '@tensorflow/tfjs-node in node_modules has no built binding (npm install runs scripts/build-tfjs-node.mjs)',
    );
  if (!explicit) {
    const s = setupLocation(setupDir);
    if (s.location) return { location: s.location, setupDir, why: null };
    reasons.push(s.why!);
  }
  return { location: null, setupDir, why: reasons.join('; ') };
}
