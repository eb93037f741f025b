// Backend start-up for CLI commands: say which backend runs; a backend that cannot load is a usage error.
import { initBackend, type BackendInfo } from '../engine/backend';
import { kernelsInfo } from '../engine/kernels';
import { withEnvironmentHint } from '../engine/environmentHint';
import { CliError, cliMessage } from './errors';
import { log } from './log';

export async function startBackend(preference?: string): Promise<BackendInfo> {
  let info: BackendInfo;
  try {
    info = await initBackend(preference);
  } catch (e) {
    throw new CliError(`--backend: ${(e as Error).message}`);
  }
  const kernels = kernelsInfo();
  const line = `backend ${info.detail}; PSA kernels ${kernels.detail}`;
  log(kernels.unavailable ? cliMessage(withEnvironmentHint(line)) : line);
  return info;
}
