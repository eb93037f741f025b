#!/usr/bin/env node
// Copies the README's screenshots of the panels from the screenshot tour (test/integration/tour.vscode-test.ts,
// dark theme) into docs/images/, so that they can be taken again after a change to the panels:
//
//   node scripts/test-vscode.mjs --grep 'Tour:'      # writes test-results/item<N>-<what>-<theme>.png
//   node scripts/readme-images.mjs [--from <dir>]    # copies the shots named below into docs/images/
//
// Exit status: 0 when every image was copied, 2 when a shot is missing (each one named) or an argument is wrong.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** docs/images/<name> ← <from>/<shot>: what the README shows, from which shot of the tour. */
const IMAGES = [
  { image: 'runs-table.png', shot: 'item1-runs-table-dark.png' },
  { image: 'estimator-comparison.png', shot: 'item2-estimator-comparison-dark.png' },
  { image: 'run-evaluation.png', shot: 'item4-exports-dark.png' },
];

function fail(message) {
  process.stderr.write(`readme-images: ${message}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let from = join(root, 'test-results');
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--from' && i + 1 < args.length) from = resolve(args[++i]);
  else if (args[i].startsWith('--from=')) from = resolve(args[i].slice('--from='.length));
  else fail(`unknown argument ${args[i]}; usage: node scripts/readme-images.mjs [--from <screenshots folder>]`);
}

const missing = IMAGES.filter((i) => !existsSync(join(from, i.shot)));
if (missing.length)
  fail(
    `${missing.map((i) => join(from, i.shot)).join(', ')}: not found; take the shots first with ` +
      "node scripts/test-vscode.mjs --grep 'Tour:'",
  );
mkdirSync(join(root, 'docs', 'images'), { recursive: true });
for (const { image, shot } of IMAGES) {
  copyFileSync(join(from, shot), join(root, 'docs', 'images', image));
  process.stdout.write(`docs/images/${image} ← ${shot}\n`);
}
