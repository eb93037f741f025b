// Sweep files (*.sbn-sweep.yaml / *.sbn-sweep.json) and the sweep folder's state file, sweep.json (docs/sweeps.md).
// A sweep file names a model file and the fields of it to vary; parseSweepText turns it into a SweepSpec or into
// one-line errors naming the file, the field and the line, read with the model files' own readers and source maps.
// Every grid and override field is checked against the model file: it must be a field of the model schema, and the
// model with the value applied must be a valid model file (its own validator's message, placed at the sweep file's
// value). Pure TypeScript, no tfjs, no vscode: the editor validates sweep files with it as they are typed.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readTextFile, TextFileError } from '../files';
import { closest, describeValue, listValues } from '../spec/messages';
import { MAX_MODEL_FILE_BYTES, modelFileFormat, parseModelText } from '../spec/parse';
import { readJson } from '../spec/readJson';
import { readYaml } from '../spec/readYaml';
import { formatPath, LineIndex, type Problem, type Segment, type SourceMap } from '../spec/sourceMap';
import type { SpecError } from '../spec/types';
import { modelSchema, resolveModelSchemaRef } from '../spec/validate';

/** Sweep file names: `<name>.sbn-sweep.yaml`, `.yml` or `.json`. */
export const SWEEP_FILE_PATTERN = /\.sbn-sweep\.(ya?ml|json)$/i;

/** The metrics a run's summary.json keeps per evaluated split (summary `last.<split>.<metric>`). */
export const SWEEP_SPLITS = ['train', 'validation', 'test'] as const;
export const SWEEP_METRICS = ['u_loss', 'acc1', 'acc_e', 'entropy'] as const;
/** Every final metric a point can have: `validation.u_loss`, `train.acc1`, … */
export const FINAL_METRICS: string[] = SWEEP_SPLITS.flatMap((s) => SWEEP_METRICS.map((m) => `${s}.${m}`));

/** What a sweep file leaves out. */
export const SWEEP_DEFAULTS = {
  /** Seeds 1..N for a count. */
  seeds: 1,
  sampleSeed: 1,
  objective: { metric: 'validation.u_loss', mode: 'min' },
} as const;

/** Fields the sweep file itself owns: the seed of every run comes from `seeds`. */
const RESERVED_FIELDS: Record<string, string> = {
  'train.seed': 'the seed of every run comes from "seeds" (a count or a list)',
  $schema: 'not a model field',
};

const TOP_KEYS = ['$schema', 'model', 'grid', 'sample', 'seeds', 'overrides', 'objective'] as const;

/** The largest number of runs (points × seeds) one sweep makes: far more is a mistyped range. */
export const MAX_SWEEP_RUNS = 10000;

/** One axis of the grid: values as listed, or `points` values spread over a range (log: evenly in log10). */
export type GridAxis =
  { kind: 'list'; values: unknown[] } | { kind: 'log' | 'linear'; range: [number, number]; points: number };

export interface SweepSpec {
  /** The model file as written in the sweep file (relative to the sweep file's folder). */
  model: string;
  /** The model file's path as a caller can open it (the sweep file's folder joined with `model`). */
  modelPath: string;
  /** Swept fields (dotted model-file paths, `train.lr`) in the file's order. */
  grid: { field: string; axis: GridAxis; integer: boolean }[];
  /** Random points from the grid's ranges instead of every combination. */
  sample?: { count: number; seed: number };
  seeds: number[];
  /** Fixed for every point, by dotted field. */
  overrides: Record<string, unknown>;
  objective: { metric: string; mode: 'min' | 'max' };
}

export type SweepParseResult = { ok: true; sweep: SweepSpec } | { ok: false; errors: SpecError[] };

export interface SweepParseOptions {
  /** The model file's text (the editor passes an unsaved one); default: read from disk. */
  readModel?: (modelPath: string) => string;
}

// ---- Dotted model-file paths ----------------------------------------------------------------------------------------

type Schema = Record<string, unknown>;

/** The schema of `segment` inside `schema` (through $refs and union branches), if the model file has it. */
function childSchema(schema: Schema, segment: string): Schema | undefined {
  const s = resolveModelSchemaRef(schema);
  if (/^\d+$/.test(segment) && s.items && typeof s.items === 'object') return s.items as Schema;
  const own = (s.properties as Record<string, Schema> | undefined)?.[segment];
  if (own) return own;
  for (const key of ['oneOf', 'anyOf', 'allOf'] as const) {
    const branches = s[key];
    if (!Array.isArray(branches)) continue;
    for (const b of branches as Schema[]) {
      const found = childSchema(b, segment);
      if (found) return found;
    }
  }
  return undefined;
}

/** `train.lr` → ['train', 'lr']; `layers.0.units` → ['layers', 0, 'units']. */
export function fieldSegments(field: string): Segment[] {
  return field.split('.').map((s) => (/^(0|[1-9]\d*)$/.test(s) ? Number(s) : s));
}

/** The model schema of a dotted field, or undefined when the model file has no such field. */
export function modelFieldSchema(field: string): Schema | undefined {
  if (!/^[A-Za-z_$][\w$]*(\.([A-Za-z_$][\w$]*|0|[1-9]\d*))*$/.test(field)) return undefined;
  let s: Schema | undefined = modelSchema;
  for (const seg of field.split('.')) {
    s = s && childSchema(s, seg);
    if (!s) return undefined;
  }
  return s && resolveModelSchemaRef(s);
}

/** Every dotted field of the model schema through objects (not into arrays): for "did you mean". */
export function modelFieldNames(): string[] {
  const out: string[] = [];
  const visit = (s: Schema, prefix: string, depth: number): void => {
    const r = resolveModelSchemaRef(s);
    const props: Record<string, Schema> = { ...((r.properties as Record<string, Schema> | undefined) ?? {}) };
    for (const key of ['oneOf', 'anyOf'] as const)
      for (const b of (r[key] as Schema[] | undefined) ?? [])
        Object.assign(props, (resolveModelSchemaRef(b).properties as Record<string, Schema> | undefined) ?? {});
    for (const [k, v] of Object.entries(props)) {
      if (k === '$schema') continue;
      const name = prefix ? `${prefix}.${k}` : k;
      out.push(name);
      if (depth < 3) visit(v, name, depth + 1);
    }
  };
  visit(modelSchema, '', 0);
  return [...new Set(out)];
}

/** A copy of a model file's value with `value` at the dotted `field` (objects on the way created). */
export function withField(model: unknown, field: string, value: unknown): unknown {
  const root = structuredClone(model) as Record<string | number, unknown>;
  const segs = fieldSegments(field);
  let cur: Record<string | number, unknown> = root;
  for (const seg of segs.slice(0, -1)) {
    const next = cur[seg];
    if (next === null || typeof next !== 'object') cur[seg] = {};
    cur = cur[seg] as Record<string | number, unknown>;
  }
  cur[segs[segs.length - 1]] = structuredClone(value);
  return root;
}

/** A model file's value with every override applied, in order. */
export function withOverrides(model: unknown, overrides: Record<string, unknown>): unknown {
  return Object.entries(overrides).reduce((m, [field, value]) => withField(m, field, value), model);
}

/** The values of one grid axis, in order: a range's `points` values from its first end to its second. */
export function axisValues(axis: GridAxis, integer: boolean): unknown[] {
  if (axis.kind === 'list') return axis.values;
  const [a, b] = axis.range;
  const n = axis.points;
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = n === 1 ? 0 : i / (n - 1);
    const v = axis.kind === 'log' ? 10 ** (Math.log10(a) + t * (Math.log10(b) - Math.log10(a))) : a + t * (b - a);
    values.push(integer ? Math.round(v) : tidy(v));
  }
  return integer ? [...new Set(values)] : values;
}

/** Grid values as a person would write them: 6 significant digits (0.0316228), the same on every platform. */
export function tidy(v: number): number {
  return Number(v.toPrecision(6));
}

// ---- Parsing ------------------------------------------------------------------------------------------------------

interface Ctx {
  map: SourceMap;
  problems: Problem[];
}

function problem(ctx: Ctx, p: Segment[], message: string, part: 'value' | 'key' = 'value'): void {
  ctx.problems.push({ path: p, span: ctx.map.locate(p, part), message });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isInt(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
}

function unknownKey(ctx: Ctx, at: Segment[], key: string, allowed: readonly string[]): void {
  const suggestion = closest(key, allowed);
  problem(
    ctx,
    [...at, key],
    `unknown key "${key}"; ` +
      (suggestion ? `did you mean "${suggestion}"?` : `allowed keys are ${listValues(allowed, 'and')}`),
    'key',
  );
}

/** Checks a dotted field name; returns its model schema when it is a field values can be given for. */
function checkField(ctx: Ctx, at: Segment[], field: string): Schema | undefined {
  if (RESERVED_FIELDS[field]) {
    problem(ctx, at, `"${field}" cannot be swept or overridden: ${RESERVED_FIELDS[field]}`, 'key');
    return undefined;
  }
  const schema = modelFieldSchema(field);
  if (!schema) {
    const suggestion = closest(field, modelFieldNames());
    problem(
      ctx,
      at,
      `"${field}" is not a field of a model file` +
        (suggestion
          ? `; did you mean "${suggestion}"?`
          : ' (write its dotted path, e.g. "train.lr" or "layers.0.units")'),
      'key',
    );
  }
  return schema;
}

function parseAxis(ctx: Ctx, at: Segment[], v: unknown): GridAxis | undefined {
  if (Array.isArray(v)) {
    if (v.length === 0) return (problem(ctx, at, 'expected a non-empty list of values'), undefined);
    const seen = new Set<string>();
    v.forEach((x, i) => {
      const id = JSON.stringify(x);
      if (seen.has(id)) problem(ctx, [...at, i], `${describeValue(x)} is listed twice`);
      seen.add(id);
    });
    return { kind: 'list', values: v };
  }
  const expected = 'expected a list of values, { log: [a, b], points: N } or { linear: [a, b], points: N }';
  if (!isObject(v)) return (problem(ctx, at, `${expected}, got ${describeValue(v)}`), undefined);
  const kinds = (['log', 'linear'] as const).filter((k) => k in v);
  if (kinds.length !== 1) return (problem(ctx, at, `${expected}, got ${describeValue(v)}`), undefined);
  const kind = kinds[0];
  let ok = true;
  for (const key of Object.keys(v))
    if (key !== kind && key !== 'points') {
      unknownKey(ctx, at, key, [kind, 'points']);
      ok = false;
    }
  const range = v[kind];
  if (!Array.isArray(range) || range.length !== 2 || !range.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    problem(ctx, [...at, kind], `expected two numbers [from, to], got ${describeValue(range)}`);
    ok = false;
  } else if (kind === 'log' && !(range[0] > 0 && range[1] > 0)) {
    problem(ctx, [...at, kind], `a log range needs two numbers > 0, got [${range.join(', ')}]`);
    ok = false;
  }
  if (!isInt(v.points, 2) || v.points > 1000) {
    problem(ctx, [...at, 'points'], `expected an integer from 2 to 1000, got ${describeValue(v.points)}`);
    ok = false;
  }
  return ok ? { kind, range: [(range as number[])[0], (range as number[])[1]], points: v.points as number } : undefined;
}

function parseSeeds(ctx: Ctx, v: unknown): number[] {
  if (v === undefined) return Array.from({ length: SWEEP_DEFAULTS.seeds }, (_, i) => i + 1);
  if (isInt(v, 1) && v <= 1000) return Array.from({ length: v }, (_, i) => i + 1);
  if (Array.isArray(v) && v.length > 0) {
    const seen = new Set<number>();
    v.forEach((s, i) => {
      if (!isInt(s, 0) || s > 0xffffffff)
        problem(ctx, ['seeds', i], `expected a seed (an integer ≥ 0), got ${describeValue(s)}`);
      else if (seen.has(s)) problem(ctx, ['seeds', i], `seed ${s} is listed twice`);
      seen.add(s as number);
    });
    return v as number[];
  }
  problem(
    ctx,
    ['seeds'],
    `expected a count of seeds (an integer from 1 to 1000) or a non-empty list of seeds, got ${describeValue(v)}`,
  );
  return [];
}

export function parseSweepText(text: string, fileName: string, options: SweepParseOptions = {}): SweepParseResult {
  const file = typeof fileName === 'string' ? fileName : '';
  const source = String(text).replace(/^\uFEFF/, '');
  const lines = new LineIndex(source);
  const toErrors = (problems: Problem[]): SweepParseResult => ({
    ok: false,
    errors: problems
      .map((p, i) => ({ p, i }))
      .sort((a, b) => (a.p.span?.start ?? 0) - (b.p.span?.start ?? 0) || a.i - b.i)
      .map(({ p }) => toSpecError(p, file, lines)),
  });
  if (source.trim() === '')
    return toErrors([
      {
        path: [],
        span: { start: 0, end: 0 },
        message: 'the file is empty; expected a sweep object with "model" and "grid"',
      },
    ]);
  const read = modelFileFormat(file, source) === 'json' ? readJson(source) : readYaml(source);
  if (read.syntaxErrors.length > 0) return toErrors([...read.syntaxErrors, ...read.problems]);
  const ctx: Ctx = { map: read.map, problems: [...read.problems] };
  const v = read.value;
  if (!isObject(v))
    return toErrors([
      {
        path: [],
        span: read.map.locate([]),
        message: `expected a sweep object with "model" and "grid", got ${describeValue(v)}`,
      },
    ]);

  for (const key of Object.keys(v))
    if (!(TOP_KEYS as readonly string[]).includes(key)) unknownKey(ctx, [], key, TOP_KEYS);
  const rootStart = read.map.locate([]);
  const missing = (key: string, what: string) =>
    ctx.problems.push({
      path: [key],
      span: rootStart && { start: rootStart.start, end: rootStart.start + 1 },
      message: `missing required key "${key}" (${what})`,
    });

  // model
  let modelPath = '';
  if (v.model === undefined) missing('model', 'the model file the points start from, relative to this file');
  else if (typeof v.model !== 'string' || v.model.trim() === '')
    problem(ctx, ['model'], `expected the model file's path (a non-empty string), got ${describeValue(v.model)}`);
  else modelPath = path.join(path.dirname(file), v.model);

  // grid
  const grid: SweepSpec['grid'] = [];
  if (v.grid === undefined) missing('grid', 'the fields to sweep and their values');
  else if (!isObject(v.grid) || Object.keys(v.grid).length === 0)
    problem(
      ctx,
      ['grid'],
      `expected an object of fields and their values (e.g. "train.lr": [0.01, 0.1]), got ${describeValue(v.grid)}`,
    );
  else
    for (const [field, value] of Object.entries(v.grid)) {
      const schema = checkField(ctx, ['grid', field], field);
      const axis = parseAxis(ctx, ['grid', field], value);
      if (schema && axis) grid.push({ field, axis, integer: schema.type === 'integer' });
    }

  // overrides
  const overrides: Record<string, unknown> = {};
  if (v.overrides !== undefined) {
    if (!isObject(v.overrides))
      problem(ctx, ['overrides'], `expected an object of fields and values, got ${describeValue(v.overrides)}`);
    else
      for (const [field, value] of Object.entries(v.overrides)) {
        if (isObject(v.grid) && field in v.grid) {
          problem(ctx, ['overrides', field], `"${field}" is also swept in "grid"; give it in one place`, 'key');
          continue;
        }
        if (checkField(ctx, ['overrides', field], field)) overrides[field] = value;
      }
  }

  // sample
  let sample: SweepSpec['sample'];
  if (v.sample !== undefined) {
    const s = v.sample;
    if (!isObject(s)) problem(ctx, ['sample'], `expected { count: N, seed: S }, got ${describeValue(s)}`);
    else {
      for (const key of Object.keys(s))
        if (key !== 'count' && key !== 'seed') unknownKey(ctx, ['sample'], key, ['count', 'seed']);
      if (!isInt(s.count, 1) || s.count > MAX_SWEEP_RUNS)
        problem(
          ctx,
          ['sample', 'count'],
          `expected an integer from 1 to ${MAX_SWEEP_RUNS}, got ${describeValue(s.count)}`,
        );
      if (s.seed !== undefined && (!isInt(s.seed, 0) || s.seed > 0xffffffff))
        problem(ctx, ['sample', 'seed'], `expected a seed (an integer ≥ 0), got ${describeValue(s.seed)}`);
      sample = { count: s.count as number, seed: (s.seed as number | undefined) ?? SWEEP_DEFAULTS.sampleSeed };
    }
  }

  const seeds = parseSeeds(ctx, v.seeds);

  // objective
  let objective: SweepSpec['objective'] = { ...SWEEP_DEFAULTS.objective };
  if (v.objective !== undefined) {
    const o = v.objective;
    if (!isObject(o))
      problem(ctx, ['objective'], `expected { metric: <split>.<metric>, mode: min or max }, got ${describeValue(o)}`);
    else {
      for (const key of Object.keys(o))
        if (key !== 'metric' && key !== 'mode') unknownKey(ctx, ['objective'], key, ['metric', 'mode']);
      if (typeof o.metric !== 'string' || !FINAL_METRICS.includes(o.metric)) {
        const hint = typeof o.metric === 'string' ? closest(o.metric, FINAL_METRICS) : undefined;
        problem(
          ctx,
          ['objective', 'metric'],
          `expected <split>.<metric> with split ${SWEEP_SPLITS.join(', ')} and metric ` +
            `${SWEEP_METRICS.join(', ')} (e.g. "validation.u_loss"), got ${describeValue(o.metric)}` +
            (hint ? `; did you mean "${hint}"?` : ''),
        );
      }
      if (o.mode !== undefined && o.mode !== 'min' && o.mode !== 'max')
        problem(ctx, ['objective', 'mode'], `expected "min" or "max", got ${describeValue(o.mode)}`);
      objective = { metric: o.metric as string, mode: (o.mode as 'min' | 'max' | undefined) ?? 'min' };
    }
  }

  if (ctx.problems.length === 0) {
    const runs =
      (sample ? sample.count : grid.reduce((n, g) => n * axisValues(g.axis, g.integer).length, 1)) * seeds.length;
    if (runs > MAX_SWEEP_RUNS)
      problem(
        ctx,
        ['grid'],
        `the sweep makes ${runs} runs (points × seeds); at most ${MAX_SWEEP_RUNS} (use "sample" to draw fewer)`,
        'key',
      );
  }
  if (ctx.problems.length === 0) checkAgainstModel(ctx, modelPath, grid, overrides, options);
  if (ctx.problems.length > 0) return toErrors(ctx.problems);
  return {
    ok: true,
    sweep: { model: v.model as string, modelPath, grid, ...(sample ? { sample } : {}), seeds, overrides, objective },
  };
}

/**
 * The model file with the overrides, then with each grid value (lists: every value; ranges: both ends), must be a
 * valid model file: a problem with the field is placed at the sweep file's value, in the model validator's words.
 */
function checkAgainstModel(
  ctx: Ctx,
  modelPath: string,
  grid: SweepSpec['grid'],
  overrides: Record<string, unknown>,
  options: SweepParseOptions,
): void {
  let modelText: string;
  try {
    modelText = options.readModel ? options.readModel(modelPath) : readTextFile(modelPath, MAX_MODEL_FILE_BYTES);
  } catch (e) {
    const why = e instanceof TextFileError ? e.problem : (e as Error).message;
    return problem(ctx, ['model'], `cannot read the model file ${modelPath}: ${why}`);
  }
  const parsedModel = parseModelText(modelText, modelPath);
  const raw = modelFileFormat(modelPath, modelText) === 'json' ? readJson(modelText) : readYaml(modelText);
  if (!parsedModel.ok || raw.value === undefined) {
    const first = parsedModel.ok ? undefined : parsedModel.errors[0];
    return problem(
      ctx,
      ['model'],
      `the model file is not valid: ${first ? formatSpecErrorShort(first) : 'it is empty'}`,
    );
  }
  const fieldOf = (e: SpecError, field: string): boolean => {
    const name = formatPath(fieldSegments(field));
    return e.path === name || e.path.startsWith(`${name}.`) || e.path.startsWith(`${name}[`);
  };
  // overrides first, each at its own value
  let base: unknown = raw.value;
  for (const [field, value] of Object.entries(overrides)) {
    const withIt = withField(base, field, value);
    const r = parseModelText(JSON.stringify(withIt), 'model.sbn.json');
    const mine = r.ok ? undefined : r.errors.find((e) => fieldOf(e, field));
    if (mine) problem(ctx, ['overrides', field], `${formatSpecErrorShort(mine)}`);
    else base = withIt;
  }
  const fixed = parseModelText(JSON.stringify(base), 'model.sbn.json');
  if (!fixed.ok)
    return problem(
      ctx,
      ['overrides'],
      `with these overrides the model is not valid: ${formatSpecErrorShort(fixed.errors[0])}`,
      'key',
    );
  for (const g of grid) {
    const values = axisValues(g.axis, g.integer);
    const candidates =
      g.axis.kind === 'list'
        ? values.map((x, i) => ({ x, at: ['grid', g.field, i] as Segment[] }))
        : [values[0], values[values.length - 1]].map((x) => ({ x, at: ['grid', g.field, g.axis.kind] as Segment[] }));
    for (const { x, at } of candidates) {
      const r = parseModelText(JSON.stringify(withField(base, g.field, x)), 'model.sbn.json');
      if (r.ok) continue;
      const mine = r.errors.find((e) => fieldOf(e, g.field)) ?? r.errors[0];
      problem(ctx, at, `${g.field} = ${JSON.stringify(x)}: ${formatSpecErrorShort(mine)}`);
      break;
    }
  }
}

function formatSpecErrorShort(e: SpecError): string {
  return `${e.path ? `${e.path}: ` : ''}${e.message}`;
}

function toSpecError(p: Problem, file: string, lines: LineIndex): SpecError {
  const e: SpecError = { path: formatPath(p.path), message: p.message };
  if (p.span) {
    const start = lines.position(p.span.start);
    const end = lines.position(Math.max(p.span.end, p.span.start));
    Object.assign(e, { line: start.line, column: start.column, endLine: end.line, endColumn: end.column });
  }
  return file ? { file, ...e } : e;
}

/** The largest sweep file read. */
export const MAX_SWEEP_FILE_BYTES = 1 << 20;

/** Reads and parses a sweep file; an unreadable file gives one error with path ''. */
export function loadSweepFile(file: string, options: SweepParseOptions = {}): SweepParseResult & { text?: string } {
  let text: string;
  try {
    text = readTextFile(file, MAX_SWEEP_FILE_BYTES);
  } catch (e) {
    if (!(e instanceof TextFileError)) throw e;
    const error: SpecError = {
      file,
      path: '',
      message: e.problem === 'file not found' ? 'cannot read the file: file not found' : e.problem,
    };
    if (e.line !== undefined) Object.assign(error, { line: e.line, column: e.column });
    return { ok: false, errors: [error] };
  }
  return { ...parseSweepText(text, file, options), text };
}

// ---- sweep.json ---------------------------------------------------------------------------------------------------

export const SWEEP_STATE_FILE = 'sweep.json';
export const SWEEP_FORMAT = 'sbn-sweep';
export const SWEEP_FORMAT_VERSION = 1;

export const POINT_STATUSES = ['waiting', 'running', 'finished', 'failed'] as const;
export type PointStatus = (typeof POINT_STATUSES)[number];

/** Final metrics of a run: `validation.u_loss` → value (null: not finite). */
export type FinalMetrics = Record<string, number | null>;

/** One run of the sweep: a grid point with one seed. */
export interface SweepPoint {
  /** Stable: a hash of the point's overrides and seed (the same point of the same grid has the same id). */
  id: string;
  /** The grid point (0-based, in expansion order); the seeds of one grid point share it. */
  index: number;
  /** Every field set for this run: the sweep file's overrides, then the point's grid values. */
  overrides: Record<string, unknown>;
  seed: number;
  status: PointStatus;
  /** The run folder, relative to the sweep folder. */
  run: string;
  /** Why it failed, or why it waits again (a worker died, the sweep was stopped). */
  reason?: string;
  /** Who runs or ran it: `<hostname>:<pid>`. */
  worker?: string;
  /** ISO 8601. */
  startedAt?: string;
  finishedAt?: string;
  metrics?: FinalMetrics;
  /** Times a worker took it (a job whose worker died is taken again). */
  attempts?: number;
}

export interface SweepState {
  format: typeof SWEEP_FORMAT;
  formatVersion: typeof SWEEP_FORMAT_VERSION;
  /** Random at creation: with a point's id it makes the job id, the same whenever the sweep is resumed. */
  id: string;
  created: string;
  /** The sweep file (its copy in the sweep folder) and the SHA-256 of its text. */
  sweepFile: { name: string; hash: string };
  /** The model file the points start from, relative to the sweep folder. */
  model: string;
  /** The swept fields, in the sweep file's order. */
  fields: string[];
  objective: { metric: string; mode: 'min' | 'max' };
  points: SweepPoint[];
}

export class SweepStateError extends Error {}

export function sha256(text: string): string {
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Checks a parsed sweep.json field by field; the error names the file and the field (`points[3].status`). */
export function checkSweepState(value: unknown, file: string): SweepState {
  const fail = (field: string, message: string): never => {
    throw new SweepStateError(`${file}: ${field}: ${message}`);
  };
  if (!isObject(value)) throw new SweepStateError(`${file}: expected a JSON object, the file is damaged`);
  if (value.format !== SWEEP_FORMAT)
    fail('format', `expected "${SWEEP_FORMAT}", got ${describeValue(value.format)} (not a sweep folder)`);
  if (value.formatVersion !== SWEEP_FORMAT_VERSION)
    fail(
      'formatVersion',
      `version ${describeValue(value.formatVersion)} is not one this build reads (${SWEEP_FORMAT_VERSION})`,
    );
  for (const k of ['id', 'created', 'model'] as const)
    if (typeof value[k] !== 'string' || value[k] === '') fail(k, 'expected a non-empty string');
  const sf = value.sweepFile;
  if (!isObject(sf) || typeof sf.name !== 'string' || typeof sf.hash !== 'string')
    fail('sweepFile', 'expected { name, hash }');
  if (!Array.isArray(value.fields) || !value.fields.every((f) => typeof f === 'string'))
    fail('fields', 'expected a list of field names');
  const o = value.objective;
  if (!isObject(o) || typeof o.metric !== 'string' || (o.mode !== 'min' && o.mode !== 'max'))
    fail('objective', 'expected { metric, mode: "min" or "max" }');
  if (!Array.isArray(value.points)) fail('points', 'expected a list');
  const ids = new Set<string>();
  (value.points as unknown[]).forEach((p, i) => {
    const at = `points[${i}]`;
    if (!isObject(p)) return fail(at, 'expected an object');
    if (typeof p.id !== 'string' || p.id === '') fail(`${at}.id`, 'expected a non-empty string');
    if (ids.has(p.id as string)) fail(`${at}.id`, `"${p.id as string}" is used twice`);
    ids.add(p.id as string);
    if (!isInt(p.index, 0)) fail(`${at}.index`, 'expected an integer ≥ 0');
    if (!isObject(p.overrides)) fail(`${at}.overrides`, 'expected an object');
    if (!isInt(p.seed, 0)) fail(`${at}.seed`, 'expected an integer ≥ 0');
    if (!POINT_STATUSES.includes(p.status as PointStatus))
      fail(`${at}.status`, `expected one of ${listValues(POINT_STATUSES)}, got ${describeValue(p.status)}`);
    if (typeof p.run !== 'string' || p.run === '' || path.isAbsolute(p.run) || p.run.split(/[\\/]/).includes('..'))
      fail(`${at}.run`, 'expected a folder inside the sweep folder (a relative path)');
    for (const k of ['reason', 'worker', 'startedAt', 'finishedAt'] as const)
      if (p[k] !== undefined && typeof p[k] !== 'string') fail(`${at}.${k}`, 'expected a string');
    if (p.attempts !== undefined && !isInt(p.attempts, 0)) fail(`${at}.attempts`, 'expected an integer ≥ 0');
    if (
      p.metrics !== undefined &&
      (!isObject(p.metrics) || !Object.values(p.metrics).every((m) => m === null || typeof m === 'number'))
    )
      fail(`${at}.metrics`, 'expected an object of numbers (or null)');
  });
  return value as unknown as SweepState;
}

/** sweep.json of a sweep folder, checked. */
export function readSweepState(dir: string): SweepState {
  const file = path.join(dir, SWEEP_STATE_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SweepStateError(
      code === 'ENOENT'
        ? `${dir}: not a sweep folder (${SWEEP_STATE_FILE} not found)`
        : `${file}: ${(e as Error).message}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new SweepStateError(`${file}: the file is damaged, not valid JSON (${(e as Error).message})`);
  }
  return checkSweepState(value, file);
}
