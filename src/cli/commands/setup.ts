// `sbn setup backend`: builds the native backend (tfjs-node binding + PSA kernels against libtensorflow) into a
// set-up folder that the tensorflow backend is then loaded from (src/engine/native/setup.ts does the work).
import { describeNativeBackend } from '../../engine/native/describe';
import { defaultSetupDir, NATIVE_DIR_ENV, SETUP_LOG_FILE } from '../../engine/native/paths';
import {
  findNativeSources,
  givenLibtensorflow,
  SETUP_STEPS,
  SetupError,
  setupNativeBackend,
} from '../../engine/native/setup';
import { CliError } from '../errors';
import { log } from '../log';
import { join, resolve } from 'node:path';

export interface SetupBackendOptions {
  dir?: string;
  libtensorflow?: string;
  gpu?: boolean;
  force?: boolean;
  verbose?: boolean;
}

export async function setupBackendCommand(opts: SetupBackendOptions): Promise<void> {
  const dir = resolve(opts.dir ?? process.env[NATIVE_DIR_ENV] ?? defaultSetupDir());
  const sources = findNativeSources(__dirname, !!opts.gpu);
  if (!sources)
    throw new CliError(
      'the sources of the native backend are not here ' +
        '(native/ and node_modules/@tensorflow/tfjs-node in a checkout); run `sbn doctor`',
      1,
    );
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const t0 = Date.now();
  try {
    const manifest = await setupNativeBackend({
      dir,
      sources,
      gpu: opts.gpu,
      force: opts.force,
      signal: controller.signal,
      libtensorflow: givenLibtensorflow([{ label: '--libtensorflow', dir: opts.libtensorflow }]),
      reporter: {
        step: (s, detail) => log(`${SETUP_STEPS[s]}${detail ? ` (${detail})` : ''}…`),
        log: opts.verbose ? (line) => process.stderr.write(`  ${line}\n`) : undefined,
      },
    });
    const devices = manifest.check.devices.map((d) => d.type).join(', ') || 'no devices listed';
    const k = manifest.check.kernels;
    const gpuBuild = manifest.libtensorflow.gpu ? ', GPU build' : '';
    log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s; log: ${join(dir, SETUP_LOG_FILE)}`);
    process.stdout.write(
      `native backend set up in ${dir}: ` +
        `tensorflow (libtensorflow ${manifest.libtensorflow.version}${gpuBuild}; ${devices}), ` +
        `PSA kernels ${k ? `native (${k.isa}, ${k.threads} thread${k.threads === 1 ? '' : 's'})` : 'not built'}\n`,
    );
    const d = await describeNativeBackend({ ...process.env, [NATIVE_DIR_ENV]: dir });
    if (d.origin !== 'setup') log(`note: ${d.why ?? 'this folder is not the one the tensorflow backend loads from'}`);
    else if (dir !== resolve(defaultSetupDir()) && !process.env[NATIVE_DIR_ENV])
      log(`use it with ${NATIVE_DIR_ENV}=${dir}`);
  } catch (e) {
    if (e instanceof SetupError) {
      throw new CliError(
        `setup backend: ${e.message}; log: ${join(dir, SETUP_LOG_FILE)}; \`sbn doctor\` shows the environment`,
        e.missing === 'libtensorflow' ? 2 : 1,
      );
    }
    if (controller.signal.aborted) throw new CliError('setup backend: cancelled', 130);
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
