// The headless browser the page tests share (webviewCsp, panelLoadGuard): Debian's chromium driven by
// playwright-core, and the reason to skip when either is missing.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import chromiumArgs from '../../../scripts/chromium-args.json';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Headless chromium's flags, the VS Code harness's too (scripts/code-server.mjs). */
export const CHROMIUM_ARGS: string[] = chromiumArgs;

function loadPlaywright(): typeof import('playwright-core') | string {
  try {
    // not bundled: playwright-core is loaded from node_modules at run time
    return createRequire(__filename)('playwright-core') as typeof import('playwright-core');
  } catch (e) {
    return `playwright-core does not load (${(e as Error).message.split('\n')[0]}); run npm install`;
  }
}

/** playwright-core, or why it does not load. */
export const playwright = loadPlaywright();

/** Why the browser tests cannot run here (no playwright-core, no chromium), or false. */
export const browserSkip: string | false =
  typeof playwright === 'string'
    ? playwright
    : !fs.existsSync(chromiumPath)
      ? `no chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`
      : false;
