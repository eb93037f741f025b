// Checkpoints: plain JSON, every tensor as base64 of its little-endian float32 bytes (exact, bit-for-bit).
// The format is documented in docs/run-format.md ("Checkpoints").
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type Checkpoint,
  type StoredTensor,
  type TensorData,
  type TensorMap,
} from './records';
import { shapeSize } from '../spec/geometry';

// the types are defined once, with every other record of a run folder (records.ts)
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type Checkpoint,
  type OptimizerState,
  type StoredTensor,
  type TensorData,
  type TensorMap,
} from './records';

const bigEndian = os.endianness() === 'BE';

function fail(where: string, msg: string): never {
  throw new Error(`${where}: ${msg}`);
}

function checkShape(shape: unknown, where: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    fail(where, `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return shape as number[];
}

/** Encode one tensor: base64 of its float32 values in little-endian byte order. */
export function encodeTensor(t: TensorData, where = 'tensor'): StoredTensor {
  const shape = checkShape(t?.shape, where);
  if (!(t.data instanceof Float32Array)) fail(where, 'data must be a Float32Array');
  if (t.data.length !== shapeSize(shape)) {
    fail(where, `shape [${shape.join(', ')}] holds ${shapeSize(shape)} values but data has ${t.data.length}`);
  }
  let bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (bigEndian) bytes = Buffer.from(bytes).swap32();
  return { shape: [...shape], dtype: 'float32', base64: bytes.toString('base64') };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decode one stored tensor; the values are bit-for-bit those encoded (NaN payloads included). */
export function decodeTensor(s: unknown, where = 'tensor'): TensorData {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) fail(where, 'expected {shape, dtype, base64}');
  const o = s as Record<string, unknown>;
  const shape = checkShape(o.shape, where);
  if (o.dtype !== 'float32') fail(where, `dtype must be "float32", got ${JSON.stringify(o.dtype)}`);
  if (typeof o.base64 !== 'string' || o.base64.length % 4 !== 0 || !BASE64.test(o.base64)) {
    fail(where, 'base64 is not a valid base64 string');
  }
  const bytes = Buffer.from(o.base64, 'base64');
  if (bytes.length !== 4 * shapeSize(shape)) {
    fail(where, `shape [${shape.join(', ')}] needs ${4 * shapeSize(shape)} bytes but base64 holds ${bytes.length}`);
  }
  if (bigEndian) bytes.swap32();
  const data = new Float32Array(shapeSize(shape));
  new Uint8Array(data.buffer).set(bytes);
  return { shape: [...shape], data };
}

function checkName(name: string, where: string): void {
  if (name === '__proto__') fail(where, 'a tensor may not be named "__proto__"');
}

function encodeMap(map: TensorMap, where: string): Array<[string, StoredTensor]> {
  if (typeof map !== 'object' || map === null) fail(where, 'expected an object of tensors');
  return Object.keys(map).map((k) => {
    checkName(k, `${where}.${k}`);
    return [k, encodeTensor(map[k], `${where}.${k}`)];
  });
}

function decodeMap(v: unknown, where: string): TensorMap {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'expected an object of tensors');
  const out: TensorMap = {};
  for (const [k, t] of Object.entries(v)) {
    checkName(k, `${where}.${k}`);
    out[k] = decodeTensor(t, `${where}.${k}`);
  }
  return out;
}

/** Throws unless `v` survives JSON.stringify → JSON.parse unchanged (no NaN/±Infinity, undefined, typed arrays…). */
export function assertJsonSafe(v: unknown, where: string): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) fail(where, `${v} cannot be stored in JSON`);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => assertJsonSafe(x, `${where}[${i}]`));
    return;
  }
  if (typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
    for (const [k, x] of Object.entries(v)) {
      if (k === '__proto__') fail(where, 'the key "__proto__" cannot be stored');
      assertJsonSafe(x, `${where}.${k}`);
    }
    return;
  }
  const kind = typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
  fail(where, `a ${kind} cannot be stored in JSON (use plain objects, arrays, finite numbers, strings)`);
}

function checkRecord(v: unknown, where: string): void {
  if (v === undefined) return;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'expected an object');
  assertJsonSafe(v, where);
}

function checkCounters(cp: { step: unknown; epoch: unknown }, where: string): void {
  if (!Number.isSafeInteger(cp.step) || (cp.step as number) < 0)
    fail(where, `step must be a non-negative integer, got ${JSON.stringify(cp.step)}`);
  if (typeof cp.epoch !== 'number' || !Number.isFinite(cp.epoch) || cp.epoch < 0) {
    fail(where, `epoch must be a non-negative number, got ${JSON.stringify(cp.epoch)}`);
  }
}

function mapJson(entries: Array<[string, StoredTensor]>, indent: string): string {
  if (entries.length === 0) return '{}';
  const inner = indent + '  ';
  return (
    '{\n' + entries.map(([k, t]) => `${inner}${JSON.stringify(k)}: ${JSON.stringify(t)}`).join(',\n') + `\n${indent}}`
  );
}

/** The checkpoint as the JSON text written to disk: readable layout, one tensor per line. Validates everything. */
export function serializeCheckpoint(cp: Checkpoint, where = 'checkpoint'): string {
  if (cp.format !== CHECKPOINT_FORMAT || cp.version !== CHECKPOINT_VERSION) {
    fail(where, `format/version must be "${CHECKPOINT_FORMAT}"/${CHECKPOINT_VERSION}`);
  }
  checkCounters(cp, where);
  const lines: string[] = [
    `  "format": ${JSON.stringify(CHECKPOINT_FORMAT)}`,
    `  "version": ${CHECKPOINT_VERSION}`,
    `  "step": ${cp.step}`,
    `  "epoch": ${JSON.stringify(cp.epoch)}`,
    `  "params": ${mapJson(encodeMap(cp.params, `${where}.params`), '  ')}`,
  ];
  if (cp.optimizer !== undefined) {
    const o = cp.optimizer;
    if (typeof o !== 'object' || o === null || typeof o.type !== 'string')
      fail(`${where}.optimizer`, 'expected {type, state, scalars}');
    checkRecord(o.scalars, `${where}.optimizer.scalars`);
    for (const [k, x] of Object.entries(o.scalars ?? {})) {
      if (typeof x !== 'number') fail(`${where}.optimizer.scalars.${k}`, 'must be a finite number');
    }
    lines.push(
      `  "optimizer": {\n    "type": ${JSON.stringify(o.type)},\n    "scalars": ${JSON.stringify(o.scalars ?? {})},\n` +
        `    "state": ${mapJson(encodeMap(o.state ?? {}, `${where}.optimizer.state`), '    ')}\n  }`,
    );
  }
  for (const key of ['rng', 'data', 'extra'] as const) {
    if (cp[key] === undefined) continue;
    checkRecord(cp[key], `${where}.${key}`);
    lines.push(`  ${JSON.stringify(key)}: ${JSON.stringify(cp[key])}`);
  }
  return '{\n' + lines.join(',\n') + '\n}\n';
}

/** Parse and validate checkpoint JSON text; `where` names the file in errors. */
export function parseCheckpoint(text: string, where = 'checkpoint'): Checkpoint {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    fail(where, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where, 'expected a JSON object');
  const o = raw as Record<string, unknown>;
  if (o.format !== CHECKPOINT_FORMAT) fail(where, `not an sbn checkpoint (format ${JSON.stringify(o.format)})`);
  if (o.version !== CHECKPOINT_VERSION) {
    fail(
      where,
      `checkpoint version ${JSON.stringify(o.version)} is not supported ` +
        `(this build reads version ${CHECKPOINT_VERSION})`,
    );
  }
  checkCounters(o as { step: unknown; epoch: unknown }, where);
  const cp: Checkpoint = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    step: o.step as number,
    epoch: o.epoch as number,
    params: decodeMap(o.params, `${where}: params`),
  };
  if (o.optimizer !== undefined) {
    const opt = o.optimizer as Record<string, unknown>;
    if (typeof opt !== 'object' || opt === null || typeof opt.type !== 'string')
      fail(`${where}: optimizer`, 'expected {type, state, scalars}');
    const scalars = (opt.scalars ?? {}) as Record<string, unknown>;
    if (typeof scalars !== 'object' || scalars === null || Array.isArray(scalars))
      fail(`${where}: optimizer.scalars`, 'expected an object');
    for (const [k, x] of Object.entries(scalars)) {
      if (typeof x !== 'number') fail(`${where}: optimizer.scalars.${k}`, 'must be a number');
    }
    cp.optimizer = {
      type: opt.type,
      state: decodeMap(opt.state ?? {}, `${where}: optimizer.state`),
      scalars: scalars as Record<string, number>,
    };
  }
  for (const key of ['rng', 'data', 'extra'] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${where}: ${key}`, 'expected an object');
    cp[key] = v as Record<string, unknown>;
  }
  return cp;
}

export const CHECKPOINT_FILE = 'checkpoint.json';
export const EPOCH_CHECKPOINT_DIR = 'checkpoints';

export function epochCheckpointName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, '0')}.json`;
}

/** Path of the latest checkpoint or of an epoch checkpoint of a run folder. */
export function checkpointPath(dir: string, which: 'latest' | number = 'latest'): string {
  if (which === 'latest') return path.join(dir, CHECKPOINT_FILE);
  if (!Number.isSafeInteger(which) || which < 0)
    throw new Error(`epoch checkpoint number must be a non-negative integer, got ${which}`);
  return path.join(dir, EPOCH_CHECKPOINT_DIR, epochCheckpointName(which));
}

/**
 * Read a checkpoint of a run folder: `latest` (checkpoint.json, the default) or the one written at the end of
 * epoch N.
 */
export function readCheckpoint(dir: string, which: 'latest' | number = 'latest'): Checkpoint {
  const file = checkpointPath(dir, which);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        which === 'latest'
          ? `run ${dir} has no checkpoint yet (${CHECKPOINT_FILE} is missing)`
          : `run ${dir} has no checkpoint for epoch ${which} ` +
              `(${path.join(EPOCH_CHECKPOINT_DIR, epochCheckpointName(which))} is missing)`,
        { cause: e },
      );
    }
    throw e;
  }
  return parseCheckpoint(text, file);
}

/**
 * Which checkpoints a run folder holds: whether checkpoint.json exists, and the epochs of
 * checkpoints/epoch-NNNN.json, ascending.
 */
export function listCheckpoints(dir: string): { latest: boolean; epochs: number[] } {
  const latest = fs.existsSync(path.join(dir, CHECKPOINT_FILE));
  let names: string[] = [];
  try {
    names = fs.readdirSync(path.join(dir, EPOCH_CHECKPOINT_DIR));
  } catch {
    /* none */
  }
  const epochs = names
    .map((n) => /^epoch-(\d+)\.json$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  return { latest, epochs };
}

/** A checkpoint a resume can use, where it lies (relative to the run folder) and when it was written. */
export interface ResumePoint {
  checkpoint: Checkpoint;
  file: string;
  written: Date;
}

/** Where resume would continue a run, and the checkpoints it passed over because they are damaged. */
export interface ResumeSearch {
  found: ResumePoint | null;
  damaged: Array<{ file: string; problem: string }>;
}

/**
 * The newest valid checkpoint of a run folder: checkpoint.json, else the epoch checkpoints from the last epoch back.
 * A checkpoint is damaged when it does not parse or `problem` finds something wrong with it (a reason, naming the
 * field); every damaged one passed over is listed with its file (relative to `dir`) and what is wrong.
 */
export function findResumeCheckpoint(dir: string, problem?: (cp: Checkpoint) => string | undefined): ResumeSearch {
  const listed = listCheckpoints(dir);
  const candidates = [...(listed.latest ? ['latest' as const] : []), ...[...listed.epochs].reverse()];
  const out: ResumeSearch = { found: null, damaged: [] };
  for (const which of candidates) {
    const file = checkpointPath(dir, which);
    const rel = path.relative(dir, file);
    let cp: Checkpoint;
    let written: Date;
    try {
      written = fs.statSync(file).mtime;
      cp = parseCheckpoint(fs.readFileSync(file, 'utf8'), rel);
    } catch (e) {
      out.damaged.push({
        file: rel,
        problem: (e as Error).message.startsWith(`${rel}: `)
          ? (e as Error).message.slice(rel.length + 2)
          : (e as Error).message,
      });
      continue;
    }
    const wrong = problem?.(cp);
    if (wrong) {
      out.damaged.push({ file: rel, problem: wrong });
      continue;
    }
    out.found = { checkpoint: cp, file: rel, written };
    break;
  }
  return out;
}
