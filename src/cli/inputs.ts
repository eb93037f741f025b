// Reading the CLI's input files (model, params, data) into engine types, with one-line errors that name
// the file and the field.
import { readTextFile, TextFileError } from '../engine/files';
import { loadModelFile, formatSpecError, type ModelSpec } from '../engine/spec';
import { modelGeometry, networkFromValues, ShapeError, type LayerValues, type Network } from '../engine/network';
import { externalWeightShape } from '../engine/layers';
import type { Dataset } from '../engine/gradients';
import {
  ESTIMATOR_NAMES,
  isEstimatorName,
  type EstimatorName,
  type EstimatorOptions,
  type ReinforceBaseline,
} from '../engine/estimators';
import type { EstimatorEntry } from '../engine/gradientAccuracy';
import { CliError, fieldError } from './errors';
import { shapeSize } from '../engine/spec/geometry';
import { DEFAULT_GUMBEL_RAO_K } from '../engine/spec/model';

export function loadModel(file: string): ModelSpec {
  const result = loadModelFile(file);
  if (result.ok) return result.model;
  const [first, ...rest] = result.errors;
  const line = formatSpecError({ ...first, file: first.file ?? file });
  throw new CliError(rest.length ? `${line} (and ${rest.length} more error${rest.length > 1 ? 's' : ''})` : line);
}

/** `path` or `path#key`: the key selects an entry of a `checkpoints` object (the authors' checkpoint file). */
function splitFragment(arg: string): { file: string; key?: string } {
  const hash = arg.lastIndexOf('#');
  return hash > 0 ? { file: arg.slice(0, hash), key: arg.slice(hash + 1) } : { file: arg };
}

/** The largest --params/--data file read (its text must fit in one JavaScript string). */
const MAX_JSON_INPUT_BYTES = 256 << 20;

function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readTextFile(file, MAX_JSON_INPUT_BYTES);
  } catch (e) {
    if (e instanceof TextFileError) throw new CliError(e.message);
    throw e;
  }
  return parseJsonText(text, file);
}

/** 1-based line and column of a character offset. */
function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/**
 * JSON.parse with errors the user can find: a syntax error at `file:line:column`, and a number too large for a
 * double (JSON.parse silently turns 1e999 into Infinity) named as it is written.
 */
export function parseJsonText(text: string, file: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const at = /at position (\d+)/.exec(message);
    const offset = at ? Number(at[1]) : /end of JSON input/.test(message) ? text.length : undefined;
    const what = message
      .replace(/\s*in JSON at position \d+.*$/, '')
      .replace(/^Unexpected end of JSON input$/, 'unexpected end of the file');
    if (offset === undefined) throw fieldError(file, '', `invalid JSON (${what})`);
    const { line, column } = position(text, offset);
    throw new CliError(`${file}:${line}:${column}: invalid JSON (${what})`);
  }
  const overflow = overflowingNumber(text);
  if (overflow) {
    const { line, column } = position(text, overflow.offset);
    throw new CliError(
      `${file}:${line}:${column}: the number ${overflow.raw} is too large for a 64-bit float (at most about 1.8e308)`,
    );
  }
  return value;
}

/** The first number literal of JSON text (outside strings) that overflows to ±Infinity, with its offset. */
function overflowingNumber(text: string): { raw: string; offset: number } | undefined {
  const number = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // a string: skip to its closing quote
      for (i++; i < text.length && text.charCodeAt(i) !== 34; i++) if (text.charCodeAt(i) === 92) i++;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      number.lastIndex = i;
      const m = number.exec(text);
      if (!m) continue;
      if (!Number.isFinite(Number(m[0]))) return { raw: m[0], offset: i };
      i += m[0].length - 1;
    }
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function loadParams(arg: string, spec: ModelSpec): Network {
  const { file, key } = splitFragment(arg);
  let doc = readJsonFile(file);
  let prefix = '';
  if (key !== undefined) {
    const checkpoints = isObject(doc) ? doc.checkpoints : undefined;
    if (!isObject(checkpoints) || !isObject(checkpoints[key])) {
      const known = isObject(checkpoints) ? Object.keys(checkpoints).join(', ') : 'none';
      throw fieldError(file, `checkpoints.${key}`, `no such checkpoint (available: ${known})`);
    }
    doc = checkpoints[key];
    prefix = `checkpoints.${key}.`;
  }
  if (!isObject(doc) || !Array.isArray(doc.layers)) {
    throw fieldError(
      file,
      `${prefix}layers`,
      'expected an array of {"weight": [[...]], "bias": [...]} (hidden layers in order, then the output layer)',
    );
  }
  const shapes = modelGeometry(spec).geometry.map((g) => externalWeightShape(g).join('×'));
  doc.layers.forEach((l, k) => {
    if (!isObject(l))
      throw fieldError(
        file,
        `${prefix}layers[${k}]`,
        `expected an object with "weight" and "bias", got ${JSON.stringify(l)?.slice(0, 40)}`,
      );
  });
  try {
    return networkFromValues(spec, doc.layers as LayerValues[]);
  } catch (e) {
    if (e instanceof ShapeError)
      throw fieldError(file, prefix + e.field, `${e.message} (model ${spec.name} weights: ${shapes.join(', ')})`);
    throw e;
  }
}

export function loadData(file: string, spec: ModelSpec): Dataset {
  const doc = readJsonFile(file);
  if (!isObject(doc)) throw fieldError(file, '', 'expected an object {"X": [[...], ...], "Y": [...]}');
  const d = shapeSize(spec.input.shape);
  const { X, Y } = doc;
  if (!Array.isArray(X) || X.length === 0) throw fieldError(file, 'X', 'expected a non-empty array of feature rows');
  X.forEach((row, n) => {
    if (!Array.isArray(row) || row.length !== d) {
      throw fieldError(
        file,
        `X[${n}]`,
        `expected ${d} numbers (model input shape [${spec.input.shape.join(', ')}]), ` +
          `got ${Array.isArray(row) ? row.length : JSON.stringify(row)?.slice(0, 30)}`,
      );
    }
    row.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw fieldError(file, `X[${n}][${i}]`, `expected a finite number, got ${JSON.stringify(v)}`);
    });
  });
  if (!Array.isArray(Y) || Y.length !== X.length) {
    throw fieldError(
      file,
      'Y',
      `expected an array of ${X.length} labels (one per row of X), got ${Array.isArray(Y) ? Y.length : typeof Y}`,
    );
  }
  const K = spec.output.units;
  Y.forEach((y, n) => {
    const ok = spec.output.loss === 'logistic' ? y === 1 || y === -1 : Number.isInteger(y) && y >= 0 && y < K;
    if (!ok) {
      throw fieldError(
        file,
        `Y[${n}]`,
        spec.output.loss === 'logistic'
          ? `expected a label −1 or +1 (logistic loss), got ${JSON.stringify(y)}`
          : `expected a class index 0..${K - 1} (nll loss over ${K} classes), got ${JSON.stringify(y)}`,
      );
    }
  });
  return { X: X as number[][], Y: Y as number[] };
}

export function parseEstimatorName(name: string, flag = '--estimator'): EstimatorName {
  if (!isEstimatorName(name)) {
    throw new CliError(`${flag}: unknown estimator "${name}" (expected one of: ${ESTIMATOR_NAMES.join(', ')})`);
  }
  return name;
}

/** Bound on `--k` (gumbel-rao's conditional draws: the backward pass holds k noise tensors of a layer at once). */
export const MAX_GUMBEL_RAO_K = 1000;

const BASELINES: ReinforceBaseline[] = ['none', 'mean', 'loo', 'input'];

export function parseBaseline(value: string, flag = '--baseline'): ReinforceBaseline {
  if (!(BASELINES as string[]).includes(value))
    throw new CliError(`${flag}: expected one of ${BASELINES.join(', ')}, got "${value}"`);
  return value as ReinforceBaseline;
}

/** A decimal number as people write it on a command line: 0.01, 1e-3, 5 (not 0x10, not " 5", not Infinity). */
const DECIMAL_NUMBER = /^[+]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** A count: decimal digits only (not 1e3, 0x2, " 2" or 2.0). */
const DECIMAL_INTEGER = /^\d+$/;

export function parsePositiveNumber(value: string, flag: string): number {
  const v = Number(value);
  if (!DECIMAL_NUMBER.test(value) || !Number.isFinite(v) || v <= 0)
    throw new CliError(`${flag}: expected a positive number such as 0.01 or 1e-3, got "${value}"`);
  return v;
}

/** A whole number ≥ 1 written in decimal digits, at most `max` (default: the largest exact integer). */
export function parsePositiveInt(value: string, flag: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = Number(value);
  if (!DECIMAL_INTEGER.test(value) || v < 1)
    throw new CliError(`${flag}: expected a positive whole number in decimal digits (such as 10), got "${value}"`);
  if (v > max) throw new CliError(`${flag}: at most ${max}, got ${value}`);
  return v;
}

export function parseSeed(value: string): number {
  const v = Number(value);
  if (!DECIMAL_INTEGER.test(value) || v > 0xffffffff)
    throw new CliError(`--seed: expected a whole number 0..4294967295 in decimal digits, got "${value}"`);
  return v;
}

/**
 * `--estimators` list: names, optionally with one option after a colon — a temperature for concrete
 * (`concrete:0.1`, `gumbel-st:0.5`), the conditional draws of gumbel-rao (`gumbel-rao:20`), a baseline for reinforce
 * (`reinforce:loo`).
 */
export function parseEstimatorList(list: string, defaults: EstimatorOptions = {}): EstimatorEntry[] {
  const items = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new CliError('--estimators: expected a comma-separated list of estimators');
  return items.map((item) => {
    const [rawName, option, extra] = item.split(':');
    const name = parseEstimatorName(rawName, '--estimators');
    if (extra !== undefined) throw new CliError(`--estimators: "${item}" has more than one option`);
    const options: EstimatorOptions = { ...defaults };
    if (option !== undefined) {
      if (name === 'concrete' || name === 'gumbel-st')
        options.tau = parsePositiveNumber(option, `--estimators (${item})`);
      else if (name === 'gumbel-rao') options.k = parsePositiveInt(option, `--estimators (${item})`, MAX_GUMBEL_RAO_K);
      else if (name === 'reinforce') options.baseline = parseBaseline(option, `--estimators (${item})`);
      else throw new CliError(`--estimators: "${name}" takes no option (got "${item}")`);
    }
    if (name === 'exact')
      throw new CliError('--estimators: exact is the reference of the comparison, not one of the estimators');
    const label =
      name === 'concrete' || name === 'gumbel-st'
        ? `${name}(tau=${options.tau ?? 1})`
        : name === 'gumbel-rao'
          ? `gumbel-rao(k=${options.k ?? DEFAULT_GUMBEL_RAO_K})`
          : name === 'reinforce' && (options.baseline ?? 'none') !== 'none'
            ? `reinforce(${options.baseline})`
            : name;
    return { label, name, options };
  });
}
