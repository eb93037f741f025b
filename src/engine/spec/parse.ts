// Model file text → ModelSpec or every problem found in it. Never throws.
//   1. read the text as JSON (*.json) or YAML (*.yaml, *.yml; other names: sniffed) with a source map;
//   2. validate against the JSON Schema; 3. semantic checks; 4. build the ModelSpec with defaults.
// Syntax errors stop after step 1; all other problems are collected and sorted by position. Each SpecError says
// which stage found it (`kind`: syntax, schema or semantic).
import * as os from 'node:os';
import { readTextFile, TextFileError } from '../files';
import { memoryProblem } from './memory';
import { toModelSpec } from './model';
import { readJson } from './readJson';
import { readYaml } from './readYaml';
import { checkSemantics } from './semantic';
import { formatPath, LineIndex, type Problem } from './sourceMap';
import type { ParseResult, SpecError, SpecErrorKind } from './types';
import { validateSchema } from './validate';

const EMPTY = 'the file is empty; expected a model object with "name", "input", "layers" and "output"';

export type ModelFileFormat = 'json' | 'yaml';

/** A problem and the stage that found it. */
type Found = Problem & { kind: SpecErrorKind };

function tagged(problems: readonly Problem[], kind: SpecErrorKind): Found[] {
  return problems.map((p) => ({ ...p, kind }));
}

/** `.json` → JSON, `.yaml`/`.yml` → YAML; any other name: JSON if the text starts with `{` or `[`. */
export function modelFileFormat(fileName: string, text = ''): ModelFileFormat {
  const name = fileName.toLowerCase();
  if (name.endsWith('.json')) return 'json';
  if (name.endsWith('.yaml') || name.endsWith('.yml')) return 'yaml';
  return /^\s*[{[]/.test(text) ? 'json' : 'yaml';
}

export interface ParseOptions {
  /** Memory the model may use to train, in bytes (default: the machine's, os.totalmem()). */
  availableMemory?: number;
}

export function parseModelText(text: string, fileName: string, options: ParseOptions = {}): ParseResult {
  const file = typeof fileName === 'string' ? fileName : '';
  try {
    return parse(String(text).replace(/^\uFEFF/, ''), file, options.availableMemory ?? os.totalmem());
  } catch (e) {
    const message =
      e instanceof RangeError
        ? `the file is nested too deeply to read (${errorText(e)})`
        : `internal error while reading the model: ${errorText(e)}`;
    return { ok: false, errors: [withFile({ path: '', message }, file)] };
  }
}

/** The largest model file read: model files are a few hundred bytes; anything far larger is the wrong file. */
export const MAX_MODEL_FILE_BYTES = 1 << 20;

/**
 * Reads and parses a model file. A file that cannot be read as text (missing, a folder or a device, larger than
 * MAX_MODEL_FILE_BYTES, not UTF-8) gives one error with path '' (and the line of an invalid byte).
 */
export function loadModelFile(path: string, options: ParseOptions = {}): ParseResult {
  let text: string;
  try {
    text = readTextFile(path, MAX_MODEL_FILE_BYTES);
  } catch (e) {
    if (!(e instanceof TextFileError)) throw e;
    const error: SpecError = {
      path: '',
      message: e.problem === 'file not found' ? 'cannot read the file: file not found' : e.problem,
      kind: 'syntax',
    };
    if (e.line !== undefined) Object.assign(error, { line: e.line, column: e.column });
    return { ok: false, errors: [withFile(error, path)] };
  }
  return parseModelText(text, path, options);
}

function parse(text: string, file: string, availableMemory: number): ParseResult {
  const lines = new LineIndex(text);
  const fail = (problems: Found[]): ParseResult => ({
    ok: false,
    errors: sorted(problems).map((p) => toSpecError(p, file, lines)),
  });
  const empty: Found = { path: [], span: { start: 0, end: 0 }, message: EMPTY, kind: 'syntax' };
  if (text.trim() === '') return fail([empty]);

  const read = modelFileFormat(file, text) === 'json' ? readJson(text) : readYaml(text);
  // Duplicate keys (the readers' non-fatal problems) count as syntax: JSON editors report them as such.
  if (read.syntaxErrors.length > 0)
    return fail(tagged([...onePerLine(read.syntaxErrors, lines), ...read.problems], 'syntax'));
  if (read.value === undefined) return fail([empty]);

  const problems = [
    ...tagged(read.problems, 'syntax'),
    ...tagged(validateSchema(read.value, read.map), 'schema'),
    ...tagged(checkSemantics(read.value, read.map), 'semantic'),
  ];
  if (problems.length > 0) return fail(problems);
  const model = toModelSpec(read.value);
  // Checked last, on a model that is valid otherwise: the estimate needs its geometry.
  const memory = memoryProblem(model, availableMemory);
  if (memory)
    return fail([{ path: memory.path, span: read.map.locate(memory.path), message: memory.message, kind: 'semantic' }]);
  return { ok: true, model };
}

/** A syntax error usually drags follow-up errors along on its line; keep the first. */
function onePerLine(problems: Problem[], lines: LineIndex): Problem[] {
  const seen = new Set<number>();
  return problems.filter((p) => {
    const line = lines.position(p.span?.start ?? 0).line;
    if (seen.has(line)) return false;
    seen.add(line);
    return true;
  });
}

function sorted<P extends Problem>(problems: P[]): P[] {
  const seen = new Set<string>();
  return problems
    .filter((p) => {
      const id = `${formatPath(p.path)}\n${p.message}`;
      return seen.has(id) ? false : (seen.add(id), true);
    })
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.span?.start ?? 0) - (b.p.span?.start ?? 0) || a.i - b.i)
    .map(({ p }) => p);
}

function toSpecError(p: Found, file: string, lines: LineIndex): SpecError {
  const e: SpecError = { path: formatPath(p.path), message: p.message };
  if (p.span) {
    const start = lines.position(p.span.start);
    const end = lines.position(Math.max(p.span.end, p.span.start));
    Object.assign(e, { line: start.line, column: start.column, endLine: end.line, endColumn: end.column });
  }
  e.kind = p.kind;
  return withFile(e, file);
}

function withFile(e: SpecError, file: string): SpecError {
  return file ? { file, ...e } : e;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
