// Root postinstall: builds the native binding of the optional @tensorflow/tfjs-node package against the
// libtensorflow inside the TensorFlow pip wheel (its own install script would download libtensorflow 2.9.1 and a
// prebuilt addon, which fails offline), with the set-up code of `sbn setup backend` (src/engine/native/setup.ts;
// docs/kernels.md "Native set-up"). $SBN_LIBTENSORFLOW uses an existing libtensorflow folder instead.
//
// Never fails the install: any problem ends with one line
//   sbn-studio: tfjs-node not built (<reason>); the wasm backend will be used
// and exit code 0. SBN_SKIP_TFJS_NODE=1 skips the whole step.
// Cache: ${SBN_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/sbn-studio}/libtensorflow-<version>/ (shared by all clones;
// .cache/sbn-studio inside the clone when that is not writable and SBN_CACHE_DIR is unset).
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { loadSetup, log, root } from './lib/native-setup.mjs';

const t0 = Date.now();
const secs = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

if (process.env.SBN_SKIP_TFJS_NODE === '1' || process.env.SBN_SKIP_TFJS_NODE === 'true') {
  log('SBN_SKIP_TFJS_NODE is set: not building tfjs-node; the wasm backend will be used');
} else {
  try {
    if (process.platform !== 'linux' || process.arch !== 'x64')
      throw new Error(`unsupported platform ${process.platform}-${process.arch}`);
    const pkgDir = join(root, 'node_modules', '@tensorflow', 'tfjs-node');
    if (!existsSync(join(pkgDir, 'package.json'))) throw new Error('@tensorflow/tfjs-node is not installed');
    const setup = await loadSetup();
    const summary = await setup.setupCheckoutTfjsNode(pkgDir, {
      log,
      fallbackCache: join(root, '.cache', 'sbn-studio'),
    });
    log(`${summary} (${secs()})`);
  } catch (e) {
    log(`tfjs-node not built (${e?.message ?? e}); the wasm backend will be used`);
    process.exitCode = 0;
  }
}
