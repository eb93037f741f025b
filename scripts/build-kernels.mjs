// Builds the native kernel addon (native/: N-API, C++17; PSA's dense product and ratio convolution) with the
// node-gyp that ships with npm, into native/build/Release/sbn_kernels.node. Run by postinstall; also
// `node scripts/build-kernels.mjs [--force]`.
//
// Never fails the install: any problem ends with one line
//   sbn-studio: native kernels not built (<reason>); the TensorFlow.js implementation will be used
// and exit code 0. SBN_SKIP_KERNELS=1 skips the step. An addon newer than its sources that loads is kept.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeDir, nodeGyp } from './native-build.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const nativeDir = join(root, 'native');
const buildDir = join(nativeDir, 'build');
const addon = join(buildDir, 'Release', 'sbn_kernels.node');
const logPath = join(buildDir, 'sbn-build.log');
const t0 = Date.now();

class Skip extends Error {}

function log(msg) {
  process.stderr.write(`sbn-studio: ${msg}\n`);
}
function secs() {
  return `${((Date.now() - t0) / 1000).toFixed(1)} s`;
}
function lastLine(text, pattern) {
  const lines = String(text ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  const hit = pattern ? [...lines].reverse().find((l) => pattern.test(l)) : undefined;
  return (hit ?? lines.at(-1) ?? '').slice(0, 200);
}
function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return null;
}

/** Loads the addon in a child process; returns "avx512, 2 threads" or throws with the reason. */
function probe() {
  const code = `const m={exports:{}};process.dlopen(m,${JSON.stringify(addon)});const i=m.exports.info();`
    + 'process.stdout.write(i.isa+", "+i.threads+" thread"+(i.threads===1?"":"s"))';
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  throw new Error(lastLine(r.stderr, /Error|error/) || `exit ${r.status ?? r.signal}`);
}

function newestSource() {
  let newest = 0;
  const visit = (p) => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const n of readdirSync(p)) if (n !== 'build') visit(join(p, n));
    } else {
      newest = Math.max(newest, st.mtimeMs);
    }
  };
  visit(nativeDir);
  return newest;
}


function main() {
  if (process.env.SBN_SKIP_KERNELS === '1' || process.env.SBN_SKIP_KERNELS === 'true') {
    throw new Skip('SBN_SKIP_KERNELS is set');
  }
  if (!existsSync(join(nativeDir, 'binding.gyp'))) throw new Skip('native/binding.gyp is missing');
  const force = process.argv.includes('--force');
  if (!force && existsSync(addon) && statSync(addon).mtimeMs >= newestSource()) {
    try {
      log(`native kernels up to date (${probe()})`);
      return;
    } catch (e) {
      log(`existing native kernels do not load (${e.message}); rebuilding`);
    }
  }
  if (process.platform !== 'win32') {
    for (const tool of ['make', 'python3']) if (!which(tool)) throw new Skip(`${tool} not found`);
    if (!which(process.env.CXX || 'g++') && !which('c++') && !which('clang++')) throw new Skip('no C++ compiler (g++, c++, clang++) found');
  }
  const nodedir = nodeDir();
  if (!nodedir) throw new Skip('Node.js headers (include/node/node_api.h) not found');
  const gyp = nodeGyp();
  if (!gyp) throw new Skip('node-gyp not found (it ships with npm)');

  rmSync(buildDir, { recursive: true, force: true });
  mkdirSync(buildDir, { recursive: true });
  const fd = openSync(logPath, 'w');
  try {
    for (const args of [['configure'], ['build', '--jobs', 'max']]) {
      const r = spawnSync(process.execPath, [gyp, ...args, `--nodedir=${nodedir}`], {
        cwd: nativeDir, stdio: ['ignore', fd, fd], timeout: 600_000,
        env: { ...process.env, npm_config_nodedir: nodedir },
      });
      if (r.error) throw new Skip(`node-gyp ${args[0]} did not run: ${r.error.message}`);
      if (r.status !== 0) {
        const why = lastLine(readFileSync(logPath, 'utf8'), /error/i) || `exit ${r.status ?? r.signal}`;
        throw new Skip(`node-gyp ${args[0]} failed: ${why}; see ${relative(process.cwd(), logPath) || logPath}`);
      }
    }
  } finally {
    closeSync(fd);
  }
  if (!existsSync(addon)) throw new Skip(`node-gyp produced no ${relative(root, addon)}`);
  let detail;
  try {
    detail = probe();
  } catch (e) {
    throw new Skip(`the built addon does not load: ${e.message}`);
  }
  log(`native kernels built (${detail}) in ${secs()}`);
}

try {
  main();
} catch (e) {
  const reason = e instanceof Skip ? e.message : `unexpected error: ${e?.message ?? e}`;
  log(`native kernels not built (${reason}); the TensorFlow.js implementation will be used`);
  process.exitCode = 0;
}
