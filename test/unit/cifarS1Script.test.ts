// test-backends: one
// scripts/cifar-s1.sh (CIFAR_S1 on several machines with the queue, docs/results.md): its argument checking — one
// line and exit code 2 for a missing or incomplete data folder, a bad queue URL, a misplaced option — and, with
// --dry-run, the sbn commands it runs, whose every flag `sbn … --help` lists. Nothing is trained.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from './helpers/fixtures';

const root = repoRoot();
const script = path.join(root, 'scripts', 'cifar-s1.sh');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-cifar-s1-'));
const BATCHES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];

function runScript(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', [script, ...args], {
    cwd: tmp,
    encoding: 'utf8',
    env: { ...process.env, SBN: '', SBN_REDIS_PASSWORD: '', ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A refusal: exit code 2 and one line on stderr that matches `line`. */
function refused(args: string[], line: RegExp): void {
  const r = runScript(args);
  assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], line);
  assert.equal(r.stdout, '');
}

const queue = 'redis://10.0.0.5:6379';

test('cifar-s1.sh refuses bad arguments with one line and exit code 2', () => {
  const data = path.join(tmp, 'cifar-10-batches-bin');
  fs.mkdirSync(data);
  refused([], /^cifar-s1\.sh: expected coordinator or worker/);
  refused(['train'], /got "train"/);
  refused(['coordinator', '--queue', queue], /^cifar-s1\.sh: --data: give the folder/);
  refused(['coordinator', '--data', path.join(tmp, 'nope'), '--queue', queue], /--data: .*nope: no such folder$/);
  refused(['coordinator', '--data', data, '--queue', queue], /--data: .*data_batch_1\.bin: missing/);
  for (const f of [...BATCHES, 'test_batch.bin']) fs.writeFileSync(path.join(data, f), '');
  refused(['coordinator', '--data', data], /--queue: give the queue/);
  refused(['coordinator', '--data', data, '--queue', 'http://host'], /--queue: expected redis:\/\/HOST:PORT/);
  refused(['coordinator', '--data', data, '--queue', queue, '--seeds', '0'], /--seeds: expected a positive/);
  refused(['coordinator', '--data', data, '--queue', queue, '--epochs'], /--epochs: expects a value/);
  refused(['coordinator', '--data', data, '--queue', queue, '--bogus'], /unknown option "--bogus"/);
  refused(['worker'], /--queue: give the queue/);
  refused(['worker', '--queue', queue, '--data', data], /worker: --data.* belong to the coordinator/);
  assert.equal(runScript(['--help']).status, 0);
});

test('cifar-s1.sh runs sbn experiment train and sbn worker with flags that exist', () => {
  const data = path.join(tmp, 'batches');
  fs.mkdirSync(data);
  for (const f of [...BATCHES, 'test_batch.bin']) fs.writeFileSync(path.join(data, f), '');
  const out = path.join(tmp, 'suite');
  const coordinator = runScript([
    'coordinator',
    '--data',
    data,
    '--queue',
    queue,
    '--out',
    out,
    '--epochs',
    '200',
    '--start-redis',
    '--dry-run',
  ]);
  assert.equal(coordinator.status, 0, coordinator.stderr);
  assert.ok(!fs.existsSync(out), '--dry-run makes nothing');
  const [redis, train] = coordinator.stdout.trim().split('\n');
  assert.match(redis, /^redis-server --port 6379 --dir \S+\/suite\/redis --appendonly yes/);
  const sbn = `node ${path.join(root, 'bin', 'sbn.js')}`;
  assert.equal(
    train.trim(),
    `${sbn} experiment train --suite cifar10-s1 --data ${data} --out ${out} --seeds 3 --queue ${queue} --epochs 200`,
  );
  const worker = runScript(['worker', '--queue', `${queue}/2`, '--concurrency', '2', '--dry-run']);
  assert.equal(worker.status, 0, worker.stderr);
  assert.equal(worker.stdout.trim(), `${sbn} worker --queue ${queue}/2 --concurrency 2`);

  // every flag the script passes is one that sbn documents
  const help = (args: string[]) =>
    spawnSync(process.execPath, [path.join(root, 'bin', 'sbn.js'), ...args, '--help'], { encoding: 'utf8' }).stdout;
  const trainHelp = help(['experiment', 'train']);
  for (const flag of ['--suite', '--data', '--out', '--seeds', '--queue', '--epochs', '--methods'])
    assert.ok(trainHelp.includes(flag), `sbn experiment train --help lists ${flag}`);
  assert.ok(trainHelp.includes('cifar10-s1'));
  const workerHelp = help(['worker']);
  for (const flag of ['--queue', '--concurrency']) assert.ok(workerHelp.includes(flag), `sbn worker lists ${flag}`);
});

const hasRedis =
  spawnSync('redis-server', ['--version']).status === 0 && spawnSync('redis-cli', ['--version']).status === 0;

test(
  '--start-redis with SBN_REDIS_PASSWORD: Redis asks for that password, which no command line shows',
  { skip: hasRedis ? false : 'no redis-server / redis-cli on this machine (apt-get install redis-server)' },
  () => {
    const data = path.join(tmp, 'batches-redis');
    fs.mkdirSync(data);
    for (const f of [...BATCHES, 'test_batch.bin']) fs.writeFileSync(path.join(data, f), '');
    const out = path.join(tmp, 'suite-redis');
    const port = 20000 + (process.pid % 20000);
    const password = 'a "quoted" pass\\word with spaces';
    const args = ['coordinator', '--data', data, '--queue', `redis://127.0.0.1:${port}`, '--out', out, '--start-redis'];
    const dry = runScript([...args, '--dry-run'], { SBN_REDIS_PASSWORD: password });
    assert.equal(dry.status, 0, dry.stderr);
    assert.ok(!dry.stdout.includes('quoted'), `the dry run does not print the password: ${dry.stdout}`);
    assert.match(dry.stdout, /^redis-server - --port \d+ .*# stdin: requirepass from \$SBN_REDIS_PASSWORD$/m);
    // `true` stands in for sbn: only the Redis start is under test
    const real = runScript(args, { SBN_REDIS_PASSWORD: password, SBN: 'true' });
    const cli = (...a: string[]) => spawnSync('redis-cli', ['-p', String(port), ...a], { encoding: 'utf8' });
    try {
      assert.equal(real.status, 0, real.stderr);
      let pong = '';
      for (let i = 0; i < 50 && !pong.includes('PONG'); i++) {
        spawnSync('sleep', ['0.1']);
        pong = cli('-a', password, '--no-auth-warning', 'ping').stdout;
      }
      assert.match(pong, /PONG/, 'the password as given opens it');
      assert.match(cli('ping').stdout, /NOAUTH/, 'without the password Redis refuses');
      const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
      assert.ok(!ps.includes('quoted'), 'no process shows the password on its command line');
    } finally {
      cli('-a', password, '--no-auth-warning', 'shutdown', 'nosave');
    }
  },
);
