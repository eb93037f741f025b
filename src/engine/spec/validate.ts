// Schema validation: ajv against schemas/sbn-model.schema.json (bundled by esbuild through the import),
// each ajv error turned into a Problem with the file's path notation, a source span and our own words.
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import schemaJson from '../../../schemas/sbn-model.schema.json';
import { closest, describeSchema, describeValue, listValues, plural } from './messages';
import { fromPointer, type Problem, type SourceMap } from './sourceMap';

type Schema = Record<string, unknown>;

/** The model file JSON Schema (draft-07), as shipped in schemas/. */
export const modelSchema: Schema = schemaJson;

/** Editor-only keywords of the schema (VS Code's JSON language service reads them; ajv ignores them). */
const EDITOR_KEYWORDS = [
  'markdownDescription',
  'enumDescriptions',
  'markdownEnumDescriptions',
  'defaultSnippets',
  'patternErrorMessage',
  'errorMessage',
  'deprecationMessage',
  'doNotSuggest',
];
/** Wrapper keywords whose errors only repeat what the errors of their branches say. */
const WRAPPERS = new Set(['discriminator', 'oneOf', 'anyOf', 'if']);

/** Top-level sections and their keys, for "unknown key "epochs"; it belongs in the "train" section". */
const SECTION_KEYS: [string, string[]][] = ['train', 'data'].map((section) => {
  const definition = (modelSchema.definitions as Record<string, Schema>)[section];
  return [section, Object.keys((definition.properties as Schema | undefined) ?? {})];
});

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictNumbers: true, discriminator: true });
    ajv.addVocabulary(EDITOR_KEYWORDS);
    compiled = ajv.compile(modelSchema);
  }
  return compiled;
}

export function validateSchema(data: unknown, map: SourceMap): Problem[] {
  const validate = validator();
  if (validate(data)) return [];
  return prune(validate.errors ?? []).map((e) => toProblem(e, data, map));
}

/** Drops ajv's echoes: errors of union branches the value was not meant for, wrapper errors, a type error beside
 *  an enum error, repeats, and a missing key that an unknown key next to it is a misspelling of (`unit` → "did
 *  you mean units?" says it all). */
function prune(all: ErrorObject[]): ErrorObject[] {
  const errors = selectBranches(all);
  const seen = new Set<string>();
  return errors.filter((e) => {
    const { instancePath: at, keyword } = e;
    if (
      WRAPPERS.has(keyword) &&
      errors.some((o) => !WRAPPERS.has(o.keyword) && (o.instancePath + '/').startsWith(at + '/'))
    )
      return false;
    // "must be string" next to "must be one of …" at the same place: keep the enum message only.
    if (
      keyword === 'type' &&
      errors.some((o) => o.instancePath === at && (o.keyword === 'enum' || o.keyword === 'const'))
    )
      return false;
    if (
      keyword === 'required' &&
      errors.some(
        (o) =>
          o.instancePath === at && o.keyword === 'additionalProperties' && misspelling(o) === e.params.missingProperty,
      )
    )
      return false;
    const id = `${at} ${keyword} ${JSON.stringify(e.params)}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/**
 * A oneOf/anyOf that no branch accepts makes ajv report the errors of every branch: for `lr: -1`, "must be > 0"
 * and also "must be \"search\"" and "must be an object". Keep the errors of the one branch the value was meant
 * for: the only branch whose type fits the value; among object branches, the one with the most of its required
 * keys present. When no single branch stands out, the union's own error stays as one summary message.
 */
function selectBranches(errors: ErrorObject[]): ErrorObject[] {
  let out = errors;
  const unions = errors
    .filter((e) => (e.keyword === 'oneOf' || e.keyword === 'anyOf') && Array.isArray(e.schema))
    .sort((a, b) => a.instancePath.length - b.instancePath.length);
  for (const union of unions) {
    // Gone with an outer branch, or a oneOf that several branches accept: its own error says what is wrong.
    if (!out.includes(union) || union.params.passingSchemas) continue;
    const branches = union.schema as Schema[];
    const reach = branches.map(reachable);
    const branchOf = (e: ErrorObject): number => {
      if (e === union || !(e.instancePath + '/').startsWith(union.instancePath + '/')) return -1;
      return reach.findIndex((r) => r.has(e.parentSchema as object));
    };
    const chosen = chooseBranches(branches.map(resolveModelSchemaRef), union.data);
    let keep = chosen.length === 1 ? chosen[0] : -1;
    if (keep >= 0 && !out.some((e) => branchOf(e) === keep)) keep = -1;
    out = out.filter((e) => {
      if (e === union) return keep < 0;
      const branch = branchOf(e);
      return branch < 0 || branch === keep;
    });
  }
  return out;
}

/** Every schema object reachable from `schema`, through $refs: errors name the schema object they come from. */
const reachCache = new WeakMap<object, Set<object>>();
function reachable(schema: Schema): Set<object> {
  const cached = reachCache.get(schema);
  if (cached) return cached;
  const found = new Set<object>();
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object' || found.has(node)) return;
    found.add(node);
    if (!Array.isArray(node) && typeof (node as Schema).$ref === 'string') visit(resolveModelSchemaRef(node as Schema));
    Object.values(node).forEach(visit);
  };
  visit(schema);
  reachCache.set(schema, found);
  return found;
}

function chooseBranches(branches: Schema[], data: unknown): number[] {
  let candidates = branches.map((_, i) => i).filter((i) => typeFits(branches[i], data));
  if (candidates.length > 1 && data !== null && typeof data === 'object' && !Array.isArray(data)) {
    const present = (i: number) =>
      (Array.isArray(branches[i].required) ? (branches[i].required as string[]) : []).filter((k) =>
        Object.hasOwn(data, k),
      ).length;
    const best = Math.max(...candidates.map(present));
    if (best > 0) candidates = candidates.filter((i) => present(i) === best);
  }
  return candidates;
}

function typeFits(schema: Schema, data: unknown): boolean {
  const types = Array.isArray(schema.type)
    ? (schema.type as string[])
    : typeof schema.type === 'string'
      ? [schema.type]
      : undefined;
  if (!types) return true;
  return types.some((t) => {
    switch (t) {
      case 'null':
        return data === null;
      case 'array':
        return Array.isArray(data);
      case 'object':
        return data !== null && typeof data === 'object' && !Array.isArray(data);
      case 'integer':
        return Number.isInteger(data);
      default:
        return typeof data === t;
    }
  });
}

/** For an additionalProperties error: the allowed key the unknown one is closest to, if any. */
function misspelling(e: ErrorObject): string | undefined {
  const properties = (resolveModelSchemaRef(e.parentSchema ?? {}).properties ?? {}) as Schema;
  return closest(String(e.params.additionalProperty), Object.keys(properties));
}

/** Follow a model-schema sub-schema's local $refs (`#/definitions/...`) to the schema they name. */
export function resolveModelSchemaRef(schema: Schema): Schema {
  let s = schema;
  for (let hops = 0; typeof s.$ref === 'string' && s.$ref.startsWith('#/') && hops < 10; hops++) {
    let target: unknown = modelSchema;
    for (const part of s.$ref.slice(2).split('/')) target = (target as Schema | undefined)?.[part];
    if (!target || typeof target !== 'object') break;
    s = target as Schema;
  }
  return s;
}

function toProblem(e: ErrorObject, data: unknown, map: SourceMap): Problem {
  const path = fromPointer(e.instancePath, data);
  const parent = resolveModelSchemaRef(e.parentSchema ?? {});
  const got = describeValue(e.data);
  const expected = describeSchema(parent, resolveModelSchemaRef);
  switch (e.keyword) {
    case 'required': {
      const key = String(e.params.missingProperty);
      const property = (parent.properties as Record<string, Schema> | undefined)?.[key];
      const parentSpan = map.locate(path); // the parent object: its first character
      return {
        path: [...path, key],
        span: parentSpan && { start: parentSpan.start, end: parentSpan.start + 1 },
        message: `missing required key "${key}" (expected ${describeSchema(property, resolveModelSchemaRef)})`,
      };
    }
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const allowed = Object.keys((parent.properties as Schema | undefined) ?? {});
      const suggestion = misspelling(e);
      const section = path.length === 0 ? SECTION_KEYS.find(([, keys]) => keys.includes(key))?.[0] : undefined;
      const hint = suggestion
        ? `did you mean "${suggestion}"?`
        : section
          ? `"${key}" belongs in the "${section}" section`
          : `allowed keys are ${listValues(allowed, 'and')}`;
      return {
        path: [...path, key],
        span: map.locate([...path, key], 'key'),
        message: `unknown key "${key}"; ${hint}`,
      };
    }
    case 'enum': {
      const allowed = e.params.allowedValues as unknown[];
      const strings = allowed.filter((v): v is string => typeof v === 'string');
      const expected = allowed.length === 1 ? JSON.stringify(allowed[0]) : `one of ${listValues(allowed)}`;
      let message = `expected ${expected}, got ${got}`;
      const raw = map.raw(path);
      if (typeof e.data !== 'string' && raw !== undefined && strings.includes(raw)) {
        message += ` (${raw} is read as a number here; write it in quotes: "${raw}")`;
      } else if (typeof e.data === 'string') {
        const suggestion = closest(e.data, strings);
        if (suggestion) message += `; did you mean "${suggestion}"?`;
      }
      return { path, span: map.locate(path), message };
    }
    case 'minItems':
    case 'maxItems':
    case 'not':
      return {
        path,
        span: map.locate(path),
        message: `expected ${expected}, got ${Array.isArray(e.data) ? plural(e.data.length, 'item') : got}`,
      };
    case 'type':
    case 'const':
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
    case 'minLength':
    case 'maxLength':
    case 'pattern':
    case 'oneOf':
    case 'anyOf':
      return { path, span: map.locate(path), message: `expected ${expected}, got ${got}` };
    default:
      return { path, span: map.locate(path), message: `${e.message ?? 'invalid value'} (got ${got})` };
  }
}

/** The schema's `maximum` of a key of the train section (for command-line overrides of it), if it has one. */
export function trainMaximum(key: string): number | undefined {
  const train = (modelSchema.definitions as Record<string, Schema>).train;
  const max = ((train.properties as Record<string, Schema>)[key] as Schema | undefined)?.maximum;
  return typeof max === 'number' ? max : undefined;
}
