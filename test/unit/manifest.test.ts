// test-backends: one
// The extension manifest (package.json) as the Marketplace, Open VSX and VS Code read it: every user-facing string
// of `contributes` (and the Restricted Mode description) comes from package.nls.json as a %key%, every %key% has its
// text there and every text is used; the files the manifest points to exist; the icon is a 128×128 (or larger,
// square) PNG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
const nls = JSON.parse(readFileSync(join(ROOT, 'package.nls.json'), 'utf8')) as Record<string, string>;

/** Keys whose values people read: titles, descriptions, names, alt texts, welcome contents, enum descriptions. */
const USER_FACING = new Set([
  'title',
  'description',
  'markdownDescription',
  'name',
  'contextualTitle',
  'category',
  'altText',
  'contents',
  'label',
  'shortTitle',
  'enumDescriptions',
  'markdownEnumDescriptions',
  'deprecationMessage',
  'markdownDeprecationMessage',
  'placeholder',
  'tooltip',
]);
const PLACEHOLDER = /^%([^%\s]+)%$/;

interface Found {
  where: string;
  value: string;
}

/** Every string under a user-facing key (strings of arrays under such keys too), with its JSON path. */
function userFacing(node: unknown, where: string, out: Found[] = [], facing = false): Found[] {
  if (typeof node === 'string') {
    if (facing) out.push({ where, value: node });
  } else if (Array.isArray(node)) {
    node.forEach((v, i) => userFacing(v, `${where}[${i}]`, out, facing));
  } else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      // `properties` of a configuration or task definition are named by setting ids, never shown as such
      userFacing(
        v,
        `${where}.${k}`,
        out,
        USER_FACING.has(k) && !(typeof v === 'object' && v !== null && !Array.isArray(v)),
      );
    }
  }
  return out;
}

/** Every %key% anywhere in the manifest. */
function placeholders(node: unknown, out = new Set<string>()): Set<string> {
  if (typeof node === 'string') {
    const m = PLACEHOLDER.exec(node);
    if (m) out.add(m[1]);
  } else if (node !== null && typeof node === 'object') {
    for (const v of Object.values(node)) placeholders(v, out);
  }
  return out;
}

test('every user-facing string of contributes is a %key% of package.nls.json', () => {
  const found = [
    ...userFacing(manifest.contributes, 'contributes'),
    ...userFacing(
      (manifest.capabilities as Record<string, unknown>).untrustedWorkspaces,
      'capabilities.untrustedWorkspaces',
    ),
  ];
  assert.ok(found.length > 50, `only ${found.length} user-facing strings found: the walk is broken`);
  const literal = found.filter((f) => !PLACEHOLDER.test(f.value));
  assert.deepEqual(
    literal.map((f) => `${f.where}: ${JSON.stringify(f.value)}`),
    [],
    'literal user-facing strings (move them to package.nls.json)',
  );
  const missing = found.map((f) => ({ ...f, key: PLACEHOLDER.exec(f.value)![1] })).filter((f) => !(f.key in nls));
  assert.deepEqual(
    missing.map((f) => `${f.where}: %${f.key}%`),
    [],
    'keys missing from package.nls.json',
  );
});

test('the walk catches a literal string and a missing key (the test can fail)', () => {
  const bad = {
    commands: [{ command: 'x', title: 'Literal Title', category: '%nope.missing%' }],
    walkthroughs: [{ steps: [{ media: { altText: 'alt' } }] }],
  };
  const found = userFacing(bad, 'contributes');
  assert.deepEqual(
    found.map((f) => f.where),
    [
      'contributes.commands[0].title',
      'contributes.commands[0].category',
      'contributes.walkthroughs[0].steps[0].media.altText',
    ],
  );
  assert.ok(!('nope.missing' in nls));
});

test('every %key% in package.json has its text, and every text of package.nls.json is used', () => {
  const used = placeholders(manifest);
  assert.deepEqual(
    [...used].filter((k) => typeof nls[k] !== 'string' || nls[k].trim() === ''),
    [],
  );
  assert.deepEqual(
    Object.keys(nls).filter((k) => !used.has(k)),
    [],
    'unused keys in package.nls.json',
  );
});

test('the files the manifest points to exist: icon, activity-bar icon, schema, walkthrough media', () => {
  const contributes = manifest.contributes as {
    viewsContainers: { activitybar: { icon: string }[] };
    jsonValidation: { url: string }[];
    yamlValidation: { url: string; fileMatch: string }[];
    walkthroughs: { steps: { media: { image?: string; markdown?: string } }[] }[];
  };
  const files = [
    manifest.icon as string,
    ...contributes.viewsContainers.activitybar.map((c) => c.icon),
    ...contributes.jsonValidation.map((v) => v.url),
    ...contributes.yamlValidation.map((v) => v.url),
    ...contributes.walkthroughs.flatMap((w) =>
      w.steps.flatMap((s) => [s.media.image, s.media.markdown].filter((f): f is string => !!f)),
    ),
  ];
  for (const f of files) assert.ok(existsSync(join(ROOT, f)), `${f} does not exist`);
  // model files and sweep files, each with its own schema
  assert.deepEqual(contributes.yamlValidation.map((v) => `${v.fileMatch} ${v.url}`).sort(), [
    '*.sbn-sweep.yaml ./schemas/sbn-sweep.schema.json',
    '*.sbn-sweep.yml ./schemas/sbn-sweep.schema.json',
    '*.sbn.yaml ./schemas/sbn-model.schema.json',
    '*.sbn.yml ./schemas/sbn-model.schema.json',
  ]);
});

test("the icon is a square PNG of at least 128×128 pixels; the links share the repository's base", () => {
  const png = readFileSync(join(ROOT, manifest.icon as string));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
  assert.ok(width === height && width >= 128, `${width}×${height}`);
  const base = (manifest.repository as { url: string }).url.replace(/\.git$/, '');
  assert.match(base, /^https:\/\/github\.com\/[\w.-]+\/[\w.-]+$/);
  assert.ok((manifest.homepage as string).startsWith(base), 'homepage');
  assert.ok((manifest.bugs as { url: string }).url.startsWith(base), 'bugs');
});
