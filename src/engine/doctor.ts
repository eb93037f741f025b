// The environment report behind `sbn doctor` and SBN: Show Environment: versions, each tensor backend and why it
// loads or not, the native kernels, GPUs, the data sets and where they are, the runs folders. Every backend is
// really initialised, each in a child process of its own (a crash or a hang of one cannot poison the others or
// the caller), with a timeout. The report's shape is src/environmentReport.ts (fields: docs/cli.md, `sbn doctor`).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backendLoadFailure, initBackend, type BackendName } from './backend';
import { describeNativeBackend } from './native/describe';
import { DATASET_CATALOG, STORED_DATASETS, dataStoreDirs, datasetLocations } from './data/store';
import {
  ENVIRONMENT_REPORT_SCHEMA,
  type BackendProbe,
  type EnvironmentReport,
  type NativeBackendReport,
} from '../environmentReport';
import { kernelsInfo, nativeKernels, nativeKernelsPath } from './kernels';
import { listRuns } from './runs';

/** argv[2] of a child process that only initialises one backend and prints a BackendProbe as JSON. */
export const BACKEND_PROBE_FLAG = '--sbn-probe-backend';
const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** In a probe child: initialise `name` and print the outcome as one JSON line on stdout. */
export async function runBackendProbe(name: string): Promise<void> {
  const started = Date.now();
  const out: Omit<BackendProbe, 'seconds'> = { name: name as BackendName, loads: false };
  if (!(BACKENDS as readonly string[]).includes(name)) out.reason = `unknown backend ${name}`;
  else {
    try {
      out.detail = (await initBackend(name)).detail;
      out.loads = true;
    } catch (e) {
      out.reason = backendLoadFailure(name as BackendName) ?? (e as Error).message;
    }
  }
  process.stdout.write(`${JSON.stringify({ ...out, seconds: (Date.now() - started) / 1000 })}\n`);
}

/**
 * Runs `script BACKEND_PROBE_FLAG name` with this executable (the CLI or the worker bundle; they answer the flag)
 * and reads its answer. A child that hangs is killed after `timeoutMs`.
 */
export function probeBackendInChild(
  name: BackendName,
  script: string,
  timeoutMs = 60_000,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BackendProbe> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, BACKEND_PROBE_FLAG, name], {
      env: { ...env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const seconds = () => (Date.now() - started) / 1000;
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ name, loads: false, reason: `cannot start a child process: ${e.message}`, seconds: seconds() });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      if (line) {
        try {
          const p = JSON.parse(line) as BackendProbe;
          resolve({ ...p, name, seconds: seconds() });
          return;
        } catch {
          /* reported below */
        }
      }
      const tail = stderr
        .trim()
        .split('\n')
        .filter((l) => l.trim())
        .slice(-1)[0];
      const how = timedOut
        ? `did not load within ${Math.round(timeoutMs / 1000)} s`
        : signal
          ? `crashed (${signal})`
          : `exited with code ${code}`;
      resolve({ name, loads: false, reason: `${how} while loading${tail ? `: ${tail}` : ''}`, seconds: seconds() });
    });
  });
}

/** GPUs the NVIDIA driver lists (Linux /proc); empty elsewhere or without the driver. */
function driverGpus(): string[] {
  const root = '/proc/driver/nvidia/gpus';
  try {
    return fs.readdirSync(root).map((bus) => {
      const info = fs.readFileSync(path.join(root, bus, 'information'), 'utf8');
      return `${/^Model:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? 'NVIDIA GPU'} (${bus})`;
    });
  } catch {
    return [];
  }
}

/**
 * The native backend section: where its binding and libtensorflow come from (describeNativeBackend(), which reads the
 * files of this machine), and whether it loads (the tensorflow probe, run in a child process).
 */
export function nativeBackendReport(tensorflow: BackendProbe | undefined): NativeBackendReport {
  const d = describeNativeBackend();
  const k = kernelsInfo();
  const info = nativeKernels()?.info();
  const setUp = !!tensorflow?.loads && k.kind === 'native';
  const why = setUp
    ? undefined
    : !tensorflow?.loads
      ? `the tensorflow backend does not load: ${tensorflow?.reason ?? d.why ?? 'not tried'}`
      : `the native PSA kernels are not in use: ${k.detail}`;
  return {
    folder: d.bindingPath ? path.dirname(d.bindingPath) : null,
    setupDir: d.setupDir,
    origin: d.origin,
    setUp,
    libtensorflow: {
      version: /libtensorflow ([^)\s]+)/.exec(tensorflow?.detail ?? '')?.[1] ?? d.libtensorflow?.version ?? null,
      path: d.libtensorflow?.dir ?? null,
      gpu: d.libtensorflow?.gpu ?? false,
    },
    kernels: {
      kind: k.kind,
      detail: k.detail,
      path: nativeKernelsPath() ?? null,
      isa: info?.isa ?? null,
      isas: info?.isas ?? [],
      threads: info?.threads ?? null,
    },
    gpus: driverGpus(),
    devices: d.devices.map((dev) => `${dev.name} (${dev.type})`),
    ...(why ? { why } : {}),
  };
}

export interface ReportOptions {
  sbnVersion: string;
  /** The script a probe child runs (the CLI's or the worker's entry; it must answer BACKEND_PROBE_FLAG). */
  probeScript: string;
  preferredBackend?: string;
  runsFolders: string[];
  timeoutMs?: number;
  /** Replaces the child-process probe (tests). */
  probe?: (name: BackendName) => Promise<BackendProbe>;
}

export async function environmentReport(o: ReportOptions): Promise<EnvironmentReport> {
  const probe = o.probe ?? ((name: BackendName) => probeBackendInChild(name, o.probeScript, o.timeoutMs));
  const backends = await Promise.all(BACKENDS.map((name) => probe(name)));
  const preferred = (o.preferredBackend || process.env.SBN_BACKEND || 'auto').trim().toLowerCase();
  const loads = (n: string) => backends.find((b) => b.name === n)?.loads;
  const selected =
    preferred === 'auto'
      ? (backends.find((b) => b.loads)?.name ?? null)
      : loads(preferred)
        ? (preferred as BackendName)
        : null;
  const stores = dataStoreDirs();
  const variables = Object.fromEntries(
    Object.entries(process.env)
      .filter(
        ([k, v]) =>
          v !== undefined &&
          /^(SBN_|TF_CPP_|TF_ENABLE_|TF_NUM_|TF_FORCE_|CUDA_VISIBLE_DEVICES$|ELECTRON_RUN_AS_NODE$)/.test(k),
      )
      .sort(),
  ) as Record<string, string>;
  return {
    schema: ENVIRONMENT_REPORT_SCHEMA,
    createdAt: new Date().toISOString(),
    sbnVersion: o.sbnVersion,
    node: {
      version: process.version,
      platform: process.platform,
      arch: process.arch,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model?.trim() ?? 'unknown',
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    },
    preferredBackend: preferred,
    selectedBackend: selected,
    backends,
    native: nativeBackendReport(backends.find((b) => b.name === 'tensorflow')),
    datasets: STORED_DATASETS.map((name) => {
      const locations = datasetLocations(name);
      return { name, title: DATASET_CATALOG[name].title, found: locations.find((l) => l.found) ?? null, locations };
    }),
    dataStores: { searched: stores, downloadsTo: stores[0] },
    runsFolders: o.runsFolders.map((dir) => {
      const exists = fs.existsSync(dir);
      return { dir, exists, runs: exists ? listRuns(dir).length : 0 };
    }),
    variables,
  };
}
