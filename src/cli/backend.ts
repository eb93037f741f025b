// Backend start-up for CLI commands: say which backend runs; a backend that cannot load is a usage error.
import { initBackend, type BackendInfo } from '../engine/backend';
import { kernelsInfo } from '../engine/kernels';
import { CliError } from './errors';
import { log } from './log';

export async function startBackend(preference?: string): Promise<BackendInfo> {
  let info: BackendInfo;
  try {
    info = await initBackend(preference);
  } catch (e) {
    throw new CliError(`--backend: ${(e as Error).message}`);
  }
  log(`backend ${info.detail}; PSA kernels ${kernelsInfo().detail}`);
  return info;
}
