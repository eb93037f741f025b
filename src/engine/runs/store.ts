// A run folder: what the trainer writes and the CLI and the VS Code extension read. docs/run-format.md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ATOMIC_TEMP_PATTERN, fsyncDir, writeFileAtomic } from '../files';
import {
  CHECKPOINT_FILE,
  Checkpoint,
  EPOCH_CHECKPOINT_DIR,
  epochCheckpointName,
  listCheckpoints,
  readCheckpoint,
  serializeCheckpoint,
} from './checkpoint';
import { readRunMeta } from './meta';
import { lastMetricsRecord, METRICS_FILE, readMetrics, repairMetricsTail, tailMetrics } from './metrics';
import {
  RUN_FORMAT,
  RUN_FORMAT_VERSION,
  configFacts,
  summaryFacts,
  validateMetricsRecord,
  type MetricsRecord,
  type MetricsRecordInput,
  type RunManifest,
  type RunMeta,
  type RunSummary,
  type SummaryFile,
} from './records';
import {
  acquireLock,
  LOCK_FILE,
  LOCK_HEARTBEAT_SECONDS,
  readStatus,
  refreshLock,
  releaseLock,
  RunStatus,
  StatusInfo,
  writeStatus,
} from './status';
import { TENSORBOARD_DIR, TensorBoardWriter } from './tensorboard';

export const RUN_FILE = 'run.json';
export const RUN_VERSION = RUN_FORMAT_VERSION;
export const CONFIG_FILE = 'config.json';
export const ENVIRONMENT_FILE = 'environment.json';
export const SUMMARY_FILE = 'summary.json';

export interface RunInit {
  /** Name (or path) of the model file; its extension (`.sbn.yaml`, `.sbn.json`, `.yaml`, …) is kept. */
  modelFileName: string;
  /** The model file's text exactly as read. */
  modelText: string;
  /** The resolved configuration (every default filled in). */
  config: unknown;
  /** Backend, versions, machine… */
  environment: unknown;
  /** Creation time (for tests); default now. */
  created?: Date;
}

/** One run folder as a listing shows it. When `reason` is set the folder could not be read as a run. */
export interface RunInfo {
  dir: string;
  /** From run.json, else the folder name. */
  name: string;
  created?: string;
  status?: RunStatus;
  statusDetail?: string;
  estimator?: string;
  /** The model file inside the folder. */
  model?: string;
  /** The last valid metrics record. */
  last?: MetricsRecord;
  /** summary.json, when the run has written one. */
  summary?: SummaryFile;
  /** meta.json: the user's display name, tags and notes (absent when it cannot be read: see `metaProblem`). */
  meta?: RunMeta;
  /** Why meta.json cannot be read: the run itself is fine, only its name, tags and notes are not shown. */
  metaProblem?: string;
  reason?: string;
}

/** A name safe in a folder name on every OS: letters, digits, `.`, `_`, `-`; at most 64 characters. */
export function sanitizeRunName(name: string): string {
  const s = String(name)
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 64)
    .replace(/[-.]+$/g, '');
  return s || 'run';
}

/** `model` + the model file's extension: `.sbn.yaml` stays `.sbn.yaml`, `x.yaml` gives `.yaml`. */
export function modelCopyName(modelFileName: string): string {
  const base = path.basename(modelFileName);
  const m = /(\.sbn)?\.[A-Za-z0-9]{1,10}$/.exec(base);
  return 'model' + (m ? m[0].toLowerCase() : '.txt');
}

function stamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}`;
  return `${date}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

function json(v: unknown): string {
  const text = JSON.stringify(v, null, 2);
  return (text === undefined ? 'null' : text) + '\n';
}

function readJsonObject(file: string): Record<string, unknown> {
  const v = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${file}: expected a JSON object`);
  return v as Record<string, unknown>;
}

/** Read and check run.json; throws a one-line error when `dir` is not a run folder. */
export function readManifest(dir: string): RunManifest {
  const file = path.join(dir, RUN_FILE);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new Error(`run folder ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new Error(`${dir} is not a folder`);
  let m: Record<string, unknown>;
  try {
    m = readJsonObject(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(`${dir} is not an sbn run folder (no ${RUN_FILE})`, { cause: e });
    throw new Error(`${file}: ${(e as Error).message}`, { cause: e });
  }
  if (m.format !== RUN_FORMAT) throw new Error(`${file}: not an sbn run (format ${JSON.stringify(m.format)})`);
  if (m.version !== RUN_VERSION)
    throw new Error(
      `${file}: run format version ${JSON.stringify(m.version)} is not supported (this build reads ${RUN_VERSION})`,
    );
  for (const k of ['name', 'created', 'model'] as const) {
    if (typeof m[k] !== 'string') throw new Error(`${file}: "${k}" must be a string`);
  }
  return {
    format: RUN_FORMAT,
    version: RUN_VERSION,
    name: m.name as string,
    created: m.created as string,
    model: m.model as string,
    source: typeof m.source === 'string' ? m.source : '',
  };
}

/** summary.json of a run (its documented fields checked: see summaryFacts), or null when it has none yet. */
export function readSummary(dir: string): SummaryFile | null {
  try {
    return summaryFacts(readJsonObject(path.join(dir, SUMMARY_FILE)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${path.join(dir, SUMMARY_FILE)}: ${(e as Error).message}`, { cause: e });
  }
}

/** config.json of a run (the resolved configuration). */
export function readConfig(dir: string): unknown {
  const file = path.join(dir, CONFIG_FILE);
  const text = fs.readFileSync(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: the file is damaged, not valid JSON (${(e as Error).message})`, { cause: e });
  }
}

/** environment.json of a run. */
export function readEnvironment(dir: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(dir, ENVIRONMENT_FILE), 'utf8'));
}

/** A run folder as a listing shows it; never throws (problems go into `reason`). */
export function runInfo(dir: string): RunInfo {
  const info: RunInfo = { dir, name: path.basename(dir) };
  try {
    const m = readManifest(dir);
    Object.assign(info, { name: m.name, created: m.created, model: m.model });
  } catch (e) {
    info.reason = (e as Error).message;
    return info;
  }
  const problems: string[] = [];
  const attempt = (what: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      problems.push(`${what}: ${(e as Error).message}`);
    }
  };
  attempt('status', () => {
    const s = readStatus(dir);
    info.status = s.status;
    if (s.detail !== undefined) info.statusDetail = s.detail;
  });
  attempt('config', () => {
    const e = configFacts(readConfig(dir)).train?.estimator;
    if (e) info.estimator = e;
  });
  attempt('metrics', () => {
    const l = lastMetricsRecord(dir);
    if (l) info.last = l;
  });
  attempt('summary', () => {
    const s = readSummary(dir);
    if (s) info.summary = s;
  });
  try {
    info.meta = readRunMeta(dir);
  } catch (e) {
    info.metaProblem = (e as Error).message;
  }
  if (problems.length) info.reason = problems.join('; ');
  return info;
}

/**
 * Every run folder directly under `root`, newest first (by creation time; folders without one by modification
 * time). Folders that are not readable runs are included with `reason` set; hidden entries and files are skipped.
 * Never throws.
 */
export function listRuns(root: string): RunInfo[] {
  let names: fs.Dirent[];
  try {
    names = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return [];
  }
  const rows: Array<{ info: RunInfo; t: number }> = [];
  for (const d of names) {
    if (d.name.startsWith('.') || !d.isDirectory()) continue;
    const dir = path.join(root, d.name);
    const info = runInfo(dir);
    let t = info.created ? Date.parse(info.created) : NaN;
    if (!Number.isFinite(t)) {
      try {
        t = fs.statSync(dir).mtimeMs;
      } catch {
        t = 0;
      }
    }
    rows.push({ info, t });
  }
  rows.sort((a, b) => b.t - a.t || (a.info.dir < b.info.dir ? 1 : a.info.dir > b.info.dir ? -1 : 0));
  return rows.map((r) => r.info);
}

/** Remove temporary files of interrupted atomic writes (the caller holds the lock). */
function removeStaleTemps(dir: string): void {
  for (const d of [dir, path.join(dir, EPOCH_CHECKPOINT_DIR)]) {
    let names: string[];
    try {
      names = fs.readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      if (ATOMIC_TEMP_PATTERN.test(n) && !n.startsWith(`.${LOCK_FILE}.`)) {
        try {
          fs.unlinkSync(path.join(d, n));
        } catch {
          /* ignore */
        }
      }
    }
  }
}

/**
 * The writer's handle on one run folder. Holds the run's lock from `create`/`open` until `close`; a process that
 * dies without closing leaves a stale lock, which the next `open` takes over.
 */
/**
 * metrics.jsonl is written at once (readers and a crash of this process see every record) and flushed to disk
 * (fdatasync, ~5 ms each) this long after the first record not yet flushed, and before every checkpoint, status
 * change and close: a record is on disk within this time, and what an operating-system crash can lose lies after
 * the last checkpoint, where a resume drops records anyway.
 */
export const METRICS_SYNC_SECONDS = 1;

export class RunStore {
  readonly dir: string;
  readonly manifest: RunManifest;
  private metricsFd: number | null = null;
  /** When metrics.jsonl was last flushed to disk (performance.now() ms), and whether records were written since. */
  private metricsSyncedAt = -Infinity;
  private metricsUnsynced = false;
  private metricsSyncTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** `elapsed` of the last record already in metrics.jsonl: the time earlier processes spent on this run. */
  private readonly elapsedBase: number;
  private readonly openedAt = performance.now();
  private readonly heartbeatTimer: NodeJS.Timeout;
  /** The run's TensorBoard event files: each record appended to metrics.jsonl is also written there. */
  private readonly tensorboard: TensorBoardWriter;

  private constructor(dir: string, manifest: RunManifest, elapsedBase: number) {
    this.dir = dir;
    this.manifest = manifest;
    this.elapsedBase = elapsedBase;
    this.tensorboard = new TensorBoardWriter(path.join(dir, TENSORBOARD_DIR));
    try {
      this.metricsFd = fs.openSync(path.join(dir, METRICS_FILE), 'a');
    } catch (e) {
      releaseLock(dir);
      throw e;
    }
    // the lock's heartbeat: how a process on another machine tells a live writer from a dead one
    this.heartbeatTimer = setInterval(() => this.heartbeat(), LOCK_HEARTBEAT_SECONDS * 1000);
    this.heartbeatTimer.unref();
  }

  /** Refresh the lock's heartbeat now (a timer does it every LOCK_HEARTBEAT_SECONDS while the run is open). */
  heartbeat(): void {
    if (this.closed) return;
    try {
      refreshLock(this.dir);
    } catch {
      /* the next beat tries again */
    }
  }

  /**
   * Make a new run folder `<root>/<YYYYMMDD-HHMMSS>-<name>/` (local time; `-2`, `-3`, … on collision), holding the
   * model file as given, config.json, environment.json and status.json (`running`). run.json is written last.
   */
  static create(root: string, name: string, init: RunInit): RunStore {
    const created = init.created ?? new Date();
    const clean = sanitizeRunName(name);
    fs.mkdirSync(root, { recursive: true });
    const base = `${stamp(created)}-${clean}`;
    let dir: string;
    for (let n = 1; ; n++) {
      dir = path.join(root, n === 1 ? base : `${base}-${n}`);
      try {
        fs.mkdirSync(dir);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 10000) throw e;
      }
    }
    fsyncDir(root);
    return RunStore.fill(dir, clean, created, init);
  }

  /**
   * Make the run folder `dir` itself (its parent is created; `dir` must not exist yet): for callers that name their
   * runs (a sweep's run folders are named after their points). Otherwise as `create`.
   */
  static createAt(dir: string, init: RunInit): RunStore {
    const created = init.created ?? new Date();
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.mkdirSync(dir);
    fsyncDir(path.dirname(dir));
    return RunStore.fill(dir, sanitizeRunName(path.basename(dir)), created, init);
  }

  /** Fill a new, empty run folder under its lock; run.json is written last. */
  private static fill(dir: string, clean: string, created: Date, init: RunInit): RunStore {
    acquireLock(dir);
    try {
      const model = modelCopyName(init.modelFileName);
      writeFileAtomic(path.join(dir, model), init.modelText);
      writeFileAtomic(path.join(dir, CONFIG_FILE), json(init.config));
      writeFileAtomic(path.join(dir, ENVIRONMENT_FILE), json(init.environment));
      writeStatus(dir, 'running');
      const manifest: RunManifest = {
        format: RUN_FORMAT,
        version: RUN_VERSION,
        name: clean,
        created: created.toISOString(),
        model,
        source: init.modelFileName,
      };
      writeFileAtomic(path.join(dir, RUN_FILE), json(manifest));
      return new RunStore(dir, manifest, 0);
    } catch (e) {
      releaseLock(dir);
      throw e;
    }
  }

  /**
   * Open an existing run for writing (to resume it): takes the lock (a live writer is an error), cuts an interrupted
   * last line off metrics.jsonl and removes temporary files of interrupted writes. Does not change status.json.
   */
  static open(dir: string): RunStore {
    const manifest = readManifest(dir);
    acquireLock(dir);
    try {
      removeStaleTemps(dir);
      const last = repairMetricsTail(dir);
      const base = last && typeof last.elapsed === 'number' && Number.isFinite(last.elapsed) ? last.elapsed : 0;
      return new RunStore(dir, manifest, base);
    } catch (e) {
      releaseLock(dir);
      throw e;
    }
  }

  static list(root: string): RunInfo[] {
    return listRuns(root);
  }
  static info(dir: string): RunInfo {
    return runInfo(dir);
  }
  static status(dir: string): StatusInfo {
    return readStatus(dir);
  }
  static readMetrics = readMetrics;
  static tailMetrics = tailMetrics;
  static readCheckpoint = readCheckpoint;
  static listCheckpoints = listCheckpoints;
  static readSummary = readSummary;

  get name(): string {
    return this.manifest.name;
  }

  /** False once `close` has run. */
  get isOpen(): boolean {
    return !this.closed;
  }

  private live(): void {
    if (this.closed) throw new Error(`run ${this.dir} is closed`);
  }

  /** Seconds of training wall time so far, including earlier processes that wrote this run. */
  elapsed(): number {
    return this.elapsedBase + (performance.now() - this.openedAt) / 1000;
  }

  /**
   * Append one record to metrics.jsonl and flush it to disk. `time` (ISO now) and `elapsed` (see `elapsed()`) are
   * filled in when absent. Non-finite numbers are written as null (JSON has no NaN). The record is checked, as
   * written, by the validator readers use (records.ts): one that readers would skip is not written (TypeError).
   * Returns the record as written.
   */
  appendMetrics(record: MetricsRecordInput): MetricsRecord {
    this.live();
    const given = record as Partial<Record<string, unknown>>;
    if (typeof given.kind !== 'string' || given.kind === '')
      throw new TypeError('a metrics record needs a "kind" string');
    if (typeof given.step !== 'number' || !Number.isFinite(given.step))
      throw new TypeError('a metrics record needs a finite "step" number');
    // the envelope's fields first, in the documented order
    const full: Record<string, unknown> = Object.assign(
      { kind: undefined, step: undefined, time: undefined, elapsed: undefined },
      record,
    );
    if (full.time === undefined) full.time = new Date().toISOString();
    if (full.elapsed === undefined) full.elapsed = Math.round(this.elapsed() * 1000) / 1000;
    const line = JSON.stringify(full);
    const checked = validateMetricsRecord(JSON.parse(line));
    if (!checked.ok)
      throw new TypeError(
        'a metrics record readers would skip: ' +
          (checked.unknownKind !== undefined ? `unknown kind "${checked.unknownKind}"` : checked.error),
      );
    const buf = Buffer.from(line + '\n', 'utf8');
    const fd = this.metricsFd as number;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    this.tensorboard.add([checked.record]);
    this.metricsUnsynced = true;
    const wait = this.metricsSyncedAt + METRICS_SYNC_SECONDS * 1000 - performance.now();
    if (wait <= 0) this.syncMetrics();
    else if (!this.metricsSyncTimer) {
      this.metricsSyncTimer = setTimeout(() => {
        this.metricsSyncTimer = undefined;
        if (!this.closed) this.syncMetrics();
      }, wait);
      this.metricsSyncTimer.unref();
    }
    return checked.record;
  }

  /** Flush the records written so far to disk (fdatasync), if any are not yet. */
  syncMetrics(): void {
    if (!this.metricsUnsynced || this.metricsFd === null) return;
    fs.fdatasyncSync(this.metricsFd);
    this.metricsUnsynced = false;
    this.metricsSyncedAt = performance.now();
  }

  /**
   * Write checkpoint.json atomically (temporary file, flush, rename); with `keep: 'epoch'` also
   * checkpoints/epoch-NNNN.json for `cp.epoch` (which must then be a whole number). Validates the checkpoint.
   */
  writeCheckpoint(cp: Checkpoint, opts: { keep?: 'latest' | 'epoch' } = {}): void {
    this.live();
    // the records up to the checkpoint are on disk before it is
    this.syncMetrics();
    const text = serializeCheckpoint(cp);
    if (opts.keep === 'epoch') {
      if (!Number.isSafeInteger(cp.epoch)) throw new Error(`an epoch checkpoint needs a whole epoch, got ${cp.epoch}`);
      const d = path.join(this.dir, EPOCH_CHECKPOINT_DIR);
      if (!fs.existsSync(d)) {
        fs.mkdirSync(d, { recursive: true });
        fsyncDir(this.dir);
      }
      writeFileAtomic(path.join(d, epochCheckpointName(cp.epoch)), text);
    }
    writeFileAtomic(path.join(this.dir, CHECKPOINT_FILE), text);
  }

  readCheckpoint(which: 'latest' | number = 'latest'): Checkpoint {
    return readCheckpoint(this.dir, which);
  }

  /** Write status.json atomically (with this process's pid and host, and the time; `step`: where the run ended). */
  setStatus(status: RunStatus, detail?: string, step?: number): void {
    this.live();
    this.syncMetrics();
    writeStatus(this.dir, status, detail, step);
  }

  /** Replace config.json atomically (a resume that changes the number of epochs records it there). */
  writeConfig(config: unknown): void {
    this.live();
    writeFileAtomic(path.join(this.dir, CONFIG_FILE), json(config));
  }

  /** Write summary.json atomically (replacing an earlier one). */
  writeSummary(summary: RunSummary): void {
    this.live();
    writeFileAtomic(path.join(this.dir, SUMMARY_FILE), json(summary));
  }

  /** Close metrics.jsonl and release the lock. Idempotent. Does not change status.json. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.metricsSyncTimer);
    this.tensorboard.close();
    if (this.metricsFd !== null) {
      try {
        this.syncMetrics();
      } catch {
        /* closing still releases the file and the lock */
      }
      try {
        fs.closeSync(this.metricsFd);
      } catch {
        /* ignore */
      }
      this.metricsFd = null;
    }
    releaseLock(this.dir);
  }
}
