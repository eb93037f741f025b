// Builds the native kernel addon (native/: N-API, C++17; PSA's dense product and ratio convolution) with the
// node-gyp that ships with npm, into native/build/Release/sbn_kernels.node, with the set-up code of
// `sbn setup backend` (src/engine/native/setup.ts). Run by postinstall; also
// `node scripts/build-kernels.mjs [--force]`.
//
// Never fails the install: any problem ends with one line
//   sbn-studio: native kernels not built (<reason>); the TensorFlow.js implementation will be used
// and exit code 0. SBN_SKIP_KERNELS=1 skips the step. An addon newer than its sources that loads is kept.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadSetup, log, root } from './lib/native-setup.mjs';

const t0 = Date.now();
try {
  if (process.env.SBN_SKIP_KERNELS === '1' || process.env.SBN_SKIP_KERNELS === 'true')
    throw new Error('SBN_SKIP_KERNELS is set');
  const nativeDir = join(root, 'native');
  if (!existsSync(join(nativeDir, 'binding.gyp'))) throw new Error('native/binding.gyp is missing');
  const setup = await loadSetup();
  const summary = await setup.setupCheckoutKernels(nativeDir, process.argv.includes('--force'), { log });
  log(`${summary} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
} catch (e) {
  log(`native kernels not built (${e?.message ?? e}); the TensorFlow.js implementation will be used`);
  process.exitCode = 0;
}
