// test-backends: one
// The panels' load guard (src/panelLoadGuard.ts) in a real browser (Debian chromium, headless, playwright-core): the
// production page of panelHtml (src/html.ts) under its CSP, served by a server that fails, or never answers, the
// first requests for the page's script or stylesheet. Checks the line the page shows, the messages it sends the host
// (`loadProblem`, `loadRecovered`, `reloadPage`), the retried requests and the recovered page. Skipped, saying why,
// when chromium or playwright-core is missing.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { makeNonce, panelHtml } from '../../src/html';
import { RETRY_QUERY, type LoadGuardOptions } from '../../src/panelLoadGuard';
import type { WebviewToHost } from '../../src/webviewProtocol';
import { browserSkip, chromiumPath, CHROMIUM_ARGS, playwright } from './helpers/browser';

const skip = browserSkip;

// The page's "script": what every panel script does first (webview/common/vscodeApi.ts removes #loading).
const SCRIPT = `document.getElementById('loading')?.remove();
document.body.append(Object.assign(document.createElement('p'), { id: 'content', textContent: 'drawn' }));`;
const STYLE = 'body { color: rgb(1, 2, 3); }';
const GUARD: LoadGuardOptions = { timeoutMs: 1500, retryDelaysMs: [100, 300] };

/** Per file: how many of its next requests fail (`fail`) or get no answer (`hang`). */
let plan: Record<string, { fail?: number; hang?: number }> = {};
let requests: string[] = [];
let server: http.Server | undefined;
let origin = '';
let browser: Browser | undefined;
const hanging: http.ServerResponse[] = [];

before(async () => {
  if (skip) return;
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/panel') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        panelHtml({
          cspSource: origin,
          nonce: makeNonce(),
          title: 'guarded',
          styles: [`${origin}/files/page.css`],
          scripts: [`${origin}/files/page.js`],
          loadGuard: GUARD,
        }),
      );
      return;
    }
    requests.push(url.pathname + url.search);
    const name = url.pathname.replace('/files/', '');
    const p = plan[name] ?? {};
    if (p.hang) {
      p.hang--;
      hanging.push(res);
      return;
    }
    if (p.fail) {
      p.fail--;
      res.writeHead(404);
      res.end();
      return;
    }
    if (name === 'page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(SCRIPT);
    } else if (name === 'page.css') {
      res.writeHead(200, { 'content-type': 'text/css' });
      res.end(STYLE);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await (playwright as typeof import('playwright-core')).chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: CHROMIUM_ARGS,
  });
});

after(async () => {
  await browser?.close();
  for (const res of hanging) res.destroy();
  server?.close();
  server?.closeAllConnections();
});

interface Probe {
  page: Page;
  sent(): Promise<WebviewToHost[]>;
  banner(): Promise<string | null>;
  /** Every text the line showed. */
  banners(): Promise<string[]>;
  violations(): Promise<number>;
  /** Waits for the guard's `loadRecovered`: a script runs (and draws) before the load event the guard hears. */
  recovered(): Promise<unknown>;
}

// What VS Code's webview host provides before the page's scripts run (an API that may be acquired once; here it records
// what the page posts), and probes: CSP violations and every text the load-problem line shows, however briefly.
const FAKE_VSCODE = `
window.sent = [];
window.banners = [];
window.violations = 0;
let acquired = false;
window.acquireVsCodeApi = () => {
  if (acquired) throw new Error('An instance of the VS Code API has already been acquired');
  acquired = true;
  return { postMessage: (m) => window.sent.push(m), getState: () => undefined, setState: () => undefined };
};
document.addEventListener('securitypolicyviolation', () => window.violations++);
new MutationObserver(() => {
  const text = document.getElementById('load-problem')?.textContent;
  if (text && text !== window.banners.at(-1)) window.banners.push(text);
}).observe(document, { subtree: true, childList: true, characterData: true });
`;

/** Opens the page with a VS Code API that records what the page posts (as VS Code's webview host provides it). */
async function open(files: typeof plan): Promise<Probe> {
  plan = files;
  requests = [];
  const page = await browser!.newPage();
  await page.addInitScript({ content: FAKE_VSCODE });
  await page.goto(`${origin}/panel`, { waitUntil: 'commit' });
  return {
    page,
    sent: () => page.evaluate(() => (globalThis as unknown as { sent: WebviewToHost[] }).sent.slice()),
    banner: async () => {
      const banner = page.locator('#load-problem');
      return (await banner.count()) ? banner.textContent() : null;
    },
    banners: () => page.evaluate(() => (globalThis as unknown as { banners: string[] }).banners.slice()),
    violations: () => page.evaluate(() => (globalThis as unknown as { violations: number }).violations),
    recovered: () =>
      page.waitForFunction(() =>
        (globalThis as unknown as { sent: WebviewToHost[] }).sent.some((m) => m.type === 'loadRecovered'),
      ),
  };
}

const loadMessages = (sent: WebviewToHost[]) =>
  sent.filter((m) => m.type === 'loadProblem' || m.type === 'loadRecovered' || m.type === 'reloadPage');

test('a page whose files load says nothing and reports nothing', { skip }, async () => {
  const p = await open({});
  await p.page.waitForSelector('#content');
  await p.page.waitForTimeout(GUARD.timeoutMs + 200);
  assert.equal(await p.banner(), null);
  assert.deepEqual(loadMessages(await p.sent()), []);
  assert.equal(await p.violations(), 0, 'the inline guard runs under the page CSP (its nonce)');
  assert.equal(await p.page.evaluate('getComputedStyle(document.body).color'), 'rgb(1, 2, 3)');
  await p.page.close();
});

test('a script that fails once: the page says so, retries it with a fresh query and recovers', { skip }, async () => {
  const p = await open({ 'page.js': { fail: 1 } });
  await p.page.waitForSelector('#content');
  await p.recovered();
  assert.equal(await p.banner(), null, 'the line is gone');
  assert.deepEqual(await p.banners(), ['Could not load the panel\u2019s script (page.js); retrying (1 of 2)\u2026']);
  assert.deepEqual(loadMessages(await p.sent()), [
    { type: 'loadProblem', resources: ['page.js'], attempt: 1, attempts: 3, final: false },
    { type: 'loadRecovered', attempt: 2 },
  ]);
  assert.deepEqual(
    requests.filter((r) => r.includes('page.js')),
    ['/files/page.js', `/files/page.js?${RETRY_QUERY}=2`],
  );
  assert.equal(await p.page.locator('#loading').count(), 0, '"Loading…" is gone');
  assert.equal(await p.violations(), 0, 'the retried script carries the nonce');
  await p.page.close();
});

test('a stylesheet that never loads: every retry, then "Reload panel", which asks the host', { skip }, async () => {
  const p = await open({ 'page.css': { fail: 99 } });
  await p.page.waitForSelector('#reload-panel');
  assert.equal(await p.banner(), 'Could not load the panel\u2019s stylesheet (page.css) after 3 tries.Reload panel');
  const problems = loadMessages(await p.sent());
  assert.deepEqual(
    problems.map((m) => m.type === 'loadProblem' && [m.attempt, m.final, m.resources.join()]),
    [
      [1, false, 'page.css'],
      [2, false, 'page.css'],
      [3, true, 'page.css'],
    ],
  );
  assert.equal(await p.page.locator('#content').count(), 1, 'the script itself ran');
  await p.page.click('#reload-panel');
  assert.deepEqual((await p.sent()).at(-1), { type: 'reloadPage' });
  await p.page.close();
});

test('a request that hangs counts as failed after the timeout and is retried', { skip }, async () => {
  const p = await open({ 'page.js': { hang: 1 } });
  await p.page.waitForSelector('#content', { timeout: GUARD.timeoutMs + 3000 });
  await p.recovered();
  assert.equal(await p.banner(), null, 'the line is gone');
  assert.deepEqual(await p.banners(), ['Could not load the panel\u2019s script (page.js); retrying (1 of 2)\u2026']);
  assert.deepEqual(
    loadMessages(await p.sent()).map((m) => m.type),
    ['loadProblem', 'loadRecovered'],
  );
  await p.page.close();
});
