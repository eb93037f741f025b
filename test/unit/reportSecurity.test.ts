// test-backends: one
// SBN: Open Experiment Report shows untrusted workspace content: the report panel's page carries only the
// extension's own script (fresh nonce, strict CSP), none of the report's data is in the HTML (it travels as JSON in a
// message), and a file that is not a valid report gets one clear line naming the file and the field.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseReportData, reportPanelHtml, reportTitle, REPORT_NONCE } from '../../src/report';
import { escapeHtml } from '../../src/html';
import { craftedTrainReport, HOSTILE, MARKER } from './helpers/craftedReport';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './helpers/fixtures';

const PAGE = {
  cspSource: 'https://webview.test',
  nonce: 'fresh0nonce0123456789',
  script: 'https://webview.test/dist/webview/report.js',
  styles: ['https://webview.test/media/webview.css', 'https://webview.test/media/report.css'],
};

test(
  "report panel page: only the extension's script, " + 'a fresh nonce, the crafted title as escaped text, no data',
  () => {
    const parsed = parseReportData(JSON.stringify(craftedTrainReport()), '/ws/train.json');
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.message);
    const html = reportPanelHtml(parsed.data, PAGE);
    // exactly two script elements, both with this page's nonce: the load guard (inline, src/panelLoadGuard.ts) and
    // ours, by URL
    assert.deepEqual(
      [...html.matchAll(/<script\b[^>]*>/gi)].map((m) => m[0]),
      [`<script nonce="${PAGE.nonce}">`, `<script nonce="${PAGE.nonce}" src="${PAGE.script}">`],
    );
    assert.match(html, new RegExp(`script-src 'nonce-${PAGE.nonce}'`));
    // the standalone page's fixed nonce is in no attribute or policy (the crafted title holds it, escaped, as text)
    assert.ok(!html.includes(`nonce="${REPORT_NONCE}"`) && !html.includes(`'nonce-${REPORT_NONCE}'`));
    assert.equal(
      /content="([^"]*)"/.exec(html)?.[1],
      `default-src 'none'; style-src ${PAGE.cspSource}; img-src ${PAGE.cspSource} data:; ` +
        `font-src ${PAGE.cspSource}; script-src 'nonce-${PAGE.nonce}'`,
    );
    // only the page's own elements: the crafted markup made no element and no attribute
    const tags = new Set([...html.matchAll(/<([a-zA-Z][\w-]*)/g)].map((m) => m[1].toLowerCase()));
    assert.deepEqual([...tags].sort(), ['body', 'div', 'head', 'html', 'link', 'meta', 'noscript', 'script', 'title']);
    assert.doesNotMatch(html, /\son\w+\s*=|javascript:\s*window/i);
    assert.equal(html.split(MARKER).length - 1, 1, 'the marker appears only in the escaped title');
    assert.ok(html.includes(`<title>${escapeHtml(reportTitle(parsed.data))}</title>`));
    // none of the data but the title is in the page: the strings of the methods, environment, messages are absent
    for (const s of ['"methods"', 'PSA', 'other', '0.6', '&lt;img'])
      assert.ok(!html.includes(s), `${s} is in the HTML`);
  },
);

test('report data: markup in strings stays a string; every hostile string survives the check unchanged', () => {
  const report = craftedTrainReport();
  const parsed = parseReportData(JSON.stringify(report), 'train.json');
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.data, report);
  const text = JSON.stringify(parsed.data);
  for (const h of HOSTILE) assert.ok(text.includes(JSON.stringify(h).slice(1, -1)));
});

test('report data: a file that is not a valid report gets one line naming the file and the field', () => {
  const good = craftedTrainReport();
  const bad = (mutate: (r: Record<string, unknown>) => void): string => {
    const r = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
    mutate(r);
    return JSON.stringify(r);
  };
  const cases: [string, RegExp][] = [
    [
      '<!DOCTYPE html><html><script>x</script></html>',
      /^f\.json: not an SBN experiment report: the file is not valid JSON/,
    ],
    ['', /not valid JSON/],
    ['[1, 2]', /: the file: expected an object, got an array$/],
    [
      bad((r) => {
        r.format = 'sbn-experiment-other';
      }),
      /format: expected "sbn-experiment-gradacc" or "sbn-experiment-train".*got "sbn-experiment-other"$/,
    ],
    [
      bad((r) => {
        r.version = 2;
      }),
      /version: expected 1 .*got 2$/,
    ],
    [
      bad((r) => {
        (r.methods as Record<string, unknown>[])[1].label = { toString: 'x' };
      }),
      /methods\[1\]\.label: expected a string, got an object$/,
    ],
    [
      bad((r) => {
        (r.methods as Record<string, unknown>[])[0].lr = '1e-3';
      }),
      /methods\[0\]\.lr: expected a number, got "1e-3"$/,
    ],
    [
      bad((r) => {
        (r.methods as { curves: { train: { u_loss: unknown[] } } }[])[0].curves.train.u_loss[1] = '<b>';
      }),
      /methods\[0\]\.curves\.train\.u_loss\[1\]: expected a number or null, got "<b>"$/,
    ],
    [
      bad((r) => {
        (r.methods as Record<string, unknown>[])[0].status = '<script>';
      }),
      /methods\[0\]\.status: expected one of pending, running/,
    ],
    [
      bad((r) => {
        delete (r.environment as Record<string, unknown>).command;
      }),
      /environment\.command: expected a string, got an undefined$/,
    ],
    [
      bad((r) => {
        (r.methods as Record<string, unknown>[])[0].test = 'x'.repeat(100);
      }),
      /methods\[0\]\.test: expected an object, got a long string$/,
    ],
  ];
  for (const [text, expected] of cases) {
    const parsed = parseReportData(text, 'f.json');
    assert.equal(parsed.ok, false, text.slice(0, 80));
    if (!parsed.ok) {
      assert.match(parsed.message, expected);
      assert.ok(parsed.message.startsWith('f.json: ') && !parsed.message.includes('\n'), parsed.message);
    }
  }
  // NaN and ∞ in a diverged run's curves are written as null: accepted
  const withNull = bad((r) => {
    (r.methods as { curves: { validation: { u_loss: unknown[] } } }[])[0].curves.validation.u_loss[1] = null;
  });
  assert.ok(parseReportData(withNull, 'f.json').ok);
});

test('report data: a gradient-accuracy report with unequal layer counts is refused (the page draws per layer)', () => {
  const layer = (name: string) => ({
    layer: name,
    cos: [1],
    cosQ15: [1],
    cosQ85: [1],
    rmse: [0],
    trials: [1],
    cosStd: [0],
    sqErrStd: [0],
  });
  const report = {
    format: 'sbn-experiment-gradacc',
    version: 1,
    draws: 10,
    seed: 1,
    M: [1],
    environment: {
      created: 'c',
      backend: 'b',
      kernels: 'k',
      cpu: 'c',
      cpus: 1,
      node: 'n',
      platform: 'p',
      command: 'sbn',
    },
    checkpoints: [
      {
        id: 'a',
        title: 't',
        source: 'authors',
        epoch: 1,
        findings: ['<script>f</script>'],
        result: {
          model: 'm',
          draws: 10,
          seed: 1,
          M: [1],
          exactLoss: 0.5,
          exactNorms: [{ layer: 'l1', norm: 1 }],
          estimators: [{ label: 'psa', estimator: 'psa', loss: 0.5, seconds: 1, layers: [layer('l1'), layer('l2')] }],
        },
      },
    ],
  };
  assert.ok(parseReportData(JSON.stringify(report), 'gradacc.json').ok);
  report.checkpoints[0].result.estimators.push({
    label: 'arm',
    estimator: 'arm',
    loss: 0.5,
    seconds: 1,
    layers: [layer('l1')],
  });
  const parsed = parseReportData(JSON.stringify(report), 'gradacc.json');
  assert.ok(
    !parsed.ok && /checkpoints\[0\]\.result\.estimators\[1\]\.layers: expected 2 layers/.test(parsed.message),
    JSON.stringify(parsed),
  );
});

test('report data: the published results (docs/results/*.json, both experiments) pass the check', () => {
  const dir = path.join(repoRoot(), 'docs', 'results');
  // (other JSON there, e.g. format sbn-supplement, is not an experiment report)
  const files = fs
    .readdirSync(dir)
    .filter(
      (f) =>
        f.endsWith('.json') &&
        /"format":\s*"sbn-experiment-/.test(fs.readFileSync(path.join(dir, f), 'utf8').slice(0, 200)),
    );
  assert.ok(files.length >= 2);
  const formats = new Set<string>();
  for (const f of files) {
    const parsed = parseReportData(fs.readFileSync(path.join(dir, f), 'utf8'), f);
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.message);
    if (parsed.ok) formats.add(parsed.data.format);
  }
  assert.deepEqual([...formats].sort(), ['sbn-experiment-gradacc', 'sbn-experiment-train']);
});
