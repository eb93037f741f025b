// Where each value of a parsed model file sits in its text, for both formats. Values are addressed by
// JSON Pointer (what ajv reports), shown to users in the file's own path notation (`layers[2].units`),
// and placed as 1-based line/column (UTF-16 code units, as editors count them).

/** One step of a path: an object key or an array index. */
export type Segment = string | number;
/** Half-open character range [start, end) in the text. */
export interface Span {
  start: number;
  end: number;
}
/** Where a value sits; `key` is the span of its key when it is an object member. */
export interface Located {
  value: Span;
  key?: Span;
}
/** A problem found in a file before it is tied to a line and column. */
export interface Problem {
  path: Segment[];
  span?: Span;
  message: string;
}

/** What a format reader hands on: the file's value and where each part of it sits. */
export interface ReadResult {
  /** The file's value; `undefined` when it holds none (only whitespace or comments). */
  value: unknown;
  map: SourceMap;
  /** Fatal: the value is not to be trusted, validation does not run. */
  syntaxErrors: Problem[];
  /** Not fatal (duplicate keys): validation still runs. */
  problems: Problem[];
}

export function toPointer(path: readonly Segment[]): string {
  return path.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** Splits an ajv instancePath; a segment is an index when the value it steps into is an array. */
export function fromPointer(pointer: string, data: unknown): Segment[] {
  if (pointer === '') return [];
  const out: Segment[] = [];
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur) && /^(0|[1-9]\d*)$/.test(key)) {
      out.push(Number(key));
      cur = cur[Number(key)];
    } else {
      out.push(key);
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}

/** `layers[2].units`; keys that are not identifiers are quoted: `output["my key"]`. */
export function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const s of path) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(s)) out += out === '' ? s : '.' + s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

export class SourceMap {
  private readonly nodes = new Map<string, Located>();

  constructor(private readonly text: string) {}

  /** Records a value; a later record for the same path wins, as the later duplicate key wins in the value. */
  set(path: readonly Segment[], located: Located): void {
    this.nodes.set(toPointer(path), located);
  }

  /** The value's span (or its key's), else the nearest recorded ancestor's value. */
  locate(path: readonly Segment[], part: 'value' | 'key' = 'value'): Span | undefined {
    for (let n = path.length; n >= 0; n--) {
      const found = this.nodes.get(toPointer(path.slice(0, n)));
      if (found) return (n === path.length && part === 'key' && found.key) || found.value;
    }
    return undefined;
  }

  /** The source text of a value exactly as written, e.g. `01` for a YAML scalar read as the number 1. */
  raw(path: readonly Segment[]): string | undefined {
    const found = this.nodes.get(toPointer(path));
    return found && this.text.slice(found.value.start, found.value.end);
  }
}

/** Offset → 1-based line/column; \n, \r\n and \r all end a line. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) this.starts.push(i + 1);
    }
  }

  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo] + 1 };
  }
}
