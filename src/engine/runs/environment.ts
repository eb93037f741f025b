// What ran a run, from its environment.json (written by src/engine/train/session.ts runEnvironment): the lines the
// Runs view and the panel headers show. Tolerant of older runs (fields missing) — they only lose detail.
export interface RunBackendFacts {
  /** "tensorflow", "wasm", "cpu" */
  backend?: string;
  /** e.g. "tensorflow (libtensorflow 2.21.0)", "wasm (SIMD, 2 threads)" */
  backendDetail?: string;
  /** tensorflow: where its binding came from. */
  origin?: 'checkout' | 'setup';
  /** tensorflow: the device types TensorFlow listed, e.g. ["CPU", "GPU"]. */
  devices?: string[];
  /** e.g. "native (avx512, 2 threads)" or "TensorFlow.js ops (…)" */
  kernels?: string;
}

const ORIGIN_LABEL = { checkout: 'node_modules', setup: 'native set-up' } as const;

export function runBackendFacts(env: unknown): RunBackendFacts {
  if (typeof env !== 'object' || env === null) return {};
  const e = env as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const native = typeof e.native === 'object' && e.native !== null ? e.native as Record<string, unknown> : undefined;
  const origin = native?.origin === 'checkout' || native?.origin === 'setup' ? native.origin : undefined;
  const devices = Array.isArray(native?.devices)
    ? (native.devices as unknown[]).map((d) => str((d as Record<string, unknown>)?.type)).filter((t): t is string => !!t)
    : undefined;
  return { backend: str(e.backend), backendDetail: str(e.backendDetail), origin, devices, kernels: str(e.kernels) };
}

/** One line: "tensorflow (libtensorflow 2.21.0) from the native set-up, on CPU". */
export function backendSummary(f: RunBackendFacts): string | undefined {
  const base = f.backendDetail ?? f.backend;
  if (!base) return undefined;
  const where = f.origin ? ` from ${ORIGIN_LABEL[f.origin]}` : '';
  const devices = f.devices?.length ? `, on ${[...new Set(f.devices)].join(' + ')}` : '';
  return `${base}${where}${devices}`;
}
