// *.sbn.yaml → value + source map. One YAML 1.2 document (core schema). Duplicate keys are reported with
// their path; anchors and aliases work (yaml's alias-count limit guards against expansion bombs).
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { SourceMap, type Problem, type ReadResult, type Segment, type Span } from './sourceMap';

export function readYaml(text: string): ReadResult {
  const map = new SourceMap(text);
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false, logLevel: 'error' });
  const syntaxErrors: Problem[] = doc.errors.map((e) => ({
    path: [],
    span: { start: e.pos[0], end: e.pos[1] },
    message: `YAML syntax error: ${yamlMessage(e.code, e.message)}`,
  }));
  const problems: Problem[] = [];
  const contents = doc.contents as YamlNode | null;
  if (contents) walk(doc, contents, [], map, problems, syntaxErrors);
  let value: unknown;
  if (contents && syntaxErrors.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      syntaxErrors.push({ path: [], span: spanOf(contents), message: `YAML error: ${(e as Error).message}` });
    }
  }
  return { value, map, syntaxErrors, problems };
}

function walk(
  doc: Document,
  node: YamlNode,
  path: Segment[],
  map: SourceMap,
  problems: Problem[],
  fatal: Problem[],
  key?: Span,
): void {
  const value = spanOf(node);
  if (value) map.set(path, { value, key });
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const pair of node.items) {
      if (!isScalar(pair.key)) continue; // complex keys: yaml stringifies them; the schema then rejects them
      const name = pair.key.value === null ? '' : pair.key.toString();
      const keySpan = spanOf(pair.key);
      if (seen.has(name)) problems.push({ path: [...path, name], span: keySpan, message: `duplicate key "${name}"` });
      seen.add(name);
      // `key:` with nothing after it is null; point at the key.
      if (pair.value) walk(doc, pair.value as YamlNode, [...path, name], map, problems, fatal, keySpan);
      else if (keySpan) map.set([...path, name], { value: keySpan, key: keySpan });
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => item && walk(doc, item as YamlNode, [...path, i], map, problems, fatal));
  } else if (isAlias(node) && node.resolve(doc) === undefined) {
    fatal.push({
      path,
      span: value,
      message: `YAML error: unknown alias *${node.source} (define the anchor &${node.source} before it)`,
    });
  }
}

function spanOf(node: unknown): Span | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? { start: range[0], end: range[1] } : undefined;
}

function yamlMessage(code: string, message: string): string {
  if (code === 'MULTIPLE_DOCS') return 'a model file holds a single YAML document (found a second one after "---")';
  return message.split('\n')[0].replace(/\s*at line \d+, column \d+:?$/, '');
}
