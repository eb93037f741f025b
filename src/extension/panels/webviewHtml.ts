// The HTML and Content-Security-Policy of every SBN webview panel. No vscode import: test/unit/webviewCsp.test.ts
// loads the production page through this same function in headless Chromium.
//
// CSP (docs/testing.md, "Webview behaviour the panels rely on"; VS Code 1.100.3): nothing by default; stylesheets, images
// and fonts only from the webview's own resource origin (`webview.cspSource`, i.e. files under localResourceRoots
// via asWebviewUri); scripts only with this page's nonce. No 'unsafe-inline' anywhere: the scripts style elements
// through the CSSOM (element.style), which the policy allows, and @vscode-elements uses constructable stylesheets.
import { randomBytes } from 'node:crypto';

export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[+/=]/g, '');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `style-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface PanelHtmlOptions {
  /** `webview.cspSource` */
  cspSource: string;
  nonce: string;
  title: string;
  /** Script URIs (asWebviewUri of dist/webview/*.js), loaded with the nonce, in order, at the end of the body. */
  scripts: string[];
  /** Stylesheet URIs (media/webview.css, dist/webview/*.css). */
  styles: string[];
  /** Shown until the script has run (a page that stays like this means the script was blocked or failed). */
  loadingText?: string;
}

export function panelHtml(o: PanelHtmlOptions): string {
  const links = o.styles.map((s) => `  <link rel="stylesheet" href="${escapeHtml(s)}">`).join('\n');
  const scripts = o.scripts.map((s) => `  <script nonce="${o.nonce}" src="${escapeHtml(s)}"></script>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(o.cspSource, o.nonce)}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
${links}
  <title>${escapeHtml(o.title)}</title>
</head>
<body>
  <noscript>This panel needs scripts.</noscript>
  <div id="loading" class="loading">${escapeHtml(o.loadingText ?? 'Loading…')}</div>
${scripts}
</body>
</html>
`;
}
