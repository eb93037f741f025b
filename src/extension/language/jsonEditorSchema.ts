// The schema VS Code's JSON language service gets for *.sbn.json (package.json `jsonValidation`), derived at build
// time (scripts/build.mjs) from schemas/sbn-model.schema.json. JSON and YAML model files are checked by one
// validator, ours (src/engine/spec/validate.ts, through the editor analysis in analysis/): its messages say "did you
// mean" and come with quick fixes. The JSON service would report the same problems again in its own words, so the
// schema it gets completes and describes but never fails: every keyword that constrains a value is left out,
// `enum` and `const` values become completion proposals (defaultSnippets, with their descriptions), and a union
// chosen by a discriminator (a layer's `type`) becomes `if`/`then` pairs, which narrow completions and hovers to the
// branch the file names without ever reporting a mismatch. Descriptions, defaults and snippets stay as they are.

type Schema = Record<string, unknown>;

/** Keywords that constrain a value: the JSON service would report a problem for each. */
const CONSTRAINTS = new Set([
  'type',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'patternErrorMessage',
  'errorMessage',
  'minItems',
  'maxItems',
  'uniqueItems',
  'contains',
  'required',
  'minProperties',
  'maxProperties',
  'propertyNames',
  'dependencies',
  'not',
  'deprecationMessage',
  'discriminator',
]);

interface Snippet {
  label?: string;
  body: unknown;
  description?: string;
  markdownDescription?: string;
}

function isSchema(v: unknown): v is Schema {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Follows a local `$ref` (`#/definitions/x`) in `root`. */
function resolve(schema: Schema, root: Schema): Schema {
  let s = schema;
  for (let hops = 0; typeof s.$ref === 'string' && s.$ref.startsWith('#/') && hops < 16; hops++) {
    let target: unknown = root;
    for (const part of s.$ref.slice(2).split('/')) target = isSchema(target) ? target[part] : undefined;
    if (!isSchema(target)) break;
    s = target;
  }
  return s;
}

/** `enum` / `const` values as completion proposals, each with its description where the schema gives one. */
function valueSnippets(s: Schema): Snippet[] {
  const values: unknown[] = Array.isArray(s.enum) ? s.enum : 'const' in s ? [s.const] : [];
  const plain = Array.isArray(s.enumDescriptions) ? (s.enumDescriptions as unknown[]) : [];
  const markdown = Array.isArray(s.markdownEnumDescriptions) ? (s.markdownEnumDescriptions as unknown[]) : [];
  return values.map((body, i) => {
    const snippet: Snippet = { label: JSON.stringify(body), body };
    if (typeof plain[i] === 'string') snippet.description = plain[i];
    if (typeof markdown[i] === 'string') snippet.markdownDescription = markdown[i];
    return snippet;
  });
}

function derive(node: unknown, root: Schema): unknown {
  if (Array.isArray(node)) return node.map((n) => derive(n, root));
  if (!isSchema(node)) return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (CONSTRAINTS.has(key) || key === 'enum' || key === 'const') continue;
    if (key === 'enumDescriptions' || key === 'markdownEnumDescriptions') continue;
    if (key === 'additionalProperties' && typeof value === 'boolean') continue;
    if (key === 'properties' || key === 'definitions') {
      const derived = Object.fromEntries(Object.entries(value as Schema).map(([k, v]) => [k, derive(v, root)]));
      out[key] = { ...(out[key] as Schema | undefined), ...derived };
    } else if (key === 'oneOf') {
      const { properties, ...rest } = union(node, value as unknown[], root);
      Object.assign(out, rest);
      if (properties) out.properties = { ...(out.properties as Schema | undefined), ...(properties as Schema) };
    } else {
      out[key] = derive(value, root);
    }
  }
  const snippets = [...valueSnippets(node), ...((out.defaultSnippets as Snippet[] | undefined) ?? [])];
  if (snippets.length > 0) out.defaultSnippets = snippets;
  return out;
}

/**
 * A `oneOf`: with a discriminator, one `if` (the discriminator has the branch's value) / `then` (the branch) pair per
 * branch, and the discriminator's values as proposals; without one, `anyOf` (no branch can fail any more, so no
 * "matches multiple schemas" either).
 */
function union(node: Schema, branches: unknown[], root: Schema): Schema {
  const key = (node.discriminator as { propertyName?: unknown } | undefined)?.propertyName;
  if (typeof key !== 'string') return { anyOf: branches.map((b) => derive(b, root)) };
  const pairs: Schema[] = [];
  const proposals: Snippet[] = [];
  for (const branch of branches) {
    const property = (resolve(branch as Schema, root).properties as Schema | undefined)?.[key];
    if (!isSchema(property)) continue;
    for (const snippet of valueSnippets(property)) {
      proposals.push(snippet);
      pairs.push({
        if: { properties: { [key]: { const: snippet.body } }, required: [key] },
        then: derive(branch, root),
      });
    }
  }
  // the branch the file names describes its value (hover); here only the proposals
  return { properties: { [key]: { defaultSnippets: proposals } }, allOf: pairs };
}

/** The JSON language service's schema for model files: `schema` with every constraint left out (see above). */
export function jsonEditorSchema(schema: Schema): Schema {
  const derived = derive(schema, schema) as Schema;
  // its own identity: a schema registry must not take it for the model schema itself
  if (typeof derived.$id === 'string') derived.$id = derived.$id.replace(/\.schema\.json$/, '.json-editor.schema.json');
  return derived;
}
