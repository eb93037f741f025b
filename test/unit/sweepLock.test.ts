// test-backends: one
// The cross-process lock of sweep.json and suite.json: concurrent processes each updating their own entry many
// times lose nothing; a lock left by a dead process is taken over.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withFileLock, lockPathOf, FileLockError } from '../../src/engine/fileLock';
import { createSweepFolder, parseSweepText, readSweepState } from '../../src/engine/sweeps';
import { repoRoot } from './helpers/fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-sweep-lock-'));
const writer = path.join(__dirname, 'helpers', 'stateWriter.js');
const PROCESSES = 4;
const TIMES = 40;

function run(args: string[]): Promise<number | null> {
  const child = spawn(process.execPath, [writer, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

test(`sweep.json: ${PROCESSES} processes × ${TIMES} updates of their own points, none lost`, async () => {
  const model = path.join(tmp, 'm.sbn.json');
  fs.copyFileSync(path.join(repoRoot(), 'examples', 'toy2d.sbn.json'), model);
  const file = path.join(tmp, 's.sbn-sweep.yaml');
  const parsed = parseSweepText('model: m.sbn.json\ngrid:\n  train.lr: [0.1, 0.2]\nseeds: 2\n', file);
  assert.ok(parsed.ok);
  const dir = path.join(tmp, 'sweep');
  const state = createSweepFolder(dir, file, '', parsed.sweep);
  const ids = state.points.map((p) => p.id);
  assert.equal(ids.length, PROCESSES);
  const codes = await Promise.all(ids.map((id) => run(['sweep', dir, id, String(TIMES)])));
  assert.deepEqual(
    codes,
    ids.map(() => 0),
  );
  assert.deepEqual(
    readSweepState(dir).points.map((p) => p.attempts),
    ids.map(() => TIMES),
  );
  assert.ok(!fs.existsSync(lockPathOf(path.join(dir, 'sweep.json'))), 'the lock is released');
});

test(`suite.json: ${PROCESSES} processes × ${TIMES} updates of their own methods, none lost`, async () => {
  const dir = path.join(tmp, 'suite');
  fs.mkdirSync(dir);
  const methods = ['tanh', 'psa', 'dste', 'adf'].slice(0, PROCESSES);
  const codes = await Promise.all(methods.map((m) => run(['suite', dir, 'mnist-mlp', m, String(TIMES)])));
  assert.deepEqual(
    codes,
    methods.map(() => 0),
  );
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'suite.json'), 'utf8')) as {
    methods: Record<string, { runDir: string }>;
  };
  assert.deepEqual(
    methods.map((m) => state.methods[m].runDir),
    methods.map(() => String(TIMES)),
  );
});

test('a lock left by a dead process is taken over; a live holder makes others wait, then time out', () => {
  const file = path.join(tmp, 'state.json');
  const lock = lockPathOf(file);
  fs.mkdirSync(lock);
  // a pid that is not running on this machine
  fs.writeFileSync(
    path.join(lock, 'owner'),
    JSON.stringify({ pid: 2 ** 22 + 12345, hostname: os.hostname(), time: new Date().toISOString(), token: 'x' }),
  );
  assert.equal(
    withFileLock(file, () => 42),
    42,
  );
  assert.ok(!fs.existsSync(lock));
  withFileLock(file, () => {
    assert.throws(
      () => withFileLock(file, () => 0, { timeoutMs: 100 }),
      (e: unknown) => e instanceof FileLockError && /is held by process \d+ on /.test(e.message),
    );
  });
});
