// *.sbn.json → value + source map. Strict JSON, as JSON.parse and VS Code's `json` language mode expect:
// comments and trailing commas are syntax errors (YAML model files are the place for comments).
// Duplicate keys are reported (the value keeps the last one, as JSON.parse does).
// jsonc-parser is imported from its ESM build: esbuild cannot follow the `require`s of its UMD main.
import { getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser/lib/esm/main.js';
import { SourceMap, type Problem, type ReadResult, type Segment, type Span } from './sourceMap';

export function readJson(text: string): ReadResult {
  const map = new SourceMap(text);
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const syntaxErrors = errors.map((e) => syntaxProblem(text, e));
  const problems: Problem[] = [];
  if (root) walk(root, [], map, problems);
  return { value: root && syntaxErrors.length === 0 ? getNodeValue(root) : undefined, map, syntaxErrors, problems };
}

function walk(node: Node, path: Segment[], map: SourceMap, problems: Problem[], key?: Span): void {
  map.set(path, { value: { start: node.offset, end: node.offset + node.length }, key });
  if (node.type === 'array') {
    (node.children ?? []).forEach((child, i) => walk(child, [...path, i], map, problems));
  } else if (node.type === 'object') {
    const seen = new Set<string>();
    for (const prop of node.children ?? []) {
      const [keyNode, valueNode] = prop.children ?? [];
      if (!keyNode || typeof keyNode.value !== 'string') continue;
      const key: string = keyNode.value;
      const keySpan = { start: keyNode.offset, end: keyNode.offset + keyNode.length };
      if (seen.has(key)) problems.push({ path: [...path, key], span: keySpan, message: `duplicate key "${key}"` });
      seen.add(key);
      if (valueNode) walk(valueNode, [...path, key], map, problems, keySpan);
    }
  }
}

function syntaxProblem(text: string, e: ParseError): Problem {
  const token = text.slice(e.offset, e.offset + Math.max(e.length, 1));
  const before = text.slice(0, e.offset).trimEnd();
  const atEnd = e.offset >= text.length || text.slice(e.offset).trim() === '';
  const trailingComma = before.endsWith(',') && /^\s*[}\]]/.test(text.slice(e.offset));
  let message: string;
  switch (printParseErrorCode(e.error)) {
    case 'InvalidSymbol':
      message = token.startsWith("'")
        ? 'strings and keys need double quotes in JSON'
        : `unexpected ${JSON.stringify(text.slice(e.offset, e.offset + Math.min(Math.max(e.length, 1), 20)))}`;
      break;
    case 'InvalidNumberFormat':
      message = 'invalid number';
      break;
    case 'PropertyNameExpected':
      message = trailingComma ? 'trailing commas are not allowed in JSON' : 'expected a key in double quotes';
      break;
    case 'ValueExpected':
      message = trailingComma
        ? 'trailing commas are not allowed in JSON'
        : atEnd
          ? 'unexpected end of file, expected a value'
          : 'expected a value';
      break;
    case 'ColonExpected':
      message = 'expected ":" after the key';
      break;
    case 'CommaExpected':
      message = 'expected "," between items';
      break;
    case 'CloseBraceExpected':
      message = atEnd ? 'unexpected end of file, expected "}"' : 'expected "," or "}"';
      break;
    case 'CloseBracketExpected':
      message = atEnd ? 'unexpected end of file, expected "]"' : 'expected "," or "]"';
      break;
    case 'EndOfFileExpected':
      message = 'unexpected text after the end of the JSON value';
      break;
    case 'InvalidCommentToken':
      message = 'comments are not allowed in JSON (use a .sbn.yaml file for comments)';
      break;
    case 'UnexpectedEndOfComment':
      message = 'unterminated comment';
      break;
    case 'UnexpectedEndOfString':
      message = 'unterminated string';
      break;
    case 'UnexpectedEndOfNumber':
      message = 'incomplete number';
      break;
    case 'InvalidUnicode':
      message = 'invalid \\u escape in string';
      break;
    case 'InvalidEscapeCharacter':
      message = 'invalid escape sequence in string';
      break;
    case 'InvalidCharacter':
      message = 'control characters must be escaped in JSON strings';
      break;
    default:
      message = 'invalid JSON';
  }
  const span = trailingComma
    ? { start: before.length - 1, end: before.length }
    : { start: e.offset, end: e.offset + e.length };
  return { path: [], span, message: `JSON syntax error: ${message}` };
}
