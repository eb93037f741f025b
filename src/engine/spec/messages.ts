// Words for error messages: what a value is ("got …"), what a schema wants ("expected …"), and
// "did you mean" suggestions.

type Schema = Record<string, unknown>;

/** `"pm2"`, `0`, `an array`, `an object`, `nothing`. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 37) + '...' : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length === 0 ? 'an empty array' : 'an array';
  return 'an object';
}

/** `"a", "b" or "c"` */
export function listValues(values: readonly unknown[], conjunction = 'or'): string {
  const shown = values.map((v) => JSON.stringify(v));
  return shown.length <= 1
    ? shown.join('')
    : `${shown.slice(0, -1).join(', ')} ${conjunction} ${shown[shown.length - 1]}`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

/** What a schema accepts, in words: `an integer ≥ 1`, `one of "pm1" or "01"`, `a non-empty array`. */
export function describeSchema(schema: Schema | undefined, resolve: (s: Schema) => Schema = (s) => s): string {
  if (!schema) return 'a value';
  const s = resolve(schema);
  // A schema's own words (unions and arrays that no keyword describes well), as VS Code shows them.
  if (typeof s.errorMessage === 'string') return s.errorMessage;
  if (Array.isArray(s.enum)) return s.enum.length === 1 ? JSON.stringify(s.enum[0]) : `one of ${listValues(s.enum)}`;
  if ('const' in s) return JSON.stringify(s.const);
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
  if (types.length !== 1) return types.length ? types.map((t) => ARTICLE[t] ?? t).join(' or ') : 'a value';
  const t = types[0];
  if (t === 'integer' || t === 'number') {
    const bounds = [
      typeof s.minimum === 'number' ? `≥ ${s.minimum}` : '',
      typeof s.exclusiveMinimum === 'number' ? `> ${s.exclusiveMinimum}` : '',
      typeof s.maximum === 'number' ? `≤ ${s.maximum}` : '',
      typeof s.exclusiveMaximum === 'number' ? `< ${s.exclusiveMaximum}` : '',
    ].filter(Boolean);
    return bounds.length > 0 ? `${ARTICLE[t]} ${bounds.join(' and ')}` : ARTICLE[t];
  }
  if (t === 'string') {
    if (typeof s.patternErrorMessage === 'string') return s.patternErrorMessage;
    const most = typeof s.maxLength === 'number' ? ` of at most ${plural(s.maxLength, 'character')}` : '';
    return typeof s.minLength === 'number' && s.minLength > 0 ? `a non-empty string${most}` : `a string${most}`;
  }
  if (t === 'array') {
    const min = typeof s.minItems === 'number' ? s.minItems : 0;
    const max = typeof s.maxItems === 'number' ? s.maxItems : undefined;
    if (max !== undefined && min === max) return `an array of exactly ${plural(min, 'item')}`;
    const atLeast =
      min <= 0 ? 'an array' : min === 1 ? 'a non-empty array' : `an array of at least ${plural(min, 'item')}`;
    return max !== undefined ? `${atLeast} of at most ${plural(max, 'item')}` : atLeast;
  }
  if (t === 'object' && Array.isArray(s.required) && s.required.length > 0) {
    return `an object with ${listValues(s.required, 'and')}`;
  }
  return ARTICLE[t] ?? t;
}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** The closest candidate within edit distance 2 (case-insensitive), if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    if (Math.abs(c.length - word.length) >= bestDistance) continue;
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}
