// The experiment report page as HTML: one file, the result JSON and the page's script and styles inline under a
// nonce CSP. Kept apart from the writer (index.ts, which renders PNGs with playwright-core) so that the extension,
// which only shows reports (src/extension/panels/reportPanel.ts), bundles none of that.
import { randomBytes } from 'node:crypto';
import type { GradaccExperiment, TrainSuiteReport } from '../engine/experiments/types';
// pure (no vscode import): the panels' page builder
import { escapeHtml } from '../extension/panels/webviewHtml';

export type ExperimentData = GradaccExperiment | TrainSuiteReport;

/** The page's script and stylesheets (dist/webview/report.{js,css}, media/{webview,report}.css). */
export interface ReportAssets { script: string; styles: string[] }

/**
 * The nonce of the report's inline script and styles. A report is a static file, so the value is fixed; the
 * extension replaces it with a fresh one when it shows a report in a webview (src/extension/panels/reportPanel.ts).
 */
export const REPORT_NONCE = 'sbn-report-nonce';

/**
 * The report's HTML for a VS Code webview: a fresh nonce in its CSP and on every inline script and style. Undefined
 * when the text is not an SBN Studio report.
 */
export function webviewReportHtml(html: string, nonce = randomBytes(18).toString('base64').replace(/[+/=]/g, '')): string | undefined {
  if (!html.includes('<meta name="generator" content="SBN Studio">') || !html.includes(`'nonce-${REPORT_NONCE}'`)) return undefined;
  return html.split(REPORT_NONCE).join(nonce);
}

/** JSON that can sit inside <script>: no `</script>` or `<!--` can close or confuse it. */
function scriptSafeJson(data: unknown): string {
  return JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function reportTitle(data: ExperimentData): string {
  return data.format === 'sbn-experiment-gradacc'
    ? 'Experiment 1 — gradient accuracy (SBN Studio)'
    : `Experiment 2 — ${data.title} (SBN Studio)`;
}

/** The report page: one file, no network, scripts and styles inline under a nonce CSP. */
export function reportHtml(data: ExperimentData, assets: ReportAssets): string {
  const csp = `default-src 'none'; style-src 'nonce-${REPORT_NONCE}'; img-src data:; script-src 'nonce-${REPORT_NONCE}'`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="generator" content="SBN Studio">
<title>${escapeHtml(reportTitle(data))}</title>
${assets.styles.map((css) => `<style nonce="${REPORT_NONCE}">\n${css.replace(/<\/style/gi, '<\\/style')}\n</style>`).join('\n')}
</head>
<body>
<noscript>This report draws its charts with a script; the numbers are in the JSON file beside it.</noscript>
<div id="loading" class="loading">Drawing the report…</div>
<script type="application/json" id="report-data">${scriptSafeJson(data)}</script>
<script nonce="${REPORT_NONCE}">${assets.script.replace(/<\/script/gi, '<\\/script')}</script>
</body>
</html>
`;
}

