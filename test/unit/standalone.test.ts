// test-backends: one
// The repository stands alone: no file outside test/ may point at a folder beside the checkout (`../shared`) or at
// an absolute path of a development machine (/work/…, /root/…, /home/<user>/…, /Users/<user>/…, C:\Users\…,
// /tmp/…). Such a path works on the machine that wrote it and nowhere else: a fresh clone has no ../shared, and a
// comment citing /work/notes/x.md cites something no reader can open. Files are the ones git tracks (or, in a
// copy without .git, the tree minus what .gitignore leaves out); binary files are skipped.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './helpers/fixtures';

const root = repoRoot();

/** What is not allowed, each with why. The lookbehind keeps path fragments (`src/work/`, `a/tmp/`) out. */
const FORBIDDEN: { name: string; re: RegExp }[] = [
  // `../shared`, `..\shared` (also JSON-escaped) and path.join('..', 'shared')
  { name: 'a folder beside the checkout', re: /\.\.(?:\/|\\{1,2})shared\b|(['"])\.\.\1\s*,\s*(['"])shared\2/g },
  { name: 'a development machine path', re: /(?<![\w.~/-])\/(?:work|root)\//g },
  { name: 'a home folder', re: /(?<![\w.~/-])\/(?:home|Users)\/[\w.-]+\//g },
  { name: 'a Windows home folder', re: /\b[A-Za-z]:\\(?:\\)?Users\\/g },
  { name: 'a temporary file of one machine', re: /(?<![\w.~/-])\/tmp\//g },
];

// No allow-list: the patterns above are narrow enough that the system paths the product really uses —
// /usr/share/datasets/fashion-mnist (Debian's data package), /usr/bin/chromium, /proc/<pid>/stat, /dev/null,
// shebangs, ~/.cache — never match (the first test checks that). A file that needs one of the forbidden forms
// belongs under test/.

export interface Violation {
  line: number;
  text: string;
  what: string;
}

/** Every forbidden path in `text` (a file's content), with its line. */
export function machinePaths(text: string): Violation[] {
  const out: Violation[] = [];
  for (const { name, re } of FORBIDDEN) {
    for (const m of text.matchAll(re)) {
      const before = text.slice(0, m.index);
      const line = before.split('\n').length;
      // the match with some context (a data file may be one long line)
      const start = before.lastIndexOf('\n') + 1;
      const end = text.indexOf('\n', m.index) < 0 ? text.length : text.indexOf('\n', m.index);
      const from = Math.max(start, m.index - 60);
      const to = Math.min(end, m.index + m[0].length + 60);
      out.push({
        line,
        text: `${from > start ? '…' : ''}${text.slice(from, to).trim()}${to < end ? '…' : ''}`,
        what: name,
      });
    }
  }
  return out.sort((a, b) => a.line - b.line);
}

/** The repository's files: git's list, or (no .git: an unpacked archive) the tree minus what .gitignore names. */
function repositoryFiles(): { files: string[]; source: string } {
  const git = spawnSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' });
  if (git.status === 0 && git.stdout.length > 0)
    return { files: git.stdout.split('\0').filter(Boolean), source: 'git ls-files' };
  // Without git: skip dot-folders and the folders .gitignore lists by name (node_modules/, dist/, /runs/, …).
  const ignored = fs
    .readFileSync(path.join(root, '.gitignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !/[*?[]/.test(l))
    .map((l) => l.replace(/^\//, '').replace(/\/$/, ''));
  const files: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.name.startsWith('.') && e.name !== '.gitignore' && e.name !== '.vscodeignore') continue;
      if (ignored.includes(p) || ignored.includes(e.name)) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.push(p);
    }
  };
  walk('');
  return { files, source: 'the tree (no git checkout)' };
}

function isBinary(buf: Buffer): boolean {
  return buf.subarray(0, 8000).includes(0);
}

test('the path check finds what it must and leaves system paths alone', () => {
  const found = (text: string) => machinePaths(text).map((v) => v.what);
  assert.deepEqual(found('see ../shared/spec/notes.md'), ['a folder beside the checkout']);
  assert.deepEqual(
    found("path.join('..', 'shared', 'x')\nread('..\\\\shared\\\\x')\n\"..\\shared\""),
    Array(3).fill('a folder beside the checkout'),
  );
  assert.deepEqual(found('// measured in /work/shared/notes/x.md'), ['a development machine path']);
  assert.deepEqual(found('{"runDir":"/work/exp/a/runs/x"}'), ['a development machine path']);
  assert.deepEqual(found('cache in /root/.cache/sbn'), ['a development machine path']);
  assert.deepEqual(found('`/home/alice/data/mnist`'), ['a home folder']);
  assert.deepEqual(found('"/Users/bob/Downloads/x.json"'), ['a home folder']);
  assert.deepEqual(found('C:\\Users\\carol\\x'), ['a Windows home folder']);
  assert.deepEqual(found('sbn train --out /tmp/doc-runs'), ['a temporary file of one machine']);
  assert.equal(machinePaths('line 1\nline 2 /work/x\n')[0].line, 2);
  for (const fine of [
    '/usr/share/datasets/fashion-mnist',
    '/usr/bin/chromium',
    '#!/usr/bin/env node',
    '/proc/self/stat',
    '/dev/null',
    'src/work/x.ts',
    'experiments/tmp/x',
    'https://example.org/home/',
    'os.tmpdir()',
    '~/.cache/sbn-studio',
    '${XDG_CACHE_HOME:-~/.cache}',
    'reference/authors-psa-neurips2020',
    '../../docs/results.md',
    'shared weights',
  ])
    assert.deepEqual(machinePaths(fine), [], fine);
});

test('no file outside test/ refers to ../shared or to an absolute path of a development machine', () => {
  const { files, source } = repositoryFiles();
  assert.ok(files.length > 100, `${source} listed only ${files.length} files`);
  const problems: string[] = [];
  let scanned = 0;
  for (const file of files) {
    if (file.startsWith('test/')) continue;
    const full = path.join(root, file);
    if (!fs.statSync(full, { throwIfNoEntry: false })?.isFile()) continue; // deleted in the work tree
    const buf = fs.readFileSync(full);
    if (isBinary(buf)) continue;
    scanned++;
    for (const v of machinePaths(buf.toString('utf8'))) problems.push(`${file}:${v.line}: ${v.what}: ${v.text}`);
  }
  assert.ok(scanned > 100, `only ${scanned} text files scanned`);
  assert.deepEqual(
    problems,
    [],
    `${problems.length} machine-specific path(s) (from ${source}); use a path inside the repository:\n` +
      problems.join('\n'),
  );
});
