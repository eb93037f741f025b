// test-backends: one
// `npm run bench:peer`'s parts that can fail without timing anything: the peer's replies (bench/peerProtocol.ts),
// the result rows and their targets, and the Python peer (bench/peer/sbn_peer.py) itself — its "missing torch"
// answer with a torch that does not import, and, where PyTorch is installed, a tiny case through the protocol.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CONV_LAYER_TARGETS,
  describeRow,
  EPOCH_TARGETS,
  parsePeerReply,
  peerRow,
  STEP_TARGETS,
  type PeerCase,
} from '../../bench/peerProtocol';

const root = path.resolve(__dirname, '..', '..', '..');
const PEER = path.join(root, 'bench', 'peer', 'sbn_peer.py');
const python = process.env.SBN_PYTHON || 'python3';
const hasPython = !spawnSync(python, ['--version']).error;
const hasTorch = hasPython && spawnSync(python, ['-c', 'import torch']).status === 0;

test('peer replies: every kind parses, anything else is named with the line', () => {
  assert.deepEqual(parsePeerReply('ready {"torch": "2.13.0+cpu", "threads": 2}'), {
    kind: 'ready',
    torch: '2.13.0+cpu',
    threads: 2,
  });
  assert.deepEqual(parsePeerReply('missing-torch No module named torch'), {
    kind: 'missing-torch',
    reason: 'No module named torch',
  });
  assert.deepEqual(parsePeerReply('ok training step, 10 parameters'), {
    kind: 'ok',
    what: 'training step, 10 parameters',
  });
  assert.deepEqual(parsePeerReply('times 3.5 4 2.25\n'), { kind: 'times', ms: [3.5, 4, 2.25] });
  assert.deepEqual(parsePeerReply('error run before setup'), { kind: 'error', message: 'run before setup' });
  assert.throws(() => parsePeerReply('times'), /"times": expected times followed by milliseconds/);
  assert.throws(() => parsePeerReply('times 1 x'), /expected times followed by milliseconds/);
  assert.throws(() => parsePeerReply('times -1'), /expected times followed by milliseconds/);
  assert.throws(() => parsePeerReply('ready {"torch": 2}'), /expected ready \{"torch"/);
  assert.throws(() => parsePeerReply('ready not json'), /expected ready/);
  assert.throws(() => parsePeerReply('Traceback (most recent call last):'), /"Traceback.*expected ready, ok, times/);
});

test('rows: best of each side, ratios of the bests, targets met or not', () => {
  const r = peerRow('dense', 2, { torch: [4, 2, 3], dste: [2.6, 2.2], psa: [3.2, 3.1] }, STEP_TARGETS);
  assert.equal(r.torch_st_ms, 2);
  assert.equal(r.dste_ms, 2.2);
  assert.equal(r.psa_ms, 3.1);
  assert.ok(Math.abs(r.dste_over_torch! - 1.1) < 1e-12);
  assert.ok(Math.abs(r.psa_over_torch! - 1.55) < 1e-12);
  assert.equal(r.met, false, 'PSA 1.55× misses ≤ 1.5');
  assert.match(describeRow(r), /DSTE 1\.10× \(≤ 1\.2: met\), PSA 1\.55× \(≤ 1\.5: not met\)/);
  assert.equal(peerRow('conv', 1, { torch: [10], dste: [12], psa: [25] }, CONV_LAYER_TARGETS).met, true);
  assert.equal(peerRow('conv', 1, { torch: [10], dste: [12.1], psa: [20] }, CONV_LAYER_TARGETS).met, false);
  // the epoch has no DSTE side: only PSA is held to its target
  const epoch = peerRow('epoch', 1, { torch: [3000], dste: [], psa: [4000] }, EPOCH_TARGETS);
  assert.equal(epoch.dste_ms, null);
  assert.equal(epoch.dste_over_torch, null);
  assert.equal(epoch.met, true);
  assert.doesNotMatch(describeRow(epoch), /DSTE/);
  assert.throws(() => peerRow('empty', 1, { torch: [], dste: [1], psa: [1] }, STEP_TARGETS), /empty: no PyTorch time/);
});

test('the peer without torch says so in one line and exits 0', { skip: !hasPython && `${python} not found` }, () => {
  const fake = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-peer-notorch-'));
  try {
    fs.writeFileSync(path.join(fake, 'torch.py'), 'raise ImportError("No module named torch")\n');
    const r = spawnSync(python, [PEER, '--threads', '1'], {
      input: 'quit\n',
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: fake },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(parsePeerReply(r.stdout.trim()), { kind: 'missing-torch', reason: 'No module named torch' });
  } finally {
    fs.rmSync(fake, { recursive: true, force: true });
  }
});

test('the peer runs a case through the protocol', { skip: !hasTorch && 'PyTorch is not installed' }, () => {
  const net: PeerCase = {
    kind: 'net',
    batch: 4,
    input: [1, 6, 6],
    layers: [
      { type: 'conv', filters: 2, kernel: 3, stride: 2, padding: 1 },
      { type: 'flatten' },
      { type: 'dense', units: 5 },
    ],
    outputUnits: 3,
    optimizer: { type: 'sgd', momentum: 0.9, nesterov: true },
    lr: 0.1,
  };
  const input = [
    'run 1',
    `setup ${JSON.stringify(net)}`,
    'run 3',
    'setup {"kind": "pool"}',
    'setup {"kind": "conv-layer", "batch": 2, "inShape": [3, 5, 5], "filters": 4, "kernel": 3, "stride": 1, ' +
      '"padding": 0}',
    'run 2',
    'quit',
  ].join('\n');
  const r = spawnSync(python, [PEER, '--threads', '1'], { input, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const replies = r.stdout.trim().split('\n').map(parsePeerReply);
  assert.equal(replies.length, 7, r.stdout);
  assert.equal(replies[0].kind, 'ready');
  assert.deepEqual(replies[1], { kind: 'error', message: 'run before setup' });
  // conv 1×6×6 → 2×3×3 (20 parameters), dense 18 → 5 (95), output 5 → 3 (18)
  assert.deepEqual(replies[2], { kind: 'ok', what: 'training step, 133 parameters' });
  assert.equal(replies[3].kind === 'times' && replies[3].ms.length, 3);
  assert.equal(replies[4].kind, 'error');
  assert.deepEqual(replies[5], { kind: 'ok', what: 'conv layer step, output 2x4x3x3' });
  assert.equal(replies[6].kind === 'times' && replies[6].ms.length, 2);
});
