#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is bundled by esbuild into dist/ (built by `npm install` / `npm run build`).
const path = require('path');
const fs = require('fs');
const bundle = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(bundle)) {
  process.stderr.write(`sbn: ${bundle} is missing; run \`npm run build\` in ${path.dirname(__dirname)}\n`);
  process.exit(2);
}
require(bundle);
