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
  'markdownDescription', 'enumDescriptions', 'markdownEnumDescriptions', 'defaultSnippets',
  'patternErrorMessage', 'errorMessage', 'deprecationMessage', 'doNotSuggest',
];
/** Wrapper keywords whose errors only repeat what the errors of their branches say. */
const WRAPPERS = new Set(['discriminator', 'oneOf', 'anyOf', 'if']);

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

/** Drops ajv's echoes: wrapper errors, a type error beside an enum error, repeats, and a missing key that an
 *  unknown key next to it is a misspelling of (`unit` → "did you mean units?" says it all). */
function prune(errors: ErrorObject[]): ErrorObject[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const { instancePath: at, keyword } = e;
    if (WRAPPERS.has(keyword) && errors.some((o) => !WRAPPERS.has(o.keyword) && (o.instancePath + '/').startsWith(at + '/'))) return false;
    // "must be string" next to "must be one of …" at the same place: keep the enum message only.
    if (keyword === 'type' && errors.some((o) => o.instancePath === at && (o.keyword === 'enum' || o.keyword === 'const'))) return false;
    if (keyword === 'required' && errors.some((o) => o.instancePath === at && o.keyword === 'additionalProperties' &&
      misspelling(o) === e.params.missingProperty)) return false;
    const id = `${at} ${keyword} ${JSON.stringify(e.params)}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** For an additionalProperties error: the allowed key the unknown one is closest to, if any. */
function misspelling(e: ErrorObject): string | undefined {
  const properties = (resolve((e.parentSchema ?? {}) as Schema).properties ?? {}) as Schema;
  return closest(String(e.params.additionalProperty), Object.keys(properties));
}

function resolve(schema: Schema): Schema {
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
  const parent = resolve((e.parentSchema ?? {}) as Schema);
  const got = describeValue(e.data);
  const expected = describeSchema(parent, resolve);
  switch (e.keyword) {
    case 'required': {
      const key = String(e.params.missingProperty);
      const property = (parent.properties as Record<string, Schema> | undefined)?.[key];
      const parentSpan = map.locate(path); // the parent object: its first character
      return {
        path: [...path, key],
        span: parentSpan && { start: parentSpan.start, end: parentSpan.start + 1 },
        message: `missing required key "${key}" (expected ${describeSchema(property, resolve)})`,
      };
    }
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const allowed = Object.keys((parent.properties as Schema | undefined) ?? {});
      const suggestion = misspelling(e);
      const hint = suggestion ? `did you mean "${suggestion}"?` : `allowed keys are ${listValues(allowed, 'and')}`;
      return { path: [...path, key], span: map.locate([...path, key], 'key'), message: `unknown key "${key}"; ${hint}` };
    }
    case 'enum': {
      const allowed = e.params.allowedValues as unknown[];
      const strings = allowed.filter((v): v is string => typeof v === 'string');
      let message = `expected ${allowed.length === 1 ? JSON.stringify(allowed[0]) : `one of ${listValues(allowed)}`}, got ${got}`;
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
      return { path, span: map.locate(path), message: `expected ${expected}, got ${got}` };
    default:
      return { path, span: map.locate(path), message: `${e.message ?? 'invalid value'} (got ${got})` };
  }
}
