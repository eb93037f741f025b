// Shared by `sbn experiment gradacc` and `sbn experiment train`: where a result came from.
import * as os from 'node:os';
import * as path from 'node:path';
import type { BackendInfo } from '../engine/backend';
import { kernelsInfo } from '../engine/kernels';
import type { ExperimentEnvironment } from '../engine/experiments/types';

export function experimentEnvironment(backend: BackendInfo): ExperimentEnvironment {
  return {
    created: new Date().toISOString(),
    backend: backend.detail,
    kernels: kernelsInfo().detail,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cpus: os.cpus().length,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    command: recordedCommand(process.argv.slice(2), process.cwd()),
  };
}

/**
 * `sbn …` as typed, except that absolute paths (`--out /x/y`, `--data=/x/y`) are written relative to the working
 * directory: result files are meant to be shared and committed, and one machine's folders mean nothing elsewhere.
 */
export function recordedCommand(args: string[], cwd: string): string {
  const portable = (arg: string): string => {
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    if (eq > 0) return arg.slice(0, eq + 1) + portable(arg.slice(eq + 1));
    return path.isAbsolute(arg) ? path.relative(cwd, arg) || '.' : arg;
  };
  return ['sbn', ...args.map(portable)].join(' ');
}
