// The experiment report page as HTML, for browsers: one file, the result JSON and the page's script and styles
// inline under a nonce CSP. The extension does not show this file (a report.html in a workspace is untrusted): its
// report panel (src/extension/panels/reportPanel.ts) reads the JSON beside it (data.ts) and draws it with the
// extension's own page.
import { contentSecurityPolicy, cspMeta, escapeHtml, panelHtml } from '../html';
import { reportTitle, type ExperimentData } from './data';

export type { ExperimentData } from './data';

/** The page's script and stylesheets (dist/webview/report.{js,css}, media/{webview,report}.css). */
export interface ReportAssets {
  script: string;
  styles: string[];
}

/**
 * The report panel's page in the extension (src/extension/panels/reportPanel.ts): the panels' page (strict CSP, a
 * fresh nonce, the extension's own script and styles) with the report's title as escaped text. None of the report's
 * data is in it: the host sends the data in a `report` message once the page says `ready`.
 */
export function reportPanelHtml(
  data: ExperimentData,
  page: { cspSource: string; nonce: string; script: string; styles: string[] },
): string {
  return panelHtml({
    cspSource: page.cspSource,
    nonce: page.nonce,
    title: reportTitle(data),
    scripts: [page.script],
    styles: page.styles,
    loadingText: 'Drawing the report…',
  });
}

/** The nonce of the report's inline script and styles: a report is a static file, so the value is fixed. */
export const REPORT_NONCE = 'sbn-report-nonce';

/** JSON that can sit inside <script>: no `</script>` or `<!--` can close or confuse it. */
function scriptSafeJson(data: unknown): string {
  return JSON.stringify(data)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A standalone report page up to its <title>: doctype, charset, its CSP, viewport, generator, the title. */
export function reportPageHead(csp: string, title: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
${cspMeta(csp)}
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="generator" content="SBN Studio">
<title>${escapeHtml(title)}</title>`;
}

/** The report page: one file, no network, scripts and styles inline under a nonce CSP. */
export function reportHtml(data: ExperimentData, assets: ReportAssets): string {
  const nonce = `'nonce-${REPORT_NONCE}'`;
  const csp = contentSecurityPolicy({ style: nonce, img: 'data:', script: nonce });
  return `${reportPageHead(csp, reportTitle(data))}
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
