// Root postinstall: builds the native binding of the optional @tensorflow/tfjs-node package against the
// libtensorflow inside the TensorFlow pip wheel (its own install script would download libtensorflow 2.9.1 and a
// prebuilt addon, which fails offline). How and why: docs/kernels.md, "The `tensorflow` backend without a download".
//
// Never fails the install: any problem ends with one line
//   sbn-studio: tfjs-node not built (<reason>); the wasm backend will be used
// and exit code 0. SBN_SKIP_TFJS_NODE=1 skips the whole step.
// Cache: ${SBN_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/sbn-studio}/libtensorflow-<version>/ (shared by all clones).
import { spawnSync } from 'node:child_process';
import {
  accessSync, closeSync, constants, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync,
  realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeDir, nodeGyp } from './native-build.mjs';

const TF_VERSION = '2.21.0';
const WHEEL = `tensorflow-cpu==${TF_VERSION}`;
// Header subtrees the binding needs (checked with `g++ -M` on binding/*.cc); the full include dir is 268 MB.
const INCLUDE_PREFIXES = ['tensorflow/c/', 'tensorflow/core/platform/', 'tsl/', 'xla/tsl/'];
const LIBS = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'];

const root = fileURLToPath(new URL('..', import.meta.url));
const t0 = Date.now();

class Skip extends Error {}

function log(msg) {
  process.stderr.write(`sbn-studio: ${msg}\n`);
}
function giveUp(reason) {
  log(`tfjs-node not built (${reason}); the wasm backend will be used`);
  process.exit(0);
}
function secs() {
  return `${((Date.now() - t0) / 1000).toFixed(1)} s`;
}
function lastLine(text) {
  const lines = String(text ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.length ? lines[lines.length - 1].slice(0, 200) : '';
}
function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return null;
}

/** Loads tfjs-node in a child process; returns the libtensorflow version or throws with the reason. */
function probeBinding() {
  const code = "const tf=require('@tensorflow/tfjs-node');process.stdout.write(String(tf.backend().binding.TF_Version))";
  const r = spawnSync(process.execPath, ['-e', code], {
    cwd: root, encoding: 'utf8', timeout: 120_000,
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' },
  });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  const msg = (r.stderr ?? '').split('\n').find((l) => /Error|error:|cannot open/.test(l)) ?? lastLine(r.stderr);
  throw new Error(msg || `exit ${r.status ?? r.signal}`);
}

/** mkdir -p without { recursive: true }, which spins forever on some paths (e.g. under /proc) in Node 20. */
function mkdirp(dir) {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) mkdirp(parent);
  try {
    mkdirSync(dir);
  } catch (e) {
    if (e.code !== 'EEXIST') throw e;
  }
}

function cacheRoot() {
  if (process.env.SBN_CACHE_DIR) return process.env.SBN_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'sbn-studio');
}

/** The cached extraction of the wheel, if a previous run (from any clone) made one. */
function cachedLibtensorflow() {
  for (const cache of [cacheRoot(), ...(process.env.SBN_CACHE_DIR ? [] : [join(root, '.cache', 'sbn-studio')])]) {
    const dest = join(cache, `libtensorflow-${TF_VERSION}`);
    if (existsSync(join(dest, '.complete'))) return dest;
  }
  return null;
}

/** Downloads the wheel and extracts libtensorflow into the cache; returns the extraction dir. */
function downloadLibtensorflow(python) {
  let cache = cacheRoot();
  let dest = join(cache, `libtensorflow-${TF_VERSION}`);
  try {
    mkdirp(cache);
    accessSync(cache, constants.W_OK);
  } catch (e) {
    if (process.env.SBN_CACHE_DIR) throw new Skip(`cannot write cache dir ${cache}: ${e.code ?? e.message}`);
    // No writable home cache (CI sandboxes): keep it inside the clone (.cache/ is git-ignored).
    const fallback = join(root, '.cache', 'sbn-studio');
    log(`cannot write ${cache} (${e.code ?? e.message}); using ${fallback}`);
    cache = fallback;
    dest = join(cache, `libtensorflow-${TF_VERSION}`);
    if (existsSync(join(dest, '.complete'))) return dest;
    try {
      mkdirp(cache);
    } catch (e2) {
      throw new Skip(`cannot create cache dir ${cache}: ${e2.code ?? e2.message}`);
    }
  }
  const work = join(cache, `.tmp-${process.pid}-${Date.now()}`);
  mkdirp(work);
  try {
    log(`downloading the ${WHEEL} wheel with pip (about 270 MB) into ${cache}`);
    const pipBase = [python, '-m', 'pip', 'download', WHEEL, '--no-deps', '--disable-pip-version-check',
      '--no-input', '-q', '-d', join(work, 'wheel')];
    let r = spawnSync(pipBase[0], pipBase.slice(1), { encoding: 'utf8', timeout: 900_000 });
    if (r.status !== 0) {
      // The wheel is the same for every CPython; the only one on offer may be for another Python than ours.
      const first = lastLine(r.stderr) || lastLine(r.stdout) || `exit ${r.status ?? r.signal}`;
      r = spawnSync(pipBase[0], [...pipBase.slice(1), '--only-binary=:all:', '--python-version', '3.11',
        '--implementation', 'cp'], { encoding: 'utf8', timeout: 900_000 });
      if (r.status !== 0) throw new Skip(`pip download ${WHEEL} failed: ${first}`);
    }
    const wheels = readdirSync(join(work, 'wheel')).filter((f) => f.endsWith('.whl'));
    if (wheels.length !== 1) throw new Skip(`pip download ${WHEEL} produced no wheel`);
    log(`extracting libtensorflow from ${wheels[0]} (${secs()})`);
    const out = join(work, 'lt');
    const py = `
import sys, zipfile, shutil, os
whl, out, libs, prefixes = sys.argv[1], sys.argv[2], sys.argv[3].split(','), sys.argv[4].split(',')
n = 0
with zipfile.ZipFile(whl) as z:
    for info in z.infolist():
        name = info.filename
        if name.endswith('/'):
            continue
        target = None
        if name.startswith('tensorflow/') and name[len('tensorflow/'):] in libs:
            target = os.path.join(out, 'lib', name[len('tensorflow/'):])
        elif name.startswith('tensorflow/include/'):
            rel = name[len('tensorflow/include/'):]
            if any(rel.startswith(p) for p in prefixes):
                target = os.path.join(out, 'include', rel)
        if target is None:
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(info) as src, open(target, 'wb') as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        os.chmod(target, 0o755 if '.so' in target else 0o644)
        n += 1
missing = [l for l in libs if not os.path.exists(os.path.join(out, 'lib', l))]
if missing:
    sys.exit('wheel lacks ' + ', '.join(missing))
print(n)
`;
    r = spawnSync(python, ['-c', py, join(work, 'wheel', wheels[0]), out, LIBS.join(','), INCLUDE_PREFIXES.join(',')],
      { encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) throw new Skip(`extracting the wheel failed: ${lastLine(r.stderr) || `exit ${r.status}`}`);
    if (!existsSync(join(out, 'include', 'tensorflow', 'c', 'c_api.h'))) {
      throw new Skip('wheel has no tensorflow/include/tensorflow/c/c_api.h');
    }
    writeFileSync(join(out, '.complete'), JSON.stringify({ version: TF_VERSION, wheel: wheels[0] }) + '\n');
    try {
      renameSync(out, dest);
    } catch (e) {
      // Another clone finished first: use its copy.
      if (!existsSync(join(dest, '.complete'))) throw new Skip(`cannot move extraction into ${dest}: ${e.code}`);
    }
    return dest;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** deps/ layout that makes tfjs-node's install.js skip its download and link against the wheel's library. */
function linkDeps(pkgDir, lt) {
  const deps = join(pkgDir, 'deps');
  rmSync(deps, { recursive: true, force: true });
  mkdirSync(join(deps, 'lib'), { recursive: true });
  symlinkSync(join(lt, 'include'), join(deps, 'include'));
  const cc = join(lt, 'lib', 'libtensorflow_cc.so.2');
  const fw = join(lt, 'lib', 'libtensorflow_framework.so.2');
  const links = {
    'libtensorflow_cc.so.2': cc, // run-time SONAMEs
    'libtensorflow_framework.so.2': fw,
    'libtensorflow.so': cc, // link time (-ltensorflow -ltensorflow_framework)
    'libtensorflow_framework.so': fw,
    'libtensorflow.so.2.9.1': cc, // install.js checks for these to skip its download
    'libtensorflow_framework.so.2.9.1': fw,
  };
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(deps, 'lib', name));
}


/** Where a compiled binding is kept for other clones: it only depends on the package version and platform. */
function bindingCacheDir(lt, pkgDir) {
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  return join(lt, 'bindings', `tfjs-node-${version}-${process.platform}-${process.arch}`);
}

function copyTree(from, to) {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    if (statSync(src).isDirectory()) copyTree(src, join(to, name));
    else copyFileSync(src, join(to, name));
  }
}

/** Installs a binding compiled by an earlier run; true when it loads. */
function tryCachedBinding(pkgDir, lt) {
  const cached = bindingCacheDir(lt, pkgDir);
  if (!existsSync(cached)) return false;
  linkDeps(pkgDir, lt);
  rmSync(join(pkgDir, 'lib'), { recursive: true, force: true });
  copyTree(cached, join(pkgDir, 'lib'));
  try {
    const v = probeBinding();
    log(`tfjs-node binding restored from ${cached} (libtensorflow ${v}, ${secs()})`);
    return true;
  } catch (e) {
    log(`cached binding does not load (${e.message}); compiling`);
    rmSync(join(pkgDir, 'lib'), { recursive: true, force: true });
    return false;
  }
}

function saveBinding(pkgDir, lt) {
  const dest = bindingCacheDir(lt, pkgDir);
  const tmp = `${dest}.tmp-${process.pid}`;
  try {
    rmSync(tmp, { recursive: true, force: true });
    copyTree(join(pkgDir, 'lib'), tmp);
    rmSync(dest, { recursive: true, force: true });
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    log(`note: could not cache the binding (${e.code ?? e.message})`);
  }
}

function main() {
  if (process.env.SBN_SKIP_TFJS_NODE === '1' || process.env.SBN_SKIP_TFJS_NODE === 'true') {
    log('SBN_SKIP_TFJS_NODE is set: not building tfjs-node; the wasm backend will be used');
    return;
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Skip(`unsupported platform ${process.platform}-${process.arch}`);
  const require = createRequire(join(root, 'package.json'));
  let pkgDir;
  try {
    pkgDir = dirname(require.resolve('@tensorflow/tfjs-node/package.json'));
  } catch {
    throw new Skip('@tensorflow/tfjs-node is not installed');
  }
  if (existsSync(join(pkgDir, 'lib'))) {
    try {
      const v = probeBinding();
      log(`tfjs-node already built (libtensorflow ${v})`);
      return;
    } catch (e) {
      log(`existing tfjs-node binding does not load (${e.message}); rebuilding`);
    }
  }

  let lt = cachedLibtensorflow();
  if (lt) {
    log(`using cached libtensorflow ${TF_VERSION} in ${lt}`);
    if (tryCachedBinding(pkgDir, lt)) return;
  }
  for (const tool of ['make', 'g++']) if (!which(tool)) throw new Skip(`${tool} not found`);
  const nodedir = nodeDir();
  if (!nodedir) throw new Skip('Node.js headers (include/node/node_api.h) not found');
  const gyp = nodeGyp();
  if (!gyp) throw new Skip('node-gyp not found (it ships with npm)');
  if (!lt) {
    const python = which('python3');
    if (!python) throw new Skip('python3 not found');
    if (spawnSync(python, ['-m', 'pip', '--version'], { encoding: 'utf8' }).status !== 0) {
      throw new Skip('python3 -m pip is not available');
    }
    lt = downloadLibtensorflow(python);
  }
  linkDeps(pkgDir, lt);
  rmSync(join(pkgDir, 'lib'), { recursive: true, force: true });
  rmSync(join(pkgDir, 'build'), { recursive: true, force: true });

  log(`compiling the tfjs-node binding with node-gyp (${secs()})`);
  const logPath = join(pkgDir, 'sbn-build.log');
  const fd = openSync(logPath, 'w');
  let r;
  try {
    r = spawnSync(process.execPath, ['scripts/install.js'], {
      cwd: pkgDir,
      stdio: ['ignore', fd, fd],
      timeout: 900_000,
      env: {
        ...process.env,
        PATH: [join(root, 'node_modules', '.bin'), dirname(process.execPath), process.env.PATH].join(delimiter),
        npm_config_nodedir: nodedir,
        npm_config_node_gyp: gyp,
        // Compile straight away instead of first trying to fetch a prebuilt addon from the network.
        npm_config_build_from_source: 'true',
        JOBS: process.env.JOBS ?? 'max',
      },
    });
  } finally {
    closeSync(fd);
  }
  if (r.error) throw new Skip(`install.js did not run: ${r.error.message}`);
  if (r.status !== 0) throw new Skip(`node-gyp build failed, exit ${r.status ?? r.signal}; see ${logPath}`);
  let v;
  try {
    v = probeBinding();
  } catch (e) {
    throw new Skip(`the built binding does not load: ${e.message}`);
  }
  saveBinding(pkgDir, lt);
  log(`tfjs-node built against libtensorflow ${v} in ${secs()}`);
}

try {
  main();
} catch (e) {
  giveUp(e instanceof Skip ? e.message : `unexpected error: ${e?.message ?? e}`);
}
