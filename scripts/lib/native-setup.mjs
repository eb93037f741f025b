// The install-time scripts (build-tfjs-node.mjs, build-kernels.mjs) run the same set-up code as `sbn setup backend`
// and SBN: Set Up Native Backend: src/engine/native/setup.ts, bundled here with esbuild (a dev dependency, present
// whenever `npm install` runs the postinstall) into dist/native-setup.cjs, because postinstall runs before the build.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));

/** The set-up module (src/engine/native/setup.ts). */
export async function loadSetup() {
  const outfile = join(root, 'dist', 'native-setup.cjs');
  await build({
    absWorkingDir: root,
    entryPoints: ['src/engine/native/setup.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['@tensorflow/*'],
    logLevel: 'warning',
  });
  return createRequire(import.meta.url)(outfile);
}

export function log(msg) {
  process.stderr.write(`sbn-studio: ${msg}\n`);
}
