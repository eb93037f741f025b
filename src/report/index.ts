// Experiment reports: the result JSON, a self-contained HTML page drawn with the panels' chart code
// (webview/report.ts, inlined so the page opens offline and in a VS Code webview) and PNG figures rendered from
// that page in headless Chromium.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../engine/files';
import { reportHtml, type ExperimentData, type ReportAssets } from './html';

export { REPORT_NONCE, reportHtml, reportPanelHtml } from './html';
export { parseReportData, reportTitle, REPORT_JSON_NAMES, type ExperimentData } from './data';

export interface WrittenReport {
  json: string;
  html?: string;
  pngs: string[];
  /** Why no HTML or PNG was written, if so (one line each). */
  notes: string[];
}

/** The result file's name: gradacc.json or train.json. */
export function jsonName(data: ExperimentData): string {
  return data.format === 'sbn-experiment-gradacc' ? 'gradacc.json' : 'train.json';
}

/**
 * dist/webview/report.{js,css} and media/{webview,report}.css, from wherever this bundle runs (dist/,
 * dist/test/unit/).
 */
function findAssets(): ReportAssets | undefined {
  let dir = __dirname;
  for (let up = 0; up < 4; up++) {
    for (const dist of [path.join(dir, 'dist'), dir]) {
      const script = path.join(dist, 'webview', 'report.js');
      const media = path.join(path.dirname(dist), 'media');
      if (fs.existsSync(script) && fs.existsSync(path.join(media, 'report.css'))) {
        const css = [
          path.join(media, 'webview.css'),
          path.join(dist, 'webview', 'report.css'),
          path.join(media, 'report.css'),
        ];
        return {
          script: fs.readFileSync(script, 'utf8'),
          styles: css.filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f, 'utf8')),
        };
      }
    }
    dir = path.dirname(dir);
  }
  return undefined;
}

/** Figure names of a report (its <section data-figure> elements), for the PNG files. */
export async function renderPngs(
  htmlFile: string,
  outDir: string,
  prefix: string,
): Promise<{ files: string[]; note?: string }> {
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    return {
      files: [],
      note: 'PNG figures skipped: playwright-core is not installed (npm install in the repository installs it)',
    };
  }
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) {
    return {
      files: [],
      note:
        `PNG figures skipped: no Chromium at ${executablePath} ` +
        '(install it, e.g. apt-get install chromium, or set CHROMIUM_PATH)',
    };
  }
  const browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 2 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`file://${path.resolve(htmlFile)}`);
    // (browser-side code as strings: this file is compiled without the DOM library)
    await page.waitForFunction('document.body.dataset.rendered !== undefined', undefined, { timeout: 30_000 });
    if (errors.length) throw new Error(`the report page failed: ${errors[0]}`);
    const names = await page.evaluate<string[]>(
      'Array.from(document.querySelectorAll("[data-figure]")).map((e) => e.dataset.figure)',
    );
    const files: string[] = [];
    for (const name of names) {
      const file = path.join(outDir, `${prefix}${name}.png`);
      await page.locator(`[data-figure="${name}"]`).screenshot({ path: file });
      files.push(file);
    }
    return { files };
  } finally {
    await browser.close();
  }
}

export async function writeExperimentReport(
  outDir: string,
  data: ExperimentData,
  options: { png: boolean },
): Promise<WrittenReport> {
  fs.mkdirSync(outDir, { recursive: true });
  const json = path.join(outDir, jsonName(data));
  writeFileAtomic(json, JSON.stringify(data, null, 1) + '\n');
  const out: WrittenReport = { json, pngs: [], notes: [] };
  const assets = findAssets();
  if (!assets) {
    out.notes.push(
      'report.html not written: the report page was not built (npm run build builds dist/webview/report.js)',
    );
    return out;
  }
  out.html = path.join(outDir, 'report.html');
  writeFileAtomic(out.html, reportHtml(data, assets));
  if (options.png) {
    const figures = path.join(outDir, 'figures');
    fs.mkdirSync(figures, { recursive: true });
    try {
      const r = await renderPngs(out.html, figures, data.format === 'sbn-experiment-gradacc' ? '' : `${data.suite}-`);
      out.pngs = r.files;
      if (r.note) out.notes.push(r.note);
    } catch (e) {
      out.notes.push(`PNG figures failed: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return out;
}
