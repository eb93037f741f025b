// A hostile experiment report, as a cloned repository could hold one: a report.html with SBN Studio's generator tag
// and the standalone page's fixed nonce whose scripts set a marker, and a train.json beside it whose strings carry
// markup — <script>, a `</script>` that would close a data element, event-handler attributes, javascript: URLs, the
// old nonce. Shared by test/unit/reportSecurity.test.ts, test/unit/webviewCsp.test.ts and the VS Code test.
import { REPORT_NONCE } from '../../../src/report/html';
import type { TrainSuiteReport } from '../../../src/engine/experiments/types';

/** What the crafted code would set or send if it ran. */
export const MARKER = 'sbn-crafted-code-ran';

/** Markup that must only ever reach a page as text. */
export const HOSTILE = [
  `<script>window.__crafted='${MARKER}'</script>`,
  `</script><script nonce="${REPORT_NONCE}">window.__crafted='${MARKER}'</script>`,
  `<img src=x onerror="window.__crafted='${MARKER}'">`,
  `<a href="javascript:window.__crafted='${MARKER}'">click</a>`,
  `<svg onload="window.__crafted='${MARKER}'"></svg>`,
  `javascript:window.__crafted='${MARKER}'`,
  `'nonce-${REPORT_NONCE}' <iframe srcdoc="<script>parent.__crafted=1</script>"></iframe>`,
];

/** A valid train report (every field as the page reads it) whose every free string is hostile. */
export function craftedTrainReport(): TrainSuiteReport {
  const h = (i: number) => HOSTILE[i % HOSTILE.length];
  return {
    format: 'sbn-experiment-train',
    version: 1,
    suite: h(0),
    title: `crafted ${h(1)}`,
    description: `${h(2)} ${h(3)}`,
    model: h(3),
    environment: {
      created: '2026-01-01T00:00:00.000Z',
      backend: h(4),
      kernels: h(5),
      cpu: h(6),
      cpus: 1,
      node: h(0),
      platform: h(1),
      command: h(2),
    },
    methods: [0, 1].map((k) => ({
      method: k === 0 ? 'psa' : h(3),
      label: `${k === 0 ? 'PSA' : 'other'} ${h(4 + k)}`,
      status: 'finished' as const,
      runDir: h(6),
      lr: 0.01,
      lrTrials: [
        { lr: 0.01, objective: 0.5, diverged: false },
        { lr: 0.1, objective: 0.4, diverged: false },
      ],
      epochs: 2,
      secondsPerEpoch: 1,
      curves: {
        train: { epoch: [1, 2], u_loss: [0.6, 0.5], acc1: [0.7, 0.8], acc_e: [0.75, 0.85] },
        validation: { epoch: [1, 2], u_loss: [0.65, 0.55], acc1: [0.7, 0.75], acc_e: [0.72, 0.8] },
        objective: { epoch: [1, 2], value: [0.7, 0.6] },
      },
      test: { split: h(k), samples: [1, 2], accuracy: [0.7, 0.75] },
      message: h(5 + k),
    })),
  };
}

/**
 * A report.html that passes the old check (the generator tag and `'nonce-sbn-report-nonce'`): showing it with the
 * nonce swapped ran its scripts. The script tells a VS Code host it ran (a `rendered` and an `error` message carrying
 * the marker) and sets a global in a browser.
 */
export function craftedReportHtml(): string {
  return `<!DOCTYPE html>
<html lang="en"><head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-${REPORT_NONCE}'">
<meta name="generator" content="SBN Studio">
<title>crafted</title>
</head><body>
<h1>crafted report</h1>
<script nonce="${REPORT_NONCE}">
window.__crafted = '${MARKER}';
if (typeof acquireVsCodeApi === 'function') {
  const api = acquireVsCodeApi();
  api.postMessage({ type: 'error', message: '${MARKER}' });
  api.postMessage({ type: 'rendered', points: { '${MARKER}': 1 }, charts: 99 });
}
</script>
</body></html>
`;
}
