// The native set-up: libtensorflow (an existing folder, the cache, or the TensorFlow pip wheel) → the tfjs-node
// binding and the PSA kernels compiled with node-gyp → a load check → a manifest. One implementation for
//   - `npm install` in a checkout (scripts/build-tfjs-node.mjs, scripts/build-kernels.mjs call setupCheckout*),
//     which builds in place: node_modules/@tensorflow/tfjs-node/lib and native/build;
//   - `sbn setup backend` and SBN: Set Up Native Backend (setupNativeBackend), which build into a set-up folder
//     that the tensorflow backend and the kernels are then loaded from (src/engine/native/locate.ts).
// No vscode import. Every failure is a SetupError with one line that names what is missing.
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import {
  cacheRoot,
  CPU_WHEEL,
  GPU_WHEEL,
  LIBTENSORFLOW_ENV,
  MANIFEST_FILE,
  NAPI_VERSION,
  SETUP_LOG_FILE,
  TF_VERSION,
  type LibtensorflowSource,
  type NativeManifest,
  type TfDevice,
} from './paths';
import type { TfjsNodePackage } from './locate';

/** The steps, in order, as progress reports name them. */
export const SETUP_STEPS = {
  tools: 'Checking the build tools',
  libtensorflow: 'Getting libtensorflow',
  binding: 'Compiling the tfjs-node binding',
  kernels: 'Compiling the PSA kernels',
  check: 'Checking that it loads',
} as const;
export type SetupStep = keyof typeof SETUP_STEPS;

/** A set-up that cannot go on: `message` is one line naming what is missing or wrong. */
export class SetupError extends Error {
  /**
   * The missing tool or input, for programs ('python3', 'pip', 'wheel', 'c++', 'make', 'node-gyp', 'node-headers',
   * 'libtensorflow', …).
   */
  constructor(
    message: string,
    readonly missing?: string,
  ) {
    super(message);
  }
}
/** The set-up was cancelled (its build child killed). */
export class SetupCancelled extends Error {
  constructor() {
    super('set-up cancelled');
  }
}

/**
 * Header subtrees the binding needs (checked with `g++ -M` on binding/*.cc); the wheel's full include dir is
 * 268 MB.
 */
const INCLUDE_PREFIXES = ['tensorflow/c/', 'tensorflow/core/platform/', 'tsl/', 'xla/tsl/'];
const WHEEL_LIBS = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'];

export interface SetupReporter {
  step?(step: SetupStep, detail?: string): void;
  /** Every line of the set-up's log (the build children's output included). */
  log?(line: string): void;
}

// ---- tools -----------------------------------------------------------------------------------------------------

export function which(cmd: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return null;
}

export interface BuildTools {
  /**
   * The Node.js executable that runs node-gyp and the load check (a real `node`; Electron with ELECTRON_RUN_AS_NODE
   * otherwise).
   */
  node: string;
  /** A folder with include/node/{common.gypi,node_api.h}. */
  nodeDir: string;
  /** node-gyp's bin/node-gyp.js (npm's own copy). */
  nodeGyp: string;
  python: string;
  make: string;
  cxx: string;
}

function prefixOf(exe: string): string {
  return dirname(dirname(realpathSync(exe)));
}

/** The Node.js executable to build with: this process when it is plain Node, else `node` on PATH. */
export function buildNode(env: NodeJS.ProcessEnv = process.env): string | null {
  if (!process.versions.electron && existsSync(join(prefixOf(process.execPath), 'include', 'node', 'node_api.h')))
    return process.execPath;
  return which('node', env) ?? (process.versions.electron ? null : process.execPath);
}

/** A folder with Node's headers: $npm_config_nodedir, the prefix of `node`, or /usr. */
export function nodeHeadersDir(node: string | null, env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = [env.npm_config_nodedir, node ? prefixOf(node) : undefined, '/usr'];
  return (
    candidates.find(
      (d): d is string =>
        !!d &&
        existsSync(join(d, 'include', 'node', 'common.gypi')) &&
        existsSync(join(d, 'include', 'node', 'node_api.h')),
    ) ?? null
  );
}

/** npm's bundled node-gyp (or $npm_config_node_gyp, or a node-gyp on PATH), or null. */
export function nodeGypPath(node: string | null, env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.npm_config_node_gyp && existsSync(env.npm_config_node_gyp)) return env.npm_config_node_gyp;
  const prefixes = node ? [prefixOf(node)] : [];
  const npm = which('npm', env);
  if (npm) prefixes.push(prefixOf(npm));
  for (const prefix of prefixes) {
    for (const p of [
      join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
      join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
      join(prefix, 'lib', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    ]) {
      if (existsSync(p)) return p;
    }
  }
  return null;
}

/** Every tool the build needs, or a SetupError naming the first one missing. */
export function findBuildTools(env: NodeJS.ProcessEnv = process.env): BuildTools {
  const python = which('python3', env);
  if (!python)
    throw new SetupError('python3 not found on PATH (node-gyp needs Python 3 to configure the build)', 'python3');
  const make = which('make', env);
  if (!make) throw new SetupError('make not found on PATH (install make, e.g. `apt install build-essential`)', 'make');
  const cxx = [env.CXX, 'g++', 'c++', 'clang++']
    .map((c) => (c ? (c.includes('/') ? (existsSync(c) ? c : null) : which(c, env)) : null))
    .find(Boolean);
  if (!cxx)
    throw new SetupError(
      'no C++ compiler (g++, c++ or clang++) found on PATH (install one, e.g. `apt install build-essential`)',
      'c++',
    );
  const node = buildNode(env);
  if (!node) throw new SetupError("node not found on PATH (the build runs npm's node-gyp with Node.js ≥ 20)", 'node');
  const nodeDir = nodeHeadersDir(node, env);
  if (!nodeDir) {
    throw new SetupError(
      `Node.js headers not found (include/node/node_api.h under ${prefixOf(node)} or /usr; ` +
        'install Node.js from nodejs.org or set npm_config_nodedir)',
      'node-headers',
    );
  }
  const nodeGyp = nodeGypPath(node, env);
  if (!nodeGyp)
    throw new SetupError(
      'node-gyp not found (it ships with npm: install Node.js with npm, or `npm install -g node-gyp`)',
      'node-gyp',
    );
  return { node, nodeDir, nodeGyp, python, make, cxx };
}

// ---- child processes --------------------------------------------------------------------------------------------

interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  timeoutMs?: number;
  log?: (line: string) => void;
}

function lastLine(text: string, pattern?: RegExp): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const hit = pattern ? [...lines].reverse().find((l) => pattern.test(l)) : undefined;
  return (hit ?? lines.at(-1) ?? '').slice(0, 240);
}

/** Runs a command, streaming its output to the log; resolves with its exit code and output; rejects on cancel. */
function run(
  cmd: string,
  args: string[],
  o: RunOptions,
): Promise<{ code: number | null; out: string; err: string; error?: Error }> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(new SetupCancelled());
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const onAbort = () => child.kill('SIGKILL');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = o.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), o.timeoutMs) : undefined;
    const pipe = (chunk: Buffer, isErr: boolean) => {
      const text = chunk.toString();
      if (isErr) err += text;
      else out += text;
      if (out.length > 1 << 20) out = out.slice(-(1 << 19));
      if (err.length > 1 << 20) err = err.slice(-(1 << 19));
      for (const line of text.split('\n')) if (line.trim()) o.log?.(line);
    };
    child.stdout.on('data', (c: Buffer) => pipe(c, false));
    child.stderr.on('data', (c: Buffer) => pipe(c, true));
    child.on('error', (e) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      resolve({ code: null, out, err, error: e });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (o.signal?.aborted) reject(new SetupCancelled());
      else resolve({ code, out, err });
    });
  });
}

// ---- libtensorflow -------------------------------------------------------------------------------------------------

export interface Libtensorflow {
  /** A folder with lib/ and include/. */
  dir: string;
  source: LibtensorflowSource;
  wheel?: string;
  gpu: boolean;
  /** CUDA libraries (the nvidia wheels of `tensorflow[and-cuda]`), absolute paths, to preload before the binding. */
  cudaLibs: string[];
}

/**
 * The library file the binding links as -ltensorflow: the wheel's libtensorflow_cc.so.2 or a release's
 * libtensorflow.so.2.
 */
export function mainLibrary(libDir: string): string | null {
  for (const f of ['libtensorflow_cc.so.2', 'libtensorflow.so.2'])
    if (existsSync(join(libDir, f))) return join(libDir, f);
  return null;
}

/**
 * Checks a libtensorflow folder given by the user (`label` names where it came from: --libtensorflow,
 * sbn.libtensorflowPath, SBN_LIBTENSORFLOW); throws one line naming what is missing.
 */
export function checkLibtensorflowDir(dir: string, label: string): void {
  const expected = 'expected a libtensorflow folder with lib/libtensorflow*.so* and include/tensorflow/c/c_api.h';
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new SetupError(`${label} ${dir}: no such folder (${expected})`, 'libtensorflow');
  const lib = join(dir, 'lib');
  if (!existsSync(lib) || !mainLibrary(lib))
    throw new SetupError(
      `${label} ${dir}: no lib/libtensorflow_cc.so.2 or lib/libtensorflow.so.2 (${expected})`,
      'libtensorflow',
    );
  if (!existsSync(join(lib, 'libtensorflow_framework.so.2')))
    throw new SetupError(`${label} ${dir}: no lib/libtensorflow_framework.so.2 (${expected})`, 'libtensorflow');
  for (const h of ['tensorflow/c/c_api.h', 'tensorflow/c/eager/c_api.h']) {
    if (!existsSync(join(dir, 'include', h)))
      throw new SetupError(`${label} ${dir}: no include/${h} (${expected})`, 'libtensorflow');
  }
}

/** The pip requirement the set-up downloads: the CPU wheel, or with --gpu the CUDA-enabled `tensorflow` wheel. */
export function wheelFor(gpu: boolean): string {
  return gpu ? GPU_WHEEL : CPU_WHEEL;
}

/** The cache folder of a wheel's extraction. */
export function libtensorflowCacheDir(gpu: boolean, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), `libtensorflow-${TF_VERSION}${gpu ? '-gpu' : ''}`);
}

function cudaLibsIn(dir: string): string[] {
  const root = join(dir, 'nvidia');
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const pkg of readdirSync(root)) {
    const lib = join(root, pkg, 'lib');
    if (existsSync(lib)) for (const f of readdirSync(lib)) if (/\.so(\.\d+)*$/.test(f)) out.push(join(lib, f));
  }
  return out.sort();
}

function recordOf(dir: string): { wheel?: string; gpu?: boolean } {
  try {
    return JSON.parse(readFileSync(join(dir, '.complete'), 'utf8')) as { wheel?: string; gpu?: boolean };
  } catch {
    return {};
  }
}

const EXTRACT_PY = `
import sys, zipfile, shutil, os
out, libs, prefixes = sys.argv[1], sys.argv[2].split(','), sys.argv[3].split(',')
def put(z, info, target):
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with z.open(info) as src, open(target, 'wb') as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    os.chmod(target, 0o755 if '.so' in target else 0o644)
for whl in sys.argv[4:]:
    with zipfile.ZipFile(whl) as z:
        for info in z.infolist():
            name = info.filename
            if name.endswith('/'):
                continue
            if name.startswith('tensorflow/') and name[len('tensorflow/'):] in libs:
                put(z, info, os.path.join(out, 'lib', name[len('tensorflow/'):]))
            elif name.startswith('tensorflow/include/'):
                rel = name[len('tensorflow/include/'):]
                if any(rel.startswith(p) for p in prefixes):
                    put(z, info, os.path.join(out, 'include', rel))
            elif name.startswith('nvidia/') and '/lib/' in name and '.so' in name:
                put(z, info, os.path.join(out, name))
missing = [l for l in libs if not os.path.exists(os.path.join(out, 'lib', l))]
if missing:
    sys.exit('the wheel lacks ' + ', '.join(missing))
`;

function mkdirp(dir: string): void {
  // mkdirSync({ recursive: true }) spins forever on some paths (e.g. under /proc) in Node 20
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) mkdirp(parent);
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/**
 * Downloads the wheel (and for --gpu the CUDA wheels of tensorflow[and-cuda]) and extracts libtensorflow into the
 * cache.
 */
async function downloadLibtensorflow(
  gpu: boolean,
  o: RunOptions & { env: NodeJS.ProcessEnv },
  fallbackCache?: string,
): Promise<string> {
  let dest = libtensorflowCacheDir(gpu, o.env);
  let cache = dirname(dest);
  try {
    mkdirp(cache);
    accessSync(cache, constants.W_OK);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    if (o.env.SBN_CACHE_DIR || !fallbackCache)
      throw new SetupError(
        `cannot write the cache folder ${cache} (${why}); set SBN_CACHE_DIR to a writable folder`,
        'cache',
      );
    // no writable home cache (CI sandboxes): a checkout keeps it inside the clone (.cache/ is git-ignored)
    o.log?.(`cannot write ${cache} (${why}); using ${fallbackCache}`);
    cache = fallbackCache;
    dest = join(cache, dest.split('/').pop()!);
    try {
      mkdirp(cache);
    } catch (e2) {
      throw new SetupError(
        `cannot create the cache folder ${cache}: ${(e2 as NodeJS.ErrnoException).code ?? (e2 as Error).message}`,
        'cache',
      );
    }
  }
  const python = which('python3', o.env);
  if (!python)
    throw new SetupError(
      'python3 not found on PATH (pip downloads the TensorFlow wheel; or give an existing libtensorflow folder)',
      'python3',
    );
  const pip = spawnSync(python, ['-m', 'pip', '--version'], { encoding: 'utf8', env: o.env });
  if (pip.status !== 0)
    throw new SetupError(
      'pip not available (`python3 -m pip --version` failed; install pip, or give an existing libtensorflow folder)',
      'pip',
    );
  const wheel = wheelFor(gpu);
  const work = join(cache, `.tmp-${process.pid}-${Date.now()}`);
  mkdirp(work);
  try {
    o.log?.(`downloading the ${wheel} wheel with pip (about ${gpu ? '600' : '270'} MB) into ${cache}`);
    const base = [
      '-m',
      'pip',
      'download',
      wheel,
      '--no-deps',
      '--disable-pip-version-check',
      '--no-input',
      '-d',
      join(work, 'wheel'),
    ];
    let r = await run(python, base, { ...o, timeoutMs: 1_800_000 });
    if (r.code !== 0) {
      // The wheel is the same for every CPython; the only one on offer may be for another Python than ours.
      const first = lastLine(r.err) || lastLine(r.out) || `exit ${r.code}`;
      r = await run(python, [...base, '--only-binary=:all:', '--python-version', '3.11', '--implementation', 'cp'], {
        ...o,
        timeoutMs: 1_800_000,
      });
      if (r.code !== 0)
        throw new SetupError(`pip download ${wheel} failed (is it on your package index?): ${first}`, 'wheel');
    }
    const wheels = readdirSync(join(work, 'wheel'))
      .filter((f) => f.endsWith('.whl'))
      .map((f) => join(work, 'wheel', f));
    if (wheels.length !== 1) throw new SetupError(`pip download ${wheel} produced no wheel`, 'wheel');
    const tfWheel = wheels[0];
    if (gpu) {
      // tensorflow[and-cuda] pins the nvidia-*-cu12 wheels that hold CUDA, cuDNN, cuBLAS, …
      o.log?.(`downloading the CUDA libraries of tensorflow[and-cuda]==${TF_VERSION} with pip (several GB)`);
      const c = await run(
        python,
        [
          '-m',
          'pip',
          'download',
          `tensorflow[and-cuda]==${TF_VERSION}`,
          '--disable-pip-version-check',
          '--no-input',
          '--only-binary=:all:',
          '-d',
          join(work, 'cuda'),
        ],
        { ...o, timeoutMs: 3_600_000 },
      );
      if (c.code !== 0)
        throw new SetupError(
          `pip download tensorflow[and-cuda]==${TF_VERSION} failed (the CUDA wheels must be on your package ` +
            `index): ${lastLine(c.err) || `exit ${c.code}`}`,
          'wheel',
        );
      wheels.push(
        ...readdirSync(join(work, 'cuda'))
          .filter((f) => f.startsWith('nvidia_') && f.endsWith('.whl'))
          .map((f) => join(work, 'cuda', f)),
      );
    }
    o.log?.(`extracting libtensorflow from ${tfWheel.split('/').pop()}`);
    const out = join(work, 'lt');
    const x = await run(python, ['-c', EXTRACT_PY, out, WHEEL_LIBS.join(','), INCLUDE_PREFIXES.join(','), ...wheels], {
      ...o,
      timeoutMs: 1_200_000,
    });
    if (x.code !== 0)
      throw new SetupError(`extracting the wheel failed: ${lastLine(x.err) || `exit ${x.code}`}`, 'wheel');
    if (!existsSync(join(out, 'include', 'tensorflow', 'c', 'c_api.h')))
      throw new SetupError('the wheel has no tensorflow/include/tensorflow/c/c_api.h', 'wheel');
    writeFileSync(
      join(out, '.complete'),
      JSON.stringify({ version: TF_VERSION, wheel: tfWheel.split('/').pop(), gpu }) + '\n',
    );
    try {
      renameSync(out, dest);
    } catch (e) {
      // another set-up finished first: use its copy
      if (!existsSync(join(dest, '.complete')))
        throw new SetupError(`cannot move the extraction into ${dest}: ${(e as NodeJS.ErrnoException).code}`, 'cache');
    }
    return dest;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface LibtensorflowChoice {
  /**
   * An existing folder, and where it was given (e.g. "--libtensorflow", "sbn.libtensorflowPath",
   * "SBN_LIBTENSORFLOW").
   */
  path?: { dir: string; label: string };
  gpu: boolean;
  /**
   * A second cache folder for when the user cache is not writable and SBN_CACHE_DIR is unset (a checkout's
   * .cache/sbn-studio).
   */
  fallbackCache?: string;
}

/** Which libtensorflow a set-up uses: a given folder, else the cached wheel extraction, else a download (null). */
export function chooseLibtensorflow(
  choice: LibtensorflowChoice,
  env: NodeJS.ProcessEnv = process.env,
): Libtensorflow | null {
  if (choice.path) {
    checkLibtensorflowDir(choice.path.dir, choice.path.label);
    const dir = realpathSync(choice.path.dir);
    const cuda = cudaLibsIn(dir);
    // a given folder is a GPU library when --gpu says so, or when it carries CUDA libraries or a GPU build's marker
    const gpu = choice.gpu || cuda.length > 0 || recordOf(dir).gpu === true;
    return { dir, source: 'path', gpu, cudaLibs: cuda };
  }
  const primary = libtensorflowCacheDir(choice.gpu, env);
  const candidates = [
    primary,
    ...(choice.fallbackCache && !env.SBN_CACHE_DIR ? [join(choice.fallbackCache, primary.split('/').pop()!)] : []),
  ];
  const cached = candidates.find((d) => existsSync(join(d, '.complete')));
  if (cached)
    return {
      dir: cached,
      source: 'pip-wheel',
      wheel: recordOf(cached).wheel,
      gpu: choice.gpu,
      cudaLibs: cudaLibsIn(cached),
    };
  return null;
}

async function obtainLibtensorflow(
  choice: LibtensorflowChoice,
  o: RunOptions & { env: NodeJS.ProcessEnv },
): Promise<Libtensorflow> {
  const chosen = chooseLibtensorflow(choice, o.env);
  if (chosen) {
    o.log?.(
      `using libtensorflow in ${chosen.dir} ` +
        `(${chosen.source === 'path' ? choice.path!.label : 'cached wheel extraction'}${chosen.gpu ? ', GPU' : ''})`,
    );
    return chosen;
  }
  const dir = await downloadLibtensorflow(choice.gpu, o, choice.fallbackCache);
  return { dir, source: 'pip-wheel', wheel: recordOf(dir).wheel, gpu: choice.gpu, cudaLibs: cudaLibsIn(dir) };
}

// ---- the tfjs-node binding ------------------------------------------------------------------------------------------

/**
 * deps/ layout of a tfjs-node package folder: include/ and the libraries under the names the build and the rpath
 * use.
 */
export function linkDeps(pkgDir: string, lt: Libtensorflow): void {
  const deps = join(pkgDir, 'deps');
  rmSync(deps, { recursive: true, force: true });
  mkdirp(join(deps, 'lib'));
  symlinkSync(join(lt.dir, 'include'), join(deps, 'include'));
  const lib = join(lt.dir, 'lib');
  const main = mainLibrary(lib)!;
  const fw = join(lib, 'libtensorflow_framework.so.2');
  const links: Record<string, string> = {
    'libtensorflow.so': main, // link time (-ltensorflow -ltensorflow_framework)
    'libtensorflow_framework.so': fw,
    'libtensorflow_framework.so.2': fw, // run-time SONAMEs
    [main.split('/').pop()!]: main,
    'libtensorflow.so.2.9.1': main, // tfjs-node's install.js skips its download when these exist
    'libtensorflow_framework.so.2.9.1': fw,
  };
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(deps, 'lib', name));
}

function copyTree(from: string, to: string, skip: (name: string) => boolean = () => false): void {
  mkdirp(to);
  for (const name of readdirSync(from)) {
    if (skip(name)) continue;
    const src = join(from, name);
    if (statSync(src).isDirectory()) copyTree(src, join(to, name), skip);
    else copyFileSync(src, join(to, name));
  }
}

export function packageVersion(pkgDir: string): string {
  return (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Where a compiled binding is kept for reuse: it depends only on the package version, the library and the platform. */
function bindingCacheDir(lt: Libtensorflow, version: string, env: NodeJS.ProcessEnv): string {
  return join(
    lt.source === 'pip-wheel' ? lt.dir : join(cacheRoot(env), 'bindings', lt.dir.replace(/[^A-Za-z0-9]+/g, '_')),
    'bindings',
    `tfjs-node-${version}-${process.platform}-${process.arch}`,
  );
}

function bindingRel(): string {
  return join('lib', `napi-v${NAPI_VERSION}`, 'tfjs_binding.node');
}

function gypEnv(tools: BuildTools, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...env,
    PATH: [dirname(tools.python), dirname(tools.node), env.PATH].filter(Boolean).join(delimiter),
    npm_config_nodedir: tools.nodeDir,
    PYTHON: tools.python,
    JOBS: env.JOBS ?? 'max',
    ...(process.versions.electron && tools.node === process.execPath ? { ELECTRON_RUN_AS_NODE: '1' } : {}),
  };
}

async function nodeGyp(
  dir: string,
  args: string[],
  tools: BuildTools,
  o: RunOptions & { env: NodeJS.ProcessEnv },
  what: string,
): Promise<void> {
  for (const cmd of [
    ['configure', ...args],
    ['build', '--jobs', 'max'],
  ]) {
    const r = await run(tools.node, [tools.nodeGyp, ...cmd, `--nodedir=${tools.nodeDir}`], {
      ...o,
      cwd: dir,
      env: gypEnv(tools, o.env),
      timeoutMs: 1_200_000,
    });
    if (r.error) throw new SetupError(`node-gyp ${cmd[0]} (${what}) did not run: ${r.error.message}`, 'node-gyp');
    if (r.code !== 0) {
      throw new SetupError(
        `node-gyp ${cmd[0]} failed for ${what}: ${lastLine(r.out + '\n' + r.err, /error/i) || `exit ${r.code}`}`,
        'build',
      );
    }
  }
}

/**
 * Compiles (or restores from the binding cache) tfjs-node's binding in pkgDir (binding.gyp and binding/ there);
 * returns its path.
 */
async function buildBinding(
  pkgDir: string,
  lt: Libtensorflow,
  tools: () => BuildTools,
  force: boolean,
  o: RunOptions & { env: NodeJS.ProcessEnv },
): Promise<string> {
  linkDeps(pkgDir, lt);
  const out = join(pkgDir, bindingRel());
  const version = packageVersion(pkgDir);
  const cached = bindingCacheDir(lt, version, o.env);
  rmSync(join(pkgDir, 'lib'), { recursive: true, force: true });
  if (!force && existsSync(join(cached, `napi-v${NAPI_VERSION}`, 'tfjs_binding.node'))) {
    copyTree(cached, join(pkgDir, 'lib'));
    o.log?.(`restored the tfjs-node ${version} binding compiled earlier for this libtensorflow (${cached})`);
    return out;
  }
  rmSync(join(pkgDir, 'build'), { recursive: true, force: true });
  await nodeGyp(
    pkgDir,
    [`--module_name=tfjs_binding`, `--module_path=${dirname(out)}`, `--napi_build_version=${NAPI_VERSION}`],
    tools(),
    o,
    'the tfjs-node binding',
  );
  if (!existsSync(out)) throw new SetupError(`node-gyp produced no ${out}`, 'build');
  return out;
}

function saveBinding(pkgDir: string, lt: Libtensorflow, env: NodeJS.ProcessEnv, log?: (l: string) => void): void {
  const dest = bindingCacheDir(lt, packageVersion(pkgDir), env);
  const tmp = `${dest}.tmp-${process.pid}`;
  try {
    rmSync(tmp, { recursive: true, force: true });
    copyTree(join(pkgDir, 'lib'), tmp);
    rmSync(dest, { recursive: true, force: true });
    mkdirp(dirname(dest));
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    log?.(`note: could not cache the binding (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

// ---- the load check -------------------------------------------------------------------------------------------------

export interface LoadCheck {
  /** TF_Version of the binding (when one was checked). */
  version: string | null;
  kernels: { isa: string; threads: number; isas: string[] } | null;
  devices: TfDevice[];
}

/**
 * Loads the binding and/or the kernels addon in a fresh process (the build's own environment must not mask a
 * missing library) and lists TensorFlow's devices; throws a SetupError with the loader's message.
 */
export async function checkLoads(
  p: { binding?: string; kernels?: string; library?: string; cudaLibs?: string[] },
  o: RunOptions & { env: NodeJS.ProcessEnv },
): Promise<LoadCheck> {
  const code = `const out={version:null,kernels:null,devices:[]};const p=${JSON.stringify(p)};let k;
if(p.kernels){const m={exports:{}};process.dlopen(m,p.kernels);k=m.exports;const i=k.info();
out.kernels={isa:i.isa,threads:i.threads,isas:i.isas};}
if(p.cudaLibs&&p.cudaLibs.length&&k&&k.preload)k.preload(p.cudaLibs);
if(p.binding){const b={exports:{}};process.dlopen(b,p.binding);out.version=String(b.exports.TF_Version);
if(k&&k.tfDevices&&p.library)out.devices=k.tfDevices(p.library);}
process.stdout.write(JSON.stringify(out));`;
  // its output is not logged line by line: libtensorflow's start-up banner is noise; a failure quotes the loader
  const r = await run(process.execPath, ['-e', code], {
    signal: o.signal,
    timeoutMs: 180_000,
    env: {
      ...o.env,
      ELECTRON_RUN_AS_NODE: '1',
      TF_CPP_MIN_LOG_LEVEL: o.env.TF_CPP_MIN_LOG_LEVEL ?? '2',
      TF_ENABLE_ONEDNN_OPTS: o.env.TF_ENABLE_ONEDNN_OPTS ?? '0',
    },
  });
  if (r.code === 0) {
    try {
      return JSON.parse(r.out) as LoadCheck;
    } catch {
      // fall through
    }
  }
  const why = lastLine(r.err, /Error|error:|cannot open|undefined symbol/) || `exit ${r.code}`;
  throw new SetupError(`the built ${p.binding ? 'tfjs-node binding' : 'kernels addon'} does not load: ${why}`, 'load');
}

// ---- the PSA kernels ------------------------------------------------------------------------------------------------

async function buildKernels(
  srcDir: string,
  tools: BuildTools,
  o: RunOptions & { env: NodeJS.ProcessEnv },
): Promise<string> {
  rmSync(join(srcDir, 'build'), { recursive: true, force: true });
  await nodeGyp(srcDir, [], tools, o, 'the PSA kernels');
  const out = join(srcDir, 'build', 'Release', 'sbn_kernels.node');
  if (!existsSync(out)) throw new SetupError(`node-gyp produced no ${out}`, 'build');
  return out;
}

/** The manifest's record of the libtensorflow a binding was built against and loaded with. */
function manifestLibtensorflow(lt: Libtensorflow, check: LoadCheck): NativeManifest['libtensorflow'] {
  return {
    version: check.version ?? TF_VERSION,
    source: lt.source,
    dir: lt.dir,
    ...(lt.wheel ? { wheel: lt.wheel } : {}),
    gpu: lt.gpu,
    cudaLibs: lt.cudaLibs,
  };
}

// ---- the set-up folder ----------------------------------------------------------------------------------------------

export interface NativeSources {
  /** A tfjs-node package folder (package.json, binding.gyp, binding/). */
  tfjsNode: string;
  /** The kernels' sources (binding.gyp, src/). */
  kernels: string;
}

/**
 * The libtensorflow folder the user gave, first of: the CLI flag / the setting (labelled by the caller), then
 * $SBN_LIBTENSORFLOW. Undefined: download (or reuse the cached) wheel.
 */
export function givenLibtensorflow(
  given: { label: string; dir: string | undefined }[],
  env: NodeJS.ProcessEnv = process.env,
): { dir: string; label: string } | undefined {
  for (const g of [...given, { label: LIBTENSORFLOW_ENV, dir: env[LIBTENSORFLOW_ENV] }]) {
    if (g.dir && g.dir.trim()) return { dir: g.dir.trim(), label: g.label };
  }
  return undefined;
}

/**
 * Where the sources are: native-src/ beside the bundle (the VSIX carries them), else the checkout's (tfjs-node-gpu's
 * binding sources when `gpu` and that package is installed).
 */
export function findNativeSources(bundleDir: string = __dirname, gpu = false): NativeSources | null {
  const packed = join(bundleDir, 'native-src');
  if (existsSync(join(packed, 'tfjs-node', 'binding.gyp')) && existsSync(join(packed, 'kernels', 'binding.gyp'))) {
    return { tfjsNode: join(packed, 'tfjs-node'), kernels: join(packed, 'kernels') };
  }
  let tfjsNode: string | null = null;
  for (const name of gpu ? ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] : ['@tensorflow/tfjs-node']) {
    try {
      tfjsNode = dirname(require.resolve(`${name}/package.json`));
      break;
    } catch {
      // not in node_modules
    }
  }
  for (let dir = bundleDir, up = 0; up < 4; up++, dir = dirname(dir)) {
    if (tfjsNode && existsSync(join(dir, 'native', 'binding.gyp'))) return { tfjsNode, kernels: join(dir, 'native') };
  }
  return null;
}

export interface SetupOptions {
  dir: string;
  sources: NativeSources;
  libtensorflow?: { dir: string; label: string };
  gpu?: boolean;
  /** Compile again even when a binding for this libtensorflow was compiled before. */
  force?: boolean;
  signal?: AbortSignal;
  reporter?: SetupReporter;
  env?: NodeJS.ProcessEnv;
}

/**
 * Builds the native backend into `dir`: libtensorflow, the tfjs-node binding, the PSA kernels, a load check in a
 * fresh process, then manifest.json (written last: a folder without it is not a set-up). The full log goes to
 * dir/setup.log and to reporter.log. Throws SetupError (one line) or SetupCancelled.
 */
export async function setupNativeBackend(opts: SetupOptions): Promise<NativeManifest> {
  const env = opts.env ?? process.env;
  const dir = opts.dir;
  try {
    mkdirp(dir);
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new SetupError(
      `cannot write the set-up folder ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      'folder',
    );
  }
  rmSync(join(dir, MANIFEST_FILE), { force: true });
  let logFile: WriteStream | undefined = createWriteStream(join(dir, SETUP_LOG_FILE), { flags: 'w' });
  const log = (line: string) => {
    logFile?.write(line + '\n');
    opts.reporter?.log?.(line);
  };
  const step = (s: SetupStep, detail?: string) => {
    log(`== ${SETUP_STEPS[s]}${detail ? `: ${detail}` : ''}`);
    opts.reporter?.step?.(s, detail);
  };
  const o = { env, signal: opts.signal, log };
  try {
    if (process.platform !== 'linux')
      throw new SetupError(
        `the native set-up supports Linux only (this is ${process.platform}-${process.arch})`,
        'platform',
      );
    step('tools');
    const tools = findBuildTools(env);
    log(
      `node ${tools.node}, headers ${tools.nodeDir}, node-gyp ${tools.nodeGyp}, python ${tools.python}, ` +
        `c++ ${tools.cxx}`,
    );

    step('libtensorflow', opts.libtensorflow ? opts.libtensorflow.dir : wheelFor(!!opts.gpu));
    const lt = await obtainLibtensorflow({ path: opts.libtensorflow, gpu: !!opts.gpu }, o);

    step('binding');
    const pkgDir = join(dir, 'tfjs-node');
    rmSync(pkgDir, { recursive: true, force: true });
    copyTree(
      opts.sources.tfjsNode,
      pkgDir,
      (n) =>
        ['node_modules', 'lib', 'build', 'deps', 'dist', 'src', 'build-tmp-napi-v8'].includes(n) || n.endsWith('.log'),
    );
    const binding = await buildBinding(pkgDir, lt, () => tools, !!opts.force, o);

    step('kernels');
    const kernelsDir = join(dir, 'kernels');
    rmSync(kernelsDir, { recursive: true, force: true });
    copyTree(opts.sources.kernels, kernelsDir, (n) => n === 'build');
    const kernels = await buildKernels(kernelsDir, tools, o);

    step('check');
    const library = join(pkgDir, 'deps', 'lib', 'libtensorflow.so');
    const check = await checkLoads({ binding, kernels, library, cudaLibs: lt.cudaLibs }, o);
    saveBinding(pkgDir, lt, env, log);
    log(
      `libtensorflow ${check.version}; ` +
        `devices: ${check.devices.map((d) => `${d.type} ${d.name}`).join(', ') || 'none listed'}; ` +
        `kernels ${check.kernels?.isa}, ${check.kernels?.threads} threads`,
    );

    const manifest: NativeManifest = {
      schema: 1,
      createdAt: new Date().toISOString(),
      platform: `${process.platform}-${process.arch}`,
      node: `${tools.node} (${process.version})`,
      tfjsNode: {
        package: packageName(opts.sources.tfjsNode),
        version: packageVersion(pkgDir),
        napiVersion: NAPI_VERSION,
      },
      libtensorflow: manifestLibtensorflow(lt, check),
      binding: join('tfjs-node', bindingRel()),
      kernels: join('kernels', 'build', 'Release', 'sbn_kernels.node'),
      check: { devices: check.devices, kernels: check.kernels },
    };
    writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
    log(`set up in ${dir}`);
    return manifest;
  } catch (e) {
    log(`failed: ${(e as Error).message}`);
    throw e;
  } finally {
    const f = logFile;
    logFile = undefined;
    await new Promise<void>((r) => f.end(r));
  }
}

function packageName(pkgDir: string): TfjsNodePackage {
  const name = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { name: string }).name;
  return name === '@tensorflow/tfjs-node-gpu' ? name : '@tensorflow/tfjs-node';
}

// ---- npm install in a checkout --------------------------------------------------------------------------------------

/**
 * `npm install`'s tfjs-node step: builds the binding in node_modules/@tensorflow/tfjs-node (restored from the
 * binding cache when a clone compiled it before), against the cached wheel extraction or $SBN_LIBTENSORFLOW.
 * Returns a one-line summary; throws SetupError.
 */
export async function setupCheckoutTfjsNode(
  pkgDir: string,
  o: { env?: NodeJS.ProcessEnv; log?: (l: string) => void; fallbackCache?: string } = {},
): Promise<string> {
  const env = o.env ?? process.env;
  const ro = { env, log: o.log };
  const library = join(pkgDir, 'deps', 'lib', 'libtensorflow.so');
  const bindingFile = join(pkgDir, bindingRel());
  if (existsSync(bindingFile) && existsSync(join(pkgDir, 'deps', 'lib'))) {
    try {
      const c = await checkLoads({ binding: bindingFile }, ro);
      return `tfjs-node already built (libtensorflow ${c.version})`;
    } catch (e) {
      o.log?.(`existing tfjs-node binding does not load (${(e as Error).message}); rebuilding`);
    }
  }
  const given = env.SBN_LIBTENSORFLOW ? { dir: env.SBN_LIBTENSORFLOW, label: 'SBN_LIBTENSORFLOW' } : undefined;
  const lt = await obtainLibtensorflow(
    { path: given, gpu: packageName(pkgDir) === '@tensorflow/tfjs-node-gpu', fallbackCache: o.fallbackCache },
    ro,
  );
  let tools: BuildTools | undefined;
  const binding = await buildBinding(pkgDir, lt, () => (tools ??= findBuildTools(env)), false, ro);
  const check = await checkLoads({ binding, library }, ro);
  saveBinding(pkgDir, lt, env, o.log);
  const manifest: NativeManifest = {
    schema: 1,
    createdAt: new Date().toISOString(),
    platform: `${process.platform}-${process.arch}`,
    node: `${process.execPath} (${process.version})`,
    tfjsNode: { package: packageName(pkgDir), version: packageVersion(pkgDir), napiVersion: NAPI_VERSION },
    libtensorflow: manifestLibtensorflow(lt, check),
    binding: bindingRel(),
    kernels: null,
    check: { devices: [], kernels: null },
  };
  writeFileSync(join(pkgDir, 'sbn-native.json'), JSON.stringify(manifest, null, 2) + '\n');
  return `tfjs-node built against libtensorflow ${check.version} (${lt.dir})`;
}

/** `npm install`'s kernels step: builds native/build/Release/sbn_kernels.node in place; returns a one-line summary. */
export async function setupCheckoutKernels(
  nativeDir: string,
  force: boolean,
  o: { env?: NodeJS.ProcessEnv; log?: (l: string) => void } = {},
): Promise<string> {
  const env = o.env ?? process.env;
  const addon = join(nativeDir, 'build', 'Release', 'sbn_kernels.node');
  const newestSource = (() => {
    let newest = 0;
    const visit = (p: string) => {
      const st = statSync(p);
      if (st.isDirectory()) {
        for (const n of readdirSync(p)) if (n !== 'build') visit(join(p, n));
      } else newest = Math.max(newest, st.mtimeMs);
    };
    visit(nativeDir);
    return newest;
  })();
  const describe = (c: LoadCheck) =>
    `${c.kernels?.isa}, ${c.kernels?.threads} thread${c.kernels?.threads === 1 ? '' : 's'}`;
  if (!force && existsSync(addon) && statSync(addon).mtimeMs >= newestSource) {
    try {
      return `native kernels up to date (${describe(await checkLoads({ kernels: addon }, { env }))})`;
    } catch (e) {
      o.log?.(`existing native kernels do not load (${(e as Error).message}); rebuilding`);
    }
  }
  const tools = findBuildTools(env);
  const logPath = join(nativeDir, 'build', 'sbn-build.log');
  mkdirp(dirname(logPath));
  const lines: string[] = [];
  try {
    const built = await buildKernels(nativeDir, tools, { env, log: (l) => lines.push(l) });
    return `native kernels built (${describe(await checkLoads({ kernels: built }, { env }))})`;
  } catch (e) {
    if (e instanceof SetupError) throw new SetupError(`${e.message}; see ${logPath}`, e.missing);
    throw e;
  } finally {
    mkdirp(dirname(logPath));
    writeFileSync(logPath, lines.join('\n') + '\n');
  }
}
