// The schema's description of every key written in the file, for hovers: what VS Code's JSON service shows in a
// JSON model file (from the same schema), given to YAML model files, which VS Code has no schema support for.
import { modelSchema } from '../../../engine/spec/validate';
import type { Segment } from '../../../engine/spec/sourceMap';
import { schemasAt, textOf } from '../yamlCompletion';
import { get, locate, type Context } from './context';
import type { FieldInfo } from './types';

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Markdown for the value at `path`: its description, and for a value the schema lists, what that value means. */
function describe(value: unknown, path: Segment[]): string | undefined {
  const nodes = path.map((_, k) => get(value, path.slice(0, k)));
  nodes.push(get(value, path));
  const schemas = schemasAt(path, nodes, modelSchema);
  const text = schemas.map(textOf).find((t) => t !== undefined);
  const written = nodes[nodes.length - 1];
  let meaning: string | undefined;
  for (const s of schemas) {
    const docs = (s.markdownEnumDescriptions ?? s.enumDescriptions) as unknown[] | undefined;
    const i = Array.isArray(s.enum) ? s.enum.indexOf(written) : -1;
    if (i >= 0 && typeof docs?.[i] === 'string') meaning = `\`${String(written)}\`: ${docs[i]}`;
    else if ('const' in s && s.const === written && s.description !== text) meaning ??= textOf(s);
    if (meaning) break;
  }
  const parts = [text, meaning].filter((p): p is string => p !== undefined);
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}

/**
 * Every key of the file with its description: the range is the whole member (key and value) for a scalar value, the
 * key alone for an object or a list, whose own keys have hovers of their own.
 */
export function fieldsOf(ctx: Context): FieldInfo[] {
  const out: FieldInfo[] = [];
  const walk = (node: unknown, path: Segment[]): void => {
    if (Array.isArray(node)) node.forEach((item, i) => walk(item, [...path, i]));
    if (!isObject(node)) return;
    for (const [key, child] of Object.entries(node)) {
      const at = [...path, key];
      const range = locate(ctx, at, child !== null && typeof child === 'object' ? 'key' : 'member');
      const markdown = range && describe(ctx.value, at);
      if (range && markdown) out.push({ range, markdown });
      walk(child, at);
    }
  };
  walk(ctx.value, []);
  return out;
}
