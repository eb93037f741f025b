// One file under analysis (its text, lines, raw value and source map) and the helpers every check uses to find a
// field in the text, make a problem there, and write an edit in the file's own notation.
import { parse as parseYamlScalar } from 'yaml';
import type { ModelFileFormat } from '../../../engine/spec/parse';
import { formatPath, type Segment, type SourceMap } from '../../../engine/spec/sourceMap';
import type { LineMap } from './lineMap';
import type { AnalysisEnv, Fix, Problem, ProblemCode, Range, Severity, TextEdit } from './types';

export interface Context {
  text: string;
  file: string;
  format: ModelFileFormat;
  lines: LineMap;
  /** The file's raw value; undefined when it does not parse. */
  value: unknown;
  map?: SourceMap;
  env: AnalysisEnv;
}

/** The empty range at the start of the file, for what has no place of its own. */
export function startOfFile(): Range {
  return { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
}

/** Member span: from the key (when it has one) to the end of the value. */
export function locate(ctx: Context, path: Segment[], part: 'member' | 'value' | 'key' = 'member'): Range | undefined {
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

/** The raw value at `path`, undefined where the path leads nowhere. */
export function get(value: unknown, path: Segment[]): unknown {
  let cur = value;
  for (const s of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, s)) return undefined;
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return cur;
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

/** A problem on the value at `path` (at the start of the file when the path is not in it). */
export function problemAt(
  ctx: Context,
  path: Segment[],
  severity: Severity,
  code: ProblemCode,
  message: string,
  fix?: Fix,
): Problem {
  const range = locate(ctx, path, 'value') ?? startOfFile();
  const p: Problem = { range, severity, message, code, path: formatPath(path) };
  if (fix) p.fix = fix;
  return p;
}

export function textAt(ctx: Context, range: Range): string {
  return ctx.text.slice(ctx.lines.offset(range.start), ctx.lines.offset(range.end));
}

export function replace(range: Range, newText: string): TextEdit {
  return { range, newText };
}

/** A string value written the way the file writes strings (keeps the quotes of the value it replaces). */
export function scalar(ctx: Context, value: string, replaced: string): string {
  if (ctx.format === 'json' || replaced.startsWith('"')) return JSON.stringify(value);
  if (replaced.startsWith("'")) return `'${value.replace(/'/g, "''")}'`;
  return isPlainYamlScalar(value) ? value : JSON.stringify(value);
}

/** Whether YAML reads `value` unquoted as this same string (not a number, boolean, null or date). */
function isPlainYamlScalar(value: string): boolean {
  if (!/^[A-Za-z][\w.-]*$/.test(value)) return false;
  try {
    return parseYamlScalar(value) === value;
  } catch {
    return false;
  }
}
