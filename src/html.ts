// The HTML of every SBN page: the webview panels' page (panelHtml), the experiment report's standalone page
// (src/report/html.ts) and the SVG export of the webview charts (webview/common/) escape text and build their
// Content-Security-Policy here. Pure and free of Node and vscode imports, so that the webview scripts share it;
// test/unit/webviewCsp.test.ts loads the production panel page through panelHtml in headless Chromium.
//
// Panel CSP (docs/testing.md, "Webview behaviour the panels rely on"; VS Code 1.100.3): nothing by default;
// stylesheets, images and fonts only from the webview's own resource origin (`webview.cspSource`, i.e. files under
// localResourceRoots via asWebviewUri); scripts only with this page's nonce. No 'unsafe-inline' anywhere: the scripts
// style elements through the CSSOM (element.style), which the policy allows, and @vscode-elements uses constructable
// stylesheets. The one inline script, before everything the page loads, is the load guard (src/panelLoadGuard.ts):
// a page whose script or stylesheets fail to load says so and retries them.
import { loadGuardScript, type LoadGuardOptions } from './panelLoadGuard';

/** Text or an attribute value as HTML (or XML) that cannot open or close markup. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A fresh nonce for a page's scripts: 18 random bytes, base64 without `+`, `/` and `=`. */
export function makeNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replace(/[+/=]/g, '');
}

/** Where a page may load from; anything not named is refused (`default-src 'none'`). */
export interface CspSources {
  style: string;
  img: string;
  /** No fonts when absent. */
  font?: string;
  /** No scripts when absent (a page drawn entirely on the host, like the sweep report). */
  script?: string;
}

/** The Content-Security-Policy of a page: nothing by default, then the given sources. */
export function contentSecurityPolicy(src: CspSources): string {
  return [
    "default-src 'none'",
    `style-src ${src.style}`,
    `img-src ${src.img}`,
    ...(src.font !== undefined ? [`font-src ${src.font}`] : []),
    ...(src.script !== undefined ? [`script-src ${src.script}`] : []),
  ].join('; ');
}

/** The `<meta>` element that puts a policy in force. */
export function cspMeta(policy: string): string {
  return `<meta http-equiv="Content-Security-Policy" content="${policy}">`;
}

/** The policy of a webview panel: resources from the webview's origin, scripts with this page's nonce. */
export function panelCsp(cspSource: string, nonce: string): string {
  return contentSecurityPolicy({
    style: cspSource,
    img: `${cspSource} data:`,
    font: cspSource,
    script: `'nonce-${nonce}'`,
  });
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
  /** When the page's files count as failed and how it retries them (src/panelLoadGuard.ts; default LOAD_GUARD). */
  loadGuard?: LoadGuardOptions;
}

export function panelHtml(o: PanelHtmlOptions): string {
  const links = o.styles.map((s) => `  <link rel="stylesheet" href="${escapeHtml(s)}">`).join('\n');
  const scripts = o.scripts.map((s) => `  <script nonce="${o.nonce}" src="${escapeHtml(s)}"></script>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  ${cspMeta(panelCsp(o.cspSource, o.nonce))}
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <script nonce="${o.nonce}">${loadGuardScript(o.loadGuard)}</script>
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
