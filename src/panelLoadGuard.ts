// What a panel page does when its script or a stylesheet does not load (issue 18, item 8: after a window reload a
// panel stayed "Loading…" because its requests failed). panelHtml (src/html.ts) puts this script inline, under the
// page's nonce, before any <link> or <script src>, so it runs even when every file of the page fails.
//
// It watches the page's files (load and error events, caught on the way down to the element), and when the window
// has loaded, or after `timeoutMs` for a request that hangs, it checks them: a stylesheet without a sheet, a script
// that failed, or the page's script not run (the #loading element is still there: webview/common/vscodeApi.ts
// removes it) count as not loaded. Then it says so in a line at the top of the page, tells the host (`loadProblem`,
// logged to the extension's output channel) and loads those files again, with a query that no cache has seen, after
// each of `retryDelaysMs`. When they load it removes the line (`loadRecovered`); after the last try the line says so
// and offers "Reload panel", which asks the host to render the page anew (`reloadPage`).
//
// It acquires the page's VS Code API (a page may do that once) and leaves it in `window.sbnVsCodeApi` for the page's
// script. Plain JavaScript in a string: the extension host's TypeScript has no DOM types, and the text is tested
// in headless Chromium by test/unit/panelLoadGuard.test.ts.

export interface LoadGuardOptions {
  /** How long the page's files may take before those not loaded count as failed (a request that hangs). */
  timeoutMs: number;
  /** The waits before the retries, one per retry. */
  retryDelaysMs: number[];
}

/** The defaults of every panel: three retries within about seven seconds of the failure. */
export const LOAD_GUARD: LoadGuardOptions = { timeoutMs: 10_000, retryDelaysMs: [500, 1500, 5000] };

/** The query parameter that makes a retried request new to every cache. */
export const RETRY_QUERY = 'sbn-retry';

const GUARD = String.raw`
(function (o) {
  var api = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;
  window.sbnVsCodeApi = api;
  function post(m) { if (api) api.postMessage(m); }
  var settled = new Map();
  function track(ok) {
    return function (e) {
      var t = e.target;
      if (t instanceof HTMLLinkElement || t instanceof HTMLScriptElement) settled.set(t, ok);
    };
  }
  document.addEventListener('load', track(true), true);
  document.addEventListener('error', track(false), true);
  function started() { return !document.getElementById('loading'); }
  function files() { return Array.from(document.querySelectorAll('link[rel="stylesheet"], script[src]')); }
  function failing() {
    return files().filter(function (el) {
      if (settled.get(el) === false) return true;
      if (el instanceof HTMLLinkElement) return !settled.has(el) && !el.sheet;
      return !started() && !settled.has(el);
    });
  }
  function name(el) {
    var url = el.getAttribute('href') || el.getAttribute('src') || '';
    var last = url.split('?')[0].split('/').pop() || url;
    try { return decodeURIComponent(last); } catch (e) { return last; }
  }
  function describe(bad) {
    var scripts = bad.filter(function (el) { return el instanceof HTMLScriptElement; }).length;
    var sheets = bad.length - scripts;
    var kinds = [];
    if (scripts) kinds.push(scripts > 1 ? 'scripts' : 'script');
    if (sheets) kinds.push(sheets > 1 ? 'stylesheets' : 'stylesheet');
    return kinds.join(' and ') + ' (' + bad.map(name).join(', ') + ')';
  }
  var banner;
  function say(text, offerReload) {
    if (!banner) {
      banner = document.createElement('div');
      banner.id = 'load-problem';
      banner.setAttribute('role', 'alert');
      var s = banner.style;
      s.padding = '6px 10px';
      s.margin = '8px';
      s.border = '1px solid var(--vscode-inputValidation-errorBorder, #be1100)';
      s.background = 'var(--vscode-inputValidation-errorBackground, transparent)';
      s.color = 'var(--vscode-foreground, inherit)';
      s.fontFamily = 'var(--vscode-font-family, sans-serif)';
    }
    banner.replaceChildren(document.createTextNode(text));
    if (offerReload) {
      var b = document.createElement('button');
      b.id = 'reload-panel';
      b.textContent = 'Reload panel';
      var bs = b.style;
      bs.marginLeft = '10px';
      bs.padding = '2px 10px';
      bs.border = '1px solid var(--vscode-button-border, transparent)';
      bs.background = 'var(--vscode-button-background, ButtonFace)';
      bs.color = 'var(--vscode-button-foreground, ButtonText)';
      bs.cursor = 'pointer';
      b.addEventListener('click', function () { if (api) post({ type: 'reloadPage' }); else location.reload(); });
      banner.append(b);
    }
    if (!banner.isConnected) (document.body || document.documentElement).prepend(banner);
  }
  var total = o.retryDelaysMs.length + 1;
  var attempt = 1;
  function check() {
    var bad = failing();
    if (bad.length === 0) {
      if (attempt > 1) {
        if (banner) banner.remove();
        post({ type: 'loadRecovered', attempt: attempt });
      }
      if (!started()) {
        post({ type: 'loadProblem', resources: [], attempt: attempt, attempts: total, final: true });
        say('The panel\u2019s script loaded but did not start (see the SBN Studio output).', true);
      }
      return;
    }
    var final = attempt >= total;
    post({ type: 'loadProblem', resources: bad.map(name), attempt: attempt, attempts: total, final: final });
    if (final) {
      say('Could not load the panel\u2019s ' + describe(bad) + ' after ' + total + ' tries.', true);
      return;
    }
    var progress = ' (' + attempt + ' of ' + (total - 1) + ')\u2026';
    say('Could not load the panel\u2019s ' + describe(bad) + '; retrying' + progress);
    setTimeout(function () { retry(bad); }, o.retryDelaysMs[attempt - 1]);
  }
  function fresh(url) {
    var u = new URL(url, document.baseURI);
    u.searchParams.set(o.query, String(attempt));
    return u.toString();
  }
  function retry(bad) {
    attempt++;
    var again = bad.map(function (el) {
      var copy;
      if (el instanceof HTMLLinkElement) {
        copy = document.createElement('link');
        copy.rel = 'stylesheet';
        copy.href = fresh(el.href);
      } else {
        copy = document.createElement('script');
        copy.nonce = el.nonce;
        copy.src = fresh(el.src);
      }
      el.replaceWith(copy);
      return copy;
    });
    var deadline = Date.now() + o.timeoutMs;
    (function wait() {
      if (again.every(function (el) { return settled.has(el); }) || Date.now() > deadline) check();
      else setTimeout(wait, 50);
    })();
  }
  var checked = false;
  function first() {
    if (checked) return;
    checked = true;
    check();
  }
  window.addEventListener('load', first);
  setTimeout(first, o.timeoutMs);
})`;

/** The guard's inline script text for a page (trusted: nothing of it comes from the page's data). */
export function loadGuardScript(options: LoadGuardOptions = LOAD_GUARD): string {
  return `${GUARD.trim()}(${JSON.stringify({ ...options, query: RETRY_QUERY })});`;
}
