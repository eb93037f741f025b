// test-backends: one
// Section citations point at docs/math.md, and at sections it has. In this repository "§N" always cites a section
// of docs/math.md (code comments write `docs/math.md §2.3.2`, docs link `[math §2.3.2](math.md#232-formulas)`, the
// schema's descriptions say "(docs/math.md §4.5)"), so every §-number in a git-tracked file must be the number of a
// heading there, every `math.md#anchor` link must name one of its headings (GitHub's anchor rules), a link whose
// text cites §N must land on heading N, and nothing may cite the former internal specification (the paper-spec
// file, "spec §…"), which a clone of the repository does not have.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from './helpers/fixtures';

const root = repoRoot();
const MATH = 'docs/math.md';
const SELF = 'test/unit/mathCitations.test.ts';

/** GitHub's heading anchor: lower case, punctuation and symbols dropped, spaces to hyphens, repeats numbered. */
function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

interface MathHeadings {
  /** section number (e.g. "2.3.4") → anchor */
  sections: Map<string, string>;
  anchors: Set<string>;
}

function mathHeadings(markdown: string): MathHeadings {
  const sections = new Map<string, string>();
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    if (fence) continue;
    const m = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = githubSlug(m[1]);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    const anchor = count === 0 ? base : `${base}-${count}`;
    anchors.add(anchor);
    const num = /^(\d+(?:\.\d+)*)\s/.exec(m[1]);
    if (num) sections.set(num[1], anchor);
  }
  return { sections, anchors };
}

const FORBIDDEN: { pattern: RegExp; what: string }[] = [
  { pattern: /\bspec\s*(§|\\u00a7)/i, what: 'a "spec §" citation (cite docs/math.md §N instead)' },
  { pattern: /paper-spec/i, what: 'a reference to the former internal specification (cite docs/math.md instead)' },
  { pattern: /§\s*\d+(?:\.\d+)*\s+item\s+\d/, what: 'a "§N item M" citation (docs/math.md numbers these §N.M)' },
];

/** Every problem with the citations in one file's text, as "file:line: message". */
function citationProblems(file: string, text: string, math: MathHeadings): string[] {
  const problems: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    for (const f of FORBIDDEN) if (f.pattern.test(line)) problems.push(`${where}: ${f.what}`);
    // "§N", a range "§N–M" / "§N–§M", and JSON's escaped form
    for (const m of line.matchAll(/(?:§|\\u00a7)\s*(\d+(?:\.\d+)*)(?:\s*[–-]\s*(?:§|\\u00a7)?\s*(\d+(?:\.\d+)*))?/g)) {
      for (const num of [m[1], m[2]]) {
        if (num !== undefined && !math.sections.has(num))
          problems.push(`${where}: §${num} is not a section of ${MATH}`);
      }
    }
    // links to docs/math.md: [text](math.md#anchor), ../docs/math.md#anchor, and in-page links inside math.md
    const linkPattern =
      file === MATH ? /\[([^\]]*)\]\(#([^)\s]+)\)/g : /\[([^\]]*)\]\((?:[^)\s]*\/)?math\.md#([^)\s]+)\)/g;
    for (const m of line.matchAll(linkPattern)) {
      const [, label, anchor] = m;
      if (!math.anchors.has(anchor)) {
        problems.push(`${where}: math.md#${anchor} is not a heading of ${MATH}`);
        continue;
      }
      const cited = /§\s*(\d+(?:\.\d+)*)/.exec(label);
      if (cited && math.sections.get(cited[1]) !== anchor) {
        problems.push(`${where}: the link "${label}" cites §${cited[1]} but points at #${anchor}`);
      }
    }
  });
  return problems;
}

function trackedTextFiles(): string[] | string {
  const r = spawnSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0 || r.error)
    return `git ls-files failed here (${r.error?.message ?? r.stderr.trim()}): not a git checkout`;
  return r.stdout.split('\0').filter((f) => f.length > 0 && f !== SELF && fs.existsSync(path.join(root, f)));
}

const tracked = trackedTextFiles();

test('docs/math.md has the numbered sections the code cites, each with its own anchor', () => {
  const math = mathHeadings(fs.readFileSync(path.join(root, MATH), 'utf8'));
  for (const n of [
    '1.1',
    '1.4',
    '2.0',
    '2.3',
    '2.3.2',
    '2.3.4',
    '2.3.6',
    '2.10',
    '3.2',
    '3.3',
    '4.2',
    '4.5',
    '4.7',
    '5.1',
    '5.14',
    '6',
    '7',
  ]) {
    assert.ok(math.sections.has(n), `${MATH} has no heading numbered ${n}`);
  }
  assert.equal(new Set(math.sections.values()).size, math.sections.size, 'two numbered headings share an anchor');
  assert.equal(math.sections.get('2.3.4'), '234-conv-layers-and-the-ratio-convolution');
});

test('the checker finds bad citations (a planted one in each form)', () => {
  const math = mathHeadings('# T\n## 2 Estimators\n### 2.3 PSA: path sample-analytic\n#### 2.3.2 Formulas\n');
  assert.deepEqual(
    citationProblems(
      'ok.ts',
      '// docs/math.md §2.3.2 and §2.3, §2–2.3\n[math §2.3](math.md#23-psa-path-sample-analytic)',
      math,
    ),
    [],
  );
  const bad = [
    '// see docs/math.md §2.4',
    '// ranges count too: docs/math.md §2.3–§2.9',
    '"description": "x (docs/math.md \\u00a79.1)"',
    '[math §2.3.2](math.md#232-formula)',
    '[math §2.3](math.md#232-formulas)',
    '// spec §2.3',
    '// docs/math.md §2 item 3',
    'The math contract is ../shared/spec/paper-spec.md',
  ];
  for (const line of bad) assert.equal(citationProblems('bad.ts', line, math).length > 0, true, `not flagged: ${line}`);
  assert.match(
    citationProblems('bad.ts', 'x\n// docs/math.md §2.4', math)[0],
    /^bad\.ts:2: §2\.4 is not a section of docs\/math\.md$/,
  );
});

test(
  'every § citation and math.md link in the tracked files names a heading of docs/math.md; ' +
    'no "spec §" or paper-spec remains',
  { skip: typeof tracked === 'string' ? tracked : false },
  () => {
    const files = tracked as string[];
    assert.ok(files.includes(MATH), `${MATH} is not tracked`);
    const math = mathHeadings(fs.readFileSync(path.join(root, MATH), 'utf8'));
    const problems: string[] = [];
    let cited = 0;
    for (const file of files) {
      const buf = fs.readFileSync(path.join(root, file));
      if (buf.includes(0)) continue; // binary
      const text = buf.toString('utf8');
      cited += (text.match(/§|\\u00a7/g) ?? []).length;
      problems.push(...citationProblems(file, text, math));
    }
    assert.deepEqual(problems, []);
    assert.ok(cited > 100, `only ${cited} § citations found in the tracked files: is the file list right?`);
  },
);
