// Completions in YAML model files (*.sbn.yaml / *.sbn.yml) from the model-file JSON Schema, independent of vscode so
// that node:test can run it. VS Code completes *.sbn.json files itself (jsonValidation); for YAML it has no schema
// support of its own, so this offers the keys an object may still take (with their descriptions; required ones
// first) and the values a field takes (enum and const values with their descriptions, true/false), choosing among
// `oneOf` alternatives by their discriminator (a layer's `type`, an optimiser's `type`, an lr schedule's
// `schedule`) when the file already says which.
//
// Where the cursor is: a marker is put at the cursor (followed by `:` when the line so far can only be the start of
// a key in block style) and the text is parsed with the `yaml` parser, which keeps going past errors elsewhere; the
// marker's place in the tree gives the path and whether a key or a value is being typed. Block and flow style
// (`train: { estimator: ps| }`) both work.
import { isMap, isNode, isScalar, isSeq, parseDocument, parse as parseYamlScalar, type Node, type YAMLMap } from 'yaml';
import { describeSchema } from '../../engine/spec/messages';
import { modelSchema } from '../../engine/spec/validate';
import type { Segment } from '../../engine/spec/sourceMap';
import type { Position, Range } from './analysis';
import { LineMap } from './analysis/lineMap';

type Schema = Record<string, unknown>;

export interface CompletionEntry {
  label: string;
  /** A key of an object, or a value of a field. */
  kind: 'property' | 'value';
  /** One line: what the field takes (`an integer ≥ 1`), `required` when it is. */
  detail?: string;
  /** Markdown: the schema's description of the key or of the value. */
  documentation?: string;
  /** What replaces `range`: a snippet (`$0` marks the cursor, `\t` one indentation step) when `snippet` is set. */
  insertText: string;
  snippet: boolean;
  /** The word at the cursor, which the completion replaces. */
  range: Range;
  /** Orders the list: required keys first, then the schema's order. */
  sortText: string;
}

const MARKER = 'sbnCompletionMarker';
const WORD = /[\w$.-]/;

/** Resolves a local `$ref` (`#/definitions/x`). */
function deref(schema: Schema, root: Schema): Schema {
  let s = schema;
  for (let guard = 0; typeof s.$ref === 'string' && guard < 32; guard++) {
    const target = s.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>(
        (o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
        root,
      );
    if (target === null || typeof target !== 'object') break;
    s = target as Schema;
  }
  return s;
}

/** A parsed value (not a YAML node): an object of the file, as the parser reads it. */
function isPlainObject(node: unknown): node is Record<string, unknown> {
  return node !== null && typeof node === 'object' && !Array.isArray(node) && !isNode(node);
}

/** The scalar value of `key` in a YAML map node (or a parsed object), if it has one. */
function scalarIn(node: unknown, key: string): unknown {
  if (isPlainObject(node)) {
    const v = Object.hasOwn(node, key) ? node[key] : undefined;
    return v !== null && typeof v === 'object' ? undefined : v;
  }
  if (!isMap(node)) return undefined;
  const v = node.get(key, true);
  return isScalar(v) ? v.value : undefined;
}

/** The keys written in a YAML map node (or a parsed object), the one being typed left out. */
function keysOf(node: unknown): string[] {
  if (isPlainObject(node)) return Object.keys(node);
  if (!isMap(node)) return [];
  return node.items.flatMap((pair) => (isScalar(pair.key) && !hasMarker(pair.key) ? [String(pair.key.value)] : []));
}

/**
 * A schema and the alternatives it may stand for at a node (`oneOf`/`anyOf`/`allOf`, recursively), each dereferenced;
 * a discriminator keeps only the alternatives that match the node's value for it, when one does.
 */
function expand(schema: Schema, node: unknown, root: Schema, out: Schema[] = [], depth = 0): Schema[] {
  const s = deref(schema, root);
  if (out.includes(s) || depth > 16) return out;
  out.push(s);
  for (const keyword of ['oneOf', 'anyOf', 'allOf'] as const) {
    const alternatives = s[keyword];
    if (!Array.isArray(alternatives)) continue;
    let chosen = (alternatives as Schema[]).map((a) => deref(a, root));
    const discriminator = (s.discriminator as { propertyName?: string } | undefined)?.propertyName;
    const value = discriminator ? scalarIn(node, discriminator) : undefined;
    if (discriminator && value !== undefined) {
      const matching = chosen.filter((a) => {
        const p = (a.properties as Record<string, Schema> | undefined)?.[discriminator];
        return p !== undefined && (p.const === value || (Array.isArray(p.enum) && p.enum.includes(value)));
      });
      if (matching.length > 0) chosen = matching;
    }
    // Closed objects (additionalProperties: false) that cannot hold the keys already written are not the one meant.
    const written = keysOf(node);
    if (written.length > 0) {
      const fitting = chosen.filter(
        (a) =>
          a.additionalProperties !== false ||
          written.every((k) => (a.properties as Record<string, unknown> | undefined)?.[k] !== undefined),
      );
      if (fitting.length > 0) chosen = fitting;
    }
    for (const a of chosen) expand(a, node, root, out, depth + 1);
  }
  return out;
}

/**
 * Schemas that may describe the value at `path`; nodes[k] is the document's node (a YAML node, or the parsed value)
 * at path.slice(0, k). The hovers of YAML model files take their descriptions from here too (analysis/fields.ts).
 */
export function schemasAt(path: Segment[], nodes: unknown[], root: Schema): Schema[] {
  let current = expand(root, nodes[0], root);
  for (let k = 0; k < path.length; k++) {
    const seg = path[k];
    const next: Schema[] = [];
    for (const s of current) {
      let child: unknown;
      if (typeof seg === 'string') {
        child = (s.properties as Record<string, unknown> | undefined)?.[seg];
        if (child === undefined && s.additionalProperties !== null && typeof s.additionalProperties === 'object')
          child = s.additionalProperties;
      } else {
        child = Array.isArray(s.items) ? s.items[seg] : s.items;
      }
      if (child !== null && typeof child === 'object') next.push(child as Schema);
    }
    current = [];
    for (const s of next) for (const e of expand(s, nodes[k + 1], root)) if (!current.includes(e)) current.push(e);
  }
  return current;
}

type Found =
  /** The marker is (part of) a key of `map`, the node at `path`. */
  | { role: 'key'; path: Segment[]; nodes: unknown[]; map: YAMLMap }
  /** The marker is (part of) the scalar value at `path`. */
  | { role: 'value'; path: Segment[]; nodes: unknown[] };

function hasMarker(node: unknown): boolean {
  return isScalar(node) && typeof node.value === 'string' && node.value.includes(MARKER);
}

function findMarker(node: unknown, path: Segment[], nodes: unknown[]): Found | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (hasMarker(pair.key)) return { role: 'key', path, nodes, map: node };
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      if (typeof key !== 'string' && typeof key !== 'number') continue;
      const childPath = [...path, String(key)];
      if (hasMarker(pair.value)) return { role: 'value', path: childPath, nodes: [...nodes, pair.value] };
      const found = findMarker(pair.value, childPath, [...nodes, pair.value]);
      if (found) return found;
    }
  } else if (isSeq(node)) {
    for (let i = 0; i < node.items.length; i++) {
      const item = node.items[i];
      if (hasMarker(item)) return { role: 'value', path: [...path, i], nodes: [...nodes, item] };
      const found = findMarker(item, [...path, i], [...nodes, item]);
      if (found) return found;
    }
  }
  return undefined;
}

/** A schema's description, its Markdown one when it has it (as VS Code's JSON service shows it). */
export function textOf(s: Schema): string | undefined {
  const t = s.markdownDescription ?? s.description;
  return typeof t === 'string' ? t : undefined;
}

function isType(s: Schema, type: string): boolean {
  return s.type === type || (Array.isArray(s.type) && s.type.length === 1 && s.type[0] === type);
}

/** A value as YAML reads it back: strings that would read as something else (`01`, `true`) are quoted. */
function yamlValue(v: unknown): string {
  if (typeof v !== 'string') return String(v);
  let back: unknown;
  try {
    back = parseYamlScalar(v);
  } catch {
    back = undefined;
  }
  return back === v ? v : `'${v.replace(/'/g, "''")}'`;
}

function valueEntries(candidates: Schema[], range: Range): CompletionEntry[] {
  const out: CompletionEntry[] = [];
  const add = (v: unknown, doc: string | undefined): void => {
    // a schema's values are JSON: objects, arrays and null are not offered
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return;
    const label = String(v);
    const existing = out.find((e) => e.label === label);
    if (existing) {
      existing.documentation ??= doc;
      return;
    }
    out.push({
      label,
      kind: 'value',
      documentation: doc,
      insertText: yamlValue(v),
      snippet: false,
      range,
      sortText: String(out.length).padStart(4, '0'),
    });
  };
  for (const s of candidates) {
    if (Array.isArray(s.enum)) {
      const docs = (s.markdownEnumDescriptions ?? s.enumDescriptions) as unknown[] | undefined;
      s.enum.forEach((v, i) => add(v, typeof docs?.[i] === 'string' ? docs[i] : undefined));
    }
    if ('const' in s) add(s.const, textOf(s));
    if (isType(s, 'boolean')) {
      add(true, undefined);
      add(false, undefined);
    }
  }
  return out;
}

function keyEntries(
  candidates: Schema[],
  present: Set<string>,
  root: Schema,
  range: Range,
  flow: boolean,
  colonTyped: boolean,
): CompletionEntry[] {
  const out: CompletionEntry[] = [];
  const required = new Set<string>();
  for (const s of candidates) if (Array.isArray(s.required)) for (const r of s.required) required.add(String(r));
  let order = 0;
  for (const s of candidates) {
    const properties = s.properties as Record<string, Schema> | undefined;
    if (!properties) continue;
    for (const [key, raw] of Object.entries(properties)) {
      if (key === '$schema' || present.has(key)) continue;
      const p = deref(raw, root);
      const existing = out.find((e) => e.label === key);
      if (existing) {
        existing.documentation ??= textOf(p);
        continue;
      }
      const itemsAreObjects =
        isType(p, 'array') &&
        p.items !== null &&
        typeof p.items === 'object' &&
        !Array.isArray(p.items) &&
        isType(deref(p.items as Schema, root), 'object');
      let insertText: string;
      if (colonTyped) insertText = key;
      else if (isType(p, 'object')) insertText = flow ? `${key}: { $0 }` : `${key}:\n\t$0`;
      else if (itemsAreObjects && !flow) insertText = `${key}:\n\t- $0`;
      else if (isType(p, 'array')) insertText = `${key}: [$0]`;
      else insertText = `${key}: $0`;
      const isRequired = required.has(key);
      out.push({
        label: key,
        kind: 'property',
        detail: `${isRequired ? 'required: ' : ''}${describeSchema(p, (x) => deref(x, root))}`,
        documentation: textOf(p),
        insertText,
        snippet: !colonTyped,
        range,
        sortText: `${isRequired ? 0 : 1}${String(order++).padStart(4, '0')}`,
      });
    }
  }
  return out;
}

/**
 * Completions at `position` (0-based, UTF-16) in the YAML model file `text`: keys with descriptions, or the values a
 * field takes. Empty inside comments and where the schema has nothing to offer. Never throws.
 */
export function yamlCompletions(text: string, position: Position, schema: Schema = modelSchema): CompletionEntry[] {
  try {
    return complete(text, position, schema);
  } catch {
    return [];
  }
}

function complete(text: string, position: Position, schema: Schema): CompletionEntry[] {
  const lines = new LineMap(text);
  if (position.line < 0 || position.line >= lines.lineCount) return [];
  const line = lines.lineText(position.line);
  const character = Math.min(position.character, line.length);
  const before = line.slice(0, character);
  if (/(^|\s)#/.test(before)) return []; // in a comment
  let wordStart = character;
  while (wordStart > 0 && WORD.test(line[wordStart - 1])) wordStart--;
  let wordEnd = character;
  while (wordEnd < line.length && WORD.test(line[wordEnd])) wordEnd++;
  const range: Range = {
    start: { line: position.line, character: wordStart },
    end: { line: position.line, character: wordEnd },
  };
  const after = line.slice(wordEnd);
  const colonTyped = /^\s*:/.test(after);
  // In block style a line that holds only indentation, `- ` markers and a word is a key being typed.
  const keyLine = /^\s*(?:-\s+)*[\w$.-]*$/.test(before) && !colonTyped && !after.includes(':');
  const lineStart = lines.offset({ line: position.line, character: 0 });
  const modified =
    text.slice(0, lineStart + character) +
    MARKER +
    line.slice(character, wordEnd) +
    (keyLine ? ':' : '') +
    text.slice(lineStart + wordEnd);
  const doc = parseDocument(modified, { uniqueKeys: false });
  const contents = doc.contents as Node | null;
  const found = hasMarker(contents)
    ? { role: 'key' as const, path: [], nodes: [contents], map: undefined }
    : findMarker(contents, [], [contents]);
  if (!found) return [];
  if (found.role === 'value') return valueEntries(schemasAt(found.path, found.nodes, schema), range);

  const candidates = schemasAt(found.path, found.nodes, schema);
  const present = new Set<string>();
  let markerOnly = true;
  for (const pair of found.map?.items ?? []) {
    if (hasMarker(pair.key)) {
      if (pair.value !== null && !(isScalar(pair.value) && pair.value.value === null)) markerOnly = false;
    } else {
      markerOnly = false;
      if (isScalar(pair.key)) present.add(String(pair.key.value));
    }
  }
  const flow = found.map?.flow === true;
  const entries = keyEntries(candidates, present, schema, range, flow, colonTyped);
  // `estimator:` + a new line with a word, or `- ps` in a list: the word may be the value itself rather than a key.
  if (markerOnly && keyLine && found.path.length > 0) {
    const values = valueEntries(candidates, range);
    for (const v of values) v.sortText = `2${v.sortText}`;
    return [...entries, ...values];
  }
  return entries;
}
