// The parser's problems (syntax, schema, semantic) placed in the editor, with the quick fixes its messages allow.
import type { SpecError } from '../../../engine/spec/types';
import { isObject } from '../../../engine/spec/wellFormed';
import { get, parsePath, replace, scalar, startOfFile, type Context } from './context';
import { builtInDataset } from './data';
import type { Fix, Problem, ProblemCode, Range } from './types';

export function fromSpecError(e: SpecError, ctx: Context): Problem {
  const { lines } = ctx;
  let range: Range;
  if (e.line !== undefined) {
    const start = lines.offset({ line: e.line - 1, character: (e.column ?? 1) - 1 });
    const end =
      e.endLine !== undefined ? lines.offset({ line: e.endLine - 1, character: (e.endColumn ?? 1) - 1 }) : start;
    range = lines.range({ start, end });
  } else {
    range = startOfFile();
  }
  const code: ProblemCode = e.kind ?? (e.path === '' && /internal error/.test(e.message) ? 'internal' : 'semantic');
  const problem: Problem = { range, severity: 'error', message: e.message, code, path: e.path };
  const fix = fixFor(e, range, ctx);
  if (fix) problem.fix = fix;
  return problem;
}

/** Kernel sizes a conv layer takes, and the nearest one to `k` (ties go to 3, the usual size). */
const KERNELS = [3, 1, 5];
export function nearestKernel(k: number): number {
  return KERNELS.reduce((best, c) => (Math.abs(c - k) < Math.abs(best - k) ? c : best));
}

/** A number out of its range, as validate.ts words it: `expected an integer ≥ 1 and ≤ 64, got 0`. */
const NUMBER = String.raw`-?[\d.]+(?:e[+-]?\d+)?`;
const RANGE_MESSAGE = new RegExp(
  `^expected (a number|an integer) ([≥≤<>] ${NUMBER}(?: and [≥≤<>] ${NUMBER})*), got (${NUMBER})$`,
);

/**
 * The allowed value nearest to `got`: an inclusive bound it passed, or for an integer the next one inside an
 * exclusive bound. None where the bound is exclusive for a real number (no nearest value) or the value is in range.
 */
export function nearestInRange(
  integer: boolean,
  bounds: string,
  got: number,
): { value: string; bound: 'minimum' | 'maximum' } | undefined {
  if (!Number.isFinite(got)) return undefined;
  for (const part of bounds.split(' and ')) {
    const [op, text] = part.split(' ');
    const limit = Number(text);
    const below = op === '≥' ? got < limit : op === '>' ? got <= limit : false;
    const above = op === '≤' ? got > limit : op === '<' ? got >= limit : false;
    if (!below && !above) continue;
    if ((op === '>' || op === '<') && !integer) return undefined;
    let value = op === '>' ? Math.floor(limit) + 1 : op === '<' ? Math.ceil(limit) - 1 : limit;
    if (integer) value = below ? Math.ceil(value) : Math.floor(value);
    return { value: String(value), bound: below ? 'minimum' : 'maximum' };
  }
  return undefined;
}

/** Classes the data set of the file has, when it fixes them. */
function datasetClasses(value: unknown): { classes: number; name: string } | undefined {
  const dataset = get(value, ['data', 'dataset']);
  const known = builtInDataset(dataset);
  return known && typeof dataset === 'string' ? { classes: known.classes, name: dataset } : undefined;
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
  if (e.kind === 'schema' && !tagged && written !== '' && (m = e.message.match(RANGE_MESSAGE))) {
    const nearest = nearestInRange(m[1] === 'an integer', m[2], Number(m[3]));
    if (nearest)
      return { title: `Change to ${nearest.value} (the ${nearest.bound})`, edits: [replace(range, nearest.value)] };
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
