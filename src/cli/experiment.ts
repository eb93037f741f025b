// Shared by `sbn experiment gradacc` and `sbn experiment train`: where a result came from.
import * as os from 'node:os';
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
    command: ['sbn', ...process.argv.slice(2)].join(' '),
  };
}
