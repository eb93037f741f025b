// Every record of a run folder, once: the records of metrics.jsonl as a discriminated union on `kind`, and
// run.json, status.json, summary.json, config.json and environment.json (as far as they are read) and checkpoints.
// The run folder is the protocol between the trainer (the writer), the `sbn` CLI, the extension host and the panels;
// docs/run-format.md documents it, and test/unit/runRecords.test.ts checks the two against each other.
//
// This module imports nothing (no Node, no TensorFlow.js): the extension host and the webview protocol use its types.
// Each metrics record kind is a schema from which both its TypeScript type and its validator derive, so the check
// made on read (`validateMetricsRecord`) and the type the code sees cannot differ.

/** Version of the run folder format (run.json `version`); the records below are those of this version. */
export const RUN_FORMAT_VERSION = 1;

// ------------------------------------------------------------------------------------------------ schemas

/** A value's type and its check; `check` returns what is wrong (`at` names the field) or null. */
export interface Schema<T> {
  readonly optional: boolean;
  check(v: unknown, at: string): string | null;
  /**
   * For documentation checks: the allowed strings (oneOf), the element (array), the value (optional), the fields
   * (object).
   */
  readonly values?: readonly string[];
  readonly item?: Schema<unknown>;
  readonly inner?: Schema<unknown>;
  readonly shape?: Shape;
  /** Type carrier only (never set). */
  readonly __type?: T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;
type Shape = Record<string, Schema<unknown>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type RequiredKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? never : K }[keyof S];
type OptionalKeys<S extends Shape> = Exclude<keyof S, RequiredKeys<S>>;
export type ObjectOf<S extends Shape> = Simplify<
  { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined> }
>;
export interface ObjectSchema<S extends Shape> extends Schema<ObjectOf<S>> {
  readonly shape: S;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? s.slice(0, 40) + '…' : s;
}

function leaf<T>(expected: string, ok: (v: unknown) => boolean): Schema<T> {
  return {
    optional: false,
    check: (v, at) =>
      ok(v)
        ? null
        : v === undefined
          ? `"${at}" is missing (${expected})`
          : `"${at}" must be ${expected}, got ${show(v)}`,
  };
}

/** A finite number: counts, positions, times. */
const count = leaf<number>('a finite number', (v) => typeof v === 'number' && Number.isFinite(v));
/** A measured value: JSON has no NaN or ∞, so the writer stores them as null. */
const measured = leaf<number | null>(
  'a number or null',
  (v) => v === null || (typeof v === 'number' && Number.isFinite(v)),
);
const text = leaf<string>('a string', (v) => typeof v === 'string');
const flag = leaf<boolean>('true or false', (v) => typeof v === 'boolean');

function oneOf<const L extends readonly string[]>(values: L): Schema<L[number]> {
  return {
    ...leaf<L[number]>(
      `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`,
      (v) => typeof v === 'string' && values.includes(v),
    ),
    values,
  };
}

function optional<T>(s: Schema<T>): Schema<T | undefined> & { optional: true } {
  return { optional: true, inner: s, check: (v, at) => (v === undefined ? null : s.check(v, at)) };
}

function array<T>(item: Schema<T>): Schema<T[]> {
  return {
    optional: false,
    item,
    check: (v, at) => {
      if (!Array.isArray(v)) return `"${at}" must be an array, got ${show(v)}`;
      for (let i = 0; i < v.length; i++) {
        const e = item.check(v[i], `${at}[${i}]`);
        if (e) return e;
      }
      return null;
    },
  };
}

function object<S extends Shape>(shape: S): ObjectSchema<S> {
  return {
    optional: false,
    shape,
    check: (v, at) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return `"${at}" must be an object, got ${show(v)}`;
      const o = v as Record<string, unknown>;
      for (const [k, s] of Object.entries(shape)) {
        const e = s.check(o[k], at ? `${at}.${k}` : k);
        if (e) return e;
      }
      return null; // fields it does not know are a later version's: kept, not checked
    },
  };
}

// The same schemas check the messages between the extension host and its workers (src/protocol.ts).
export { array, count, flag, measured, object, oneOf, optional, show, text };

// ------------------------------------------------------------------------------------------------ metrics.jsonl

/**
 * What an lr search minimised (src/engine/train/lrSearch.ts), as its lr-trial and lr-chosen records name it: Brent's
 * search the trial's mean training objective over its last epoch (the estimator's own loss), the grid the validation
 * SBN u_loss at the trial's end. Absent in runs written before the grid search (those are Brent's).
 */
export const LR_CRITERIA = ['train.objective', 'validation.u_loss'] as const;
export type LrCriterion = (typeof LR_CRITERIA)[number];

export const EVAL_SPLITS = ['train', 'validation', 'test'] as const;
export type EvalSplit = (typeof EVAL_SPLITS)[number];

/** The fields every record has (docs/run-format.md, "Envelope"). */
const ENVELOPE = { kind: text, step: count, time: text, elapsed: count };

// bounds are null when the values were not finite (weights that overflowed in the step before a divergence)
const histogram = object({ min: measured, max: measured, counts: array(count) });

const layerStatsLayer = object({
  name: text,
  weightNorm: measured,
  gradNorm: optional(measured),
  weightHist: histogram,
  firingRate: optional(measured),
  entropy: optional(measured),
  preMean: optional(measured),
  preStd: optional(measured),
  saturated: optional(measured),
  preHist: optional(histogram),
  firingHist: optional(histogram),
});

const diagnosticsLayer = object({
  name: text,
  cos: array(measured),
  cosQ15: array(measured),
  cosQ85: array(measured),
  rmse: array(measured),
  variance: measured,
  snr: measured,
  bias: measured,
  biasSquared: optional(measured),
});

/**
 * The fields of each record kind besides the envelope. The order is the order of docs/run-format.md's table;
 * adding a kind here without documenting it there (or the other way round) fails test/unit/runRecords.test.ts.
 */
export const METRICS_KIND_FIELDS = {
  step: { epoch: count, loss: measured, lr: measured, samplesPerSecond: measured },
  eval: {
    split: oneOf(EVAL_SPLITS),
    epoch: count,
    u_loss: measured,
    acc1: measured,
    acc_e: measured,
    entropy: measured,
    examples: count,
    samples: count,
  },
  epoch: { epoch: count, loss: measured, seconds: count },
  'lr-trial': {
    trial: count,
    lr: count,
    log10lr: count,
    objective: measured,
    diverged: flag,
    criterion: optional(oneOf(LR_CRITERIA)),
  },
  'lr-chosen': { lr: count, criterion: optional(oneOf(LR_CRITERIA)) },
  layerStats: { epoch: count, layers: array(layerStatsLayer) },
  diagnostics: {
    epoch: count,
    reference: oneOf(['exact', 'unbiased-mean'] as const),
    referenceEstimator: optional(oneOf(['local-expectation', 'reinforce-loo'] as const)),
    referenceDraws: optional(count),
    referenceError: array(measured),
    draws: count,
    M: array(count),
    seconds: count,
    layers: array(text),
    estimators: array(
      object({
        estimator: text,
        seconds: count,
        secondsPerDraw: optional(count),
        layers: array(diagnosticsLayer),
      }),
    ),
  },
  auto: {
    epoch: count,
    layers: array(text),
    candidates: array(text),
    costs: array(count),
    mse: array(array(measured)),
    choice: array(text),
  },
  diverged: { layer: text, message: text },
  resume: { epoch: count },
  warning: { message: text },
} as const satisfies Record<string, Shape>;

type KindFields = typeof METRICS_KIND_FIELDS;
export type MetricsKind = keyof KindFields;
export const METRICS_KINDS = Object.keys(METRICS_KIND_FIELDS) as MetricsKind[];

/**
 * Every field name (nested ones too) and every allowed string value of a kind's fields: what docs/run-format.md's
 * row for the kind must mention (test/unit/runRecords.test.ts).
 */
export function metricsKindNames(kind: MetricsKind): { fields: string[]; values: string[] } {
  const fields = new Set<string>();
  const values = new Set<string>();
  const walk = (s: Schema<unknown>): void => {
    for (const v of s.values ?? []) values.add(v);
    if (s.item) walk(s.item);
    if (s.inner) walk(s.inner);
    for (const [k, f] of Object.entries(s.shape ?? {})) {
      fields.add(k);
      walk(f);
    }
  };
  walk(object(METRICS_KIND_FIELDS[kind] as Shape));
  return { fields: [...fields], values: [...values] };
}

/** The envelope every record has. */
export interface MetricsEnvelope {
  step: number;
  /** ISO 8601 time the record was written. */
  time: string;
  /** Seconds of training wall time, summed over every process that wrote this run. */
  elapsed: number;
}

/** The record of one kind. */
export type MetricsRecordOf<K extends MetricsKind> = Simplify<{ kind: K } & MetricsEnvelope & ObjectOf<KindFields[K]>>;

/** One record of metrics.jsonl. */
export type MetricsRecord = { [K in MetricsKind]: MetricsRecordOf<K> }[MetricsKind];

export type StepRecord = MetricsRecordOf<'step'>;
export type EvalRecord = MetricsRecordOf<'eval'>;
export type EpochRecord = MetricsRecordOf<'epoch'>;
export type LrTrialRecord = MetricsRecordOf<'lr-trial'>;
export type LrChosenRecord = MetricsRecordOf<'lr-chosen'>;
export type LayerStatsRecord = MetricsRecordOf<'layerStats'>;
export type DiagnosticsMetricsRecord = MetricsRecordOf<'diagnostics'>;
export type AutoRecord = MetricsRecordOf<'auto'>;
export type DivergedRecord = MetricsRecordOf<'diverged'>;
export type ResumeRecord = MetricsRecordOf<'resume'>;
export type WarningRecord = MetricsRecordOf<'warning'>;
export type Histogram = Infer<typeof histogram>;
export type LayerStatsEntry = Infer<typeof layerStatsLayer>;
export type DiagnosticsLayerEntry = Infer<typeof diagnosticsLayer>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What a writer passes: a record whose `time` and `elapsed` may be left to the writer to fill in. */
export type MetricsRecordInput = DistributiveOmit<MetricsRecord, 'time' | 'elapsed'> & {
  time?: string;
  elapsed?: number;
};

/** What a parsed line is: a record, a record of a kind this version does not know (skipped), or what is wrong. */
export type MetricsLineResult =
  | { ok: true; record: MetricsRecord }
  | { ok: false; unknownKind: string }
  | { ok: false; error: string; unknownKind?: undefined };

const schemas = Object.fromEntries(
  Object.entries(METRICS_KIND_FIELDS).map(([kind, fields]) => [kind, object(fields as Shape)]),
) as Record<string, ObjectSchema<Shape>>;
const envelope = object(ENVELOPE);

/** Check a parsed JSON value against the record types: the one validator of metrics.jsonl (read and write). */
export function validateMetricsRecord(v: unknown): MetricsLineResult {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, error: 'not a JSON object' };
  const r = v as Record<string, unknown>;
  if (typeof r.kind !== 'string') return { ok: false, error: 'no "kind" string' };
  if (typeof r.step !== 'number') return { ok: false, error: 'no "step" number' };
  const bad = envelope.check(r, '');
  if (bad) return { ok: false, error: bad };
  const schema = Object.prototype.hasOwnProperty.call(schemas, r.kind) ? schemas[r.kind] : undefined;
  if (!schema) return { ok: false, unknownKind: r.kind };
  const wrong = schema.check(r, '');
  if (wrong) return { ok: false, error: `${r.kind} record: ${wrong}` };
  return { ok: true, record: r as MetricsRecord };
}

/** Parse and validate one line of metrics.jsonl. */
export function parseMetricsLine(line: string): MetricsLineResult {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return { ok: false, error: `not valid JSON (${(e as Error).message})` };
  }
  return validateMetricsRecord(v);
}

// ------------------------------------------------------------------------------------------------ the other files

export const RUN_FORMAT = 'sbn-run';

/** run.json: written last by RunStore.create, so its presence marks a complete run folder. */
export interface RunManifest {
  format: typeof RUN_FORMAT;
  version: typeof RUN_FORMAT_VERSION;
  /** The name given to `create` (sanitized), without the date prefix or collision suffix. */
  name: string;
  /** ISO 8601 creation time. */
  created: string;
  /** The copied model file inside the folder, e.g. `model.sbn.yaml`. */
  model: string;
  /** The model file name as given to `create` (where it came from). */
  source: string;
}

export const RUN_STATUSES = ['running', 'stopped', 'finished', 'crashed', 'diverged'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** status.json as written. */
export interface StatusRecord {
  status: RunStatus;
  detail?: string;
  /**
   * The step the run ended at (stopped, finished): it may be past the last step record of metrics.jsonl, which are
   * written at log points only; readers show the larger of the two.
   */
  step?: number;
  /** The process that wrote it, and its machine. */
  pid: number;
  hostname: string;
  /** ISO 8601. */
  updated: string;
}

/** meta.json: what the user says about a run (display name, tags, notes); its own format and version. */
export const RUN_META_FORMAT = 'sbn-run-meta';
export const RUN_META_VERSION = 1;
/** The longest display name and tag, the most tags, the longest notes (characters). */
export const RUN_META_LIMITS = { displayName: 120, tag: 40, tags: 32, notes: 20000 } as const;

/** The fields of meta.json, in the order of docs/run-format.md's table. */
const META_SHAPE = {
  format: oneOf([RUN_META_FORMAT] as const),
  version: count,
  displayName: optional(text),
  tags: array(text),
  notes: text,
  updated: text,
} as const satisfies Shape;
export const RUN_META_SCHEMA = object(META_SHAPE);
export type RunMetaFile = ObjectOf<typeof META_SHAPE>;
export const RUN_META_FIELDS = Object.keys(META_SHAPE) as (keyof RunMetaFile)[];

/** What a run's meta.json says, as readers use it (no file: no display name, no tags, empty notes). */
export interface RunMeta {
  displayName?: string;
  tags: string[];
  notes: string;
}

/**
 * What is wrong with a display name, or null: one line (no control characters), not only spaces, at most
 * RUN_META_LIMITS.displayName characters.
 */
export function displayNameProblem(name: string): string | null {
  if (name.trim() === '') return 'a display name cannot be empty';
  if ([...name].length > RUN_META_LIMITS.displayName)
    return `a display name has at most ${RUN_META_LIMITS.displayName} characters`;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'a display name is one line, without control characters';
  return null;
}

/**
 * What is wrong with a tag, or null: letters (any script), digits and `. _ - : / + @ #`, no spaces or commas (a
 * list of tags is written `a,b`), at most RUN_META_LIMITS.tag characters.
 */
export function tagProblem(tag: string): string | null {
  if (tag === '') return 'a tag cannot be empty';
  if ([...tag].length > RUN_META_LIMITS.tag) return `tag "${tag}" is longer than ${RUN_META_LIMITS.tag} characters`;
  if (!/^[\p{L}\p{N}._\-:/+@#]+$/u.test(tag))
    return `tag "${tag}" may hold only letters, digits and . _ - : / + @ # (no spaces or commas)`;
  return null;
}

/** Check a parsed meta.json; returns what is wrong (naming the field) or null. */
export function runMetaProblem(v: unknown): string | null {
  // the format and version first: a later version's fields are its own
  const head = object({ format: META_SHAPE.format, version: META_SHAPE.version }).check(v, '');
  if (head) return head;
  const version = (v as { version: number }).version;
  if (version !== RUN_META_VERSION)
    return `meta format version ${version} is not supported (this build reads ${RUN_META_VERSION})`;
  const e = RUN_META_SCHEMA.check(v, '');
  if (e) return e;
  const m = v as RunMetaFile;
  if (m.displayName !== undefined) {
    const p = displayNameProblem(m.displayName);
    if (p) return `"displayName": ${p}`;
  }
  if (m.tags.length > RUN_META_LIMITS.tags) return `"tags": at most ${RUN_META_LIMITS.tags} tags`;
  for (const t of m.tags) {
    const p = tagProblem(t);
    if (p) return `"tags": ${p}`;
  }
  if (m.notes.length > RUN_META_LIMITS.notes) return `"notes": at most ${RUN_META_LIMITS.notes} characters`;
  return null;
}

/** The last evaluation of a split, as summary.json keeps it. */
const summaryEval = object({ u_loss: measured, acc1: measured, acc_e: measured, entropy: measured, epoch: count });
export type SummaryEval = Infer<typeof summaryEval>;

/** The fields of summary.json, in the order of docs/run-format.md's table. */
const SUMMARY_SHAPE = {
  run: text,
  status: oneOf(['finished', 'stopped', 'diverged'] as const),
  model: text,
  estimator: text,
  backend: text,
  steps: count,
  epochs: count,
  lr: count,
  secondsPerEpoch: measured,
  wallSeconds: count,
  /** Last evaluation of each split. */
  last: object({ train: optional(summaryEval), validation: optional(summaryEval), test: optional(summaryEval) }),
  message: optional(text),
} as const satisfies Shape;

/** summary.json: written when a run ends (finished, stopped, diverged), replacing any earlier one. */
export type RunSummary = ObjectOf<typeof SUMMARY_SHAPE>;
export const SUMMARY_FIELDS = Object.keys(SUMMARY_SHAPE) as (keyof RunSummary)[];

/** summary.json as a reader may find it: any field may be missing (an older writer) and others added. */
export type SummaryFile = Partial<RunSummary> & Record<string, unknown>;

/**
 * A parsed summary.json as readers take it: the documented fields that have their documented type (a field of the
 * wrong type is left out, as if missing), and every other field as it is.
 */
export function summaryFacts(v: unknown): SummaryFile {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  const out: Record<string, unknown> = { ...(v as Record<string, unknown>) };
  for (const [k, schema] of Object.entries(SUMMARY_SHAPE) as [string, Schema<unknown>][]) {
    if (out[k] !== undefined && schema.check(out[k], k) !== null) delete out[k];
  }
  return out;
}

/** What readers other than a resume take from config.json (the trainer writes the whole resolved configuration). */
export interface ConfigFileFacts {
  model?: { name?: string };
  train?: {
    estimator?: string;
    epochs?: number;
    /** The learning rate when the run trains at one fixed rate: `train.lr` a number or a constant schedule. */
    constantLr?: number;
  };
}

/**
 * What readers take from environment.json (the rest is informational and may grow; written by
 * src/engine/train/session.ts runEnvironment). Older runs lack fields: they only lose detail.
 */
export interface EnvironmentFileFacts {
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
  /** The kernels addon that was loaded; null when none was. */
  kernelsPath?: string | null;
}

function field(v: unknown, key: string): unknown {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;
}
const stringOr = (v: unknown) => (typeof v === 'string' ? v : undefined);
const numberOr = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The facts of a parsed config.json that have the documented types (the others are left out). */
export function configFacts(config: unknown): ConfigFileFacts {
  const train = field(config, 'train');
  const model = field(config, 'model');
  return {
    ...(model !== undefined ? { model: { name: stringOr(field(model, 'name')) } } : {}),
    // older configurations kept the estimator at the top level
    ...(train !== undefined || field(config, 'estimator') !== undefined
      ? {
          train: {
            estimator: stringOr(field(train, 'estimator') ?? field(config, 'estimator')),
            epochs: numberOr(field(train, 'epochs')),
            constantLr: constantLrOf(field(train, 'lr')),
          },
        }
      : {}),
  };
}

/** `train.lr` when it is one fixed rate (a number, or `{ schedule: "constant", base }`); not a search or schedule. */
function constantLrOf(lr: unknown): number | undefined {
  const rate = field(lr, 'schedule') === 'constant' ? numberOr(field(lr, 'base')) : numberOr(lr);
  return rate !== undefined && rate > 0 ? rate : undefined;
}

/** The facts of a parsed environment.json that have the documented types (the others are left out). */
export function environmentFacts(env: unknown): EnvironmentFileFacts {
  const native = field(env, 'native');
  const origin = field(native, 'origin');
  const devices = field(native, 'devices');
  const kernelsPath = field(env, 'kernelsPath');
  const facts: EnvironmentFileFacts = {
    backend: stringOr(field(env, 'backend')),
    backendDetail: stringOr(field(env, 'backendDetail')),
    origin: origin === 'checkout' || origin === 'setup' ? origin : undefined,
    devices: Array.isArray(devices)
      ? devices.map((d) => stringOr(field(d, 'type'))).filter((t): t is string => t !== undefined)
      : undefined,
    kernels: stringOr(field(env, 'kernels')),
    kernelsPath: kernelsPath === null ? null : stringOr(kernelsPath),
  };
  for (const key of Object.keys(facts) as (keyof EnvironmentFileFacts)[])
    if (facts[key] === undefined) delete facts[key];
  return facts;
}

// ------------------------------------------------------------------------------------------------ checkpoints

export const CHECKPOINT_FORMAT = 'sbn-checkpoint';
export const CHECKPOINT_VERSION = 1;

export interface TensorData {
  shape: number[];
  data: Float32Array;
}

/** Named tensors; names are free text (`layers.0.w`, `adam.m/layers.0.w`, …) but never `__proto__`. */
export type TensorMap = Record<string, TensorData>;

export interface OptimizerState {
  /** `sgd`, `momentum`, `adam`, … as the trainer names it. */
  type: string;
  state: TensorMap;
  /** Step counters, running powers of betas, … (finite numbers; JSON keeps doubles exactly). */
  scalars: Record<string, number>;
}

/** A checkpoint as the code holds it (tensors decoded); `parseCheckpoint` validates the file. */
export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  /** Optimizer steps completed. Resuming continues with step `step + 1`. */
  step: number;
  /** Epochs completed, fractional when the checkpoint was written mid-epoch (on stop). */
  epoch: number;
  params: TensorMap;
  optimizer?: OptimizerState;
  /** Random generator states (e.g. `{ "noise": { "s": [..4 uint32..] } }`). */
  rng?: Record<string, unknown>;
  /** Data order / position (e.g. permutation seed, index within the epoch). */
  data?: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

/** How a tensor is stored in the JSON file. */
export interface StoredTensor {
  shape: number[];
  dtype: 'float32';
  base64: string;
}
