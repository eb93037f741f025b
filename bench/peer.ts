// `npm run bench:peer`: our steps against a PyTorch straight-through (ST) step of the same cases (issue 16).
// The peer, bench/peer/sbn_peer.py, is our own PyTorch code, started as a child process and driven by a line
// protocol (bench/peerProtocol.ts). Rounds alternate: PyTorch, our DSTE step, our PSA step, again — so a slow spell
// of this shared machine hits every side — and each column is the best time over all rounds. Cases: training steps
// (estimate + SGD-Nesterov update) of the dense 784-512-512-10 net at batch 64 and 256 and of the Fashion conv
// example at batch 64; a layer step of CIFAR_S1 layer 2 at batch 16; and one epoch of examples/mnist-mlp-psa.sbn.yaml
// (55 000 MNIST-sized random images, batch 64, the evaluations `sbn train` runs included: ours through the
// training session API with a run folder, as `sbn train` does; PyTorch's with the same SBN evaluation).
// Core scaling: every case per thread count (default 1 and every core), each in its own process with
// TF_NUM_INTRAOP_THREADS, SBN_KERNEL_THREADS and OMP_NUM_THREADS set, and torch.set_num_threads on the peer.
// Flags: --threads 1,2   --epoch-threads 1 (which of them also time the epoch; default all)   --rounds N (default 4)
//        --no-epoch.  SBN_PYTHON: the Python with torch (python3).
// Results: bench/results/peer.json.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { initBackend } from '../src/engine/backend';
import { kernelsInfo } from '../src/engine/kernels';
import { disposeNetwork, initNetwork } from '../src/engine/model/network';
import { Rng } from '../src/engine/rng';
import type { ModelSpec } from '../src/engine/spec';
import { chunkRows } from '../src/engine/train/evaluate';
import { buildRunConfig } from '../src/engine/train/session';
import {
  CIFAR_S1_LAYER2,
  CIFAR_S1_LAYERS_1_2,
  convLayerStepPair,
  EPOCH_MODEL,
  exampleModel,
  MLP_784_512_512_10,
  MNIST_TEST,
  MNIST_TRAIN,
  mnistSizedData,
  repoRoot,
  STEP_LR,
  STEP_OPTIMIZER,
  trainEpoch,
  trainingStepPair,
  writeResults,
  type StepPair,
} from './common';
import {
  CONV_LAYER_TARGETS,
  describeRow,
  EPOCH_TARGETS,
  parsePeerReply,
  peerRow,
  STEP_TARGETS,
  type PeerCase,
  type PeerLayer,
  type PeerReply,
  type PeerRow,
  type Targets,
} from './peerProtocol';

const PEER_SCRIPT = path.join(repoRoot, 'bench', 'peer', 'sbn_peer.py');
const PYTHON = process.env.SBN_PYTHON || 'python3';
/** Training examples `sbn train` evaluates at the end of an epoch (the trainer's default). */
const EVAL_TRAIN_EXAMPLES = 5000;

interface Options {
  threads: number[];
  rounds: number;
  /** The thread counts that also time the epoch (default: every one of `threads`). */
  epochThreads?: number[];
  epoch: boolean;
}

function usage(message: string): never {
  process.stderr.write(
    `bench:peer: ${message}\n` +
      '  usage: npm run bench:peer -- [--threads 1,2] [--epoch-threads 1] [--rounds N] [--no-epoch]\n',
  );
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  const cores = os.cpus().length;
  const o: Options = { threads: [...new Set([1, cores])], rounds: 4, epoch: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => argv[++i] ?? usage(`${flag} needs a value`);
    if (flag === '--threads' || flag === '--epoch-threads') {
      const v = value();
      const list = v.split(',').map(Number);
      if (list.some((n) => !Number.isInteger(n) || n < 1))
        usage(`${flag} ${v}: expected a comma-separated list of thread counts ≥ 1, e.g. 1,2`);
      if (flag === '--threads') o.threads = list;
      else o.epochThreads = list;
    } else if (flag === '--rounds') {
      const v = value();
      o.rounds = Number(v);
      if (!Number.isInteger(o.rounds) || o.rounds < 1) usage(`--rounds ${v}: expected a whole number ≥ 1`);
    } else if (flag === '--no-epoch') o.epoch = false;
    else usage(`unknown flag ${flag}`);
  }
  return o;
}

/** The peer process: one request at a time, one reply line each. */
class Peer {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private ended = false;

  constructor(threads: number) {
    this.proc = spawn(PYTHON, [PEER_SCRIPT, '--threads', String(threads)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr.pipe(process.stderr);
    const rl = createInterface({ input: this.proc.stdout });
    rl.on('line', (line) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(line);
      } else this.lines.push(line);
    });
    rl.on('close', () => {
      this.ended = true;
      this.waiting?.(null);
    });
  }

  async next(): Promise<PeerReply> {
    const line =
      this.lines.shift() ??
      (this.ended ? null : await new Promise<string | null>((resolve) => (this.waiting = resolve)));
    if (line === null) throw new Error('the PyTorch peer exited without replying');
    return parsePeerReply(line);
  }

  async request(command: string): Promise<PeerReply> {
    this.proc.stdin.write(command + '\n');
    const r = await this.next();
    if (r.kind === 'error') throw new Error(`the PyTorch peer: ${r.message} (after "${command.slice(0, 60)}")`);
    return r;
  }

  async run(reps: number): Promise<number[]> {
    const r = await this.request(`run ${reps}`);
    if (r.kind !== 'times') throw new Error(`the PyTorch peer answered run with ${r.kind}`);
    return r.ms;
  }

  close(): void {
    if (!this.ended) this.proc.stdin.end('quit\n');
  }
}

/** A model's hidden layers as the peer builds them (every layer type the engine has: dense, conv, flatten). */
function peerLayers(spec: ModelSpec): PeerLayer[] {
  return spec.layers.map((l): PeerLayer => {
    if (l.type === 'dense') return { type: 'dense', units: l.units };
    if (l.type === 'flatten') return { type: 'flatten' };
    return { type: 'conv', filters: l.filters, kernel: l.kernel, stride: l.stride ?? 1, padding: l.padding ?? 0 };
  });
}

function netCase(spec: ModelSpec, batch: number): PeerCase {
  return {
    kind: 'net',
    batch,
    input: spec.input.shape,
    layers: peerLayers(spec),
    outputUnits: spec.output.units,
    optimizer: { type: STEP_OPTIMIZER.type, momentum: STEP_OPTIMIZER.momentum, nesterov: STEP_OPTIMIZER.nesterov },
    lr: STEP_LR,
  };
}

interface StepCase {
  name: string;
  targets: Targets;
  peer: PeerCase;
  steps: (rng: Rng) => StepPair;
  /** Steps per side per round. */
  reps: number;
}

function stepCases(): StepCase[] {
  const fashion = exampleModel('fashion-conv-psa.sbn.yaml');
  const g = CIFAR_S1_LAYER2;
  return [
    ...[64, 256].map((batch) => ({
      name: `dense 784-512-512-10, batch ${batch}, training step`,
      targets: STEP_TARGETS,
      peer: netCase(MLP_784_512_512_10, batch),
      steps: (rng: Rng) => trainingStepPair(MLP_784_512_512_10, batch, rng),
      reps: 5,
    })),
    {
      name: 'conv fashion-conv example, batch 64, training step',
      targets: STEP_TARGETS,
      peer: netCase(fashion, 64),
      steps: (rng) => trainingStepPair(fashion, 64, rng),
      reps: 5,
    },
    {
      name: 'conv CIFAR_S1 layers 1–2 (3×32×32 → 96×30×30 → 96×28×28) + classifier, batch 16, training step',
      targets: CONV_LAYER_TARGETS,
      peer: netCase(CIFAR_S1_LAYERS_1_2, 16),
      steps: (rng) => trainingStepPair(CIFAR_S1_LAYERS_1_2, 16, rng),
      reps: 2,
    },
    {
      // the layer's TensorFlow.js ops, as the trainer ran them before the native conv step: kept as a reference,
      // without targets (the row above holds them)
      name: 'conv CIFAR_S1 layer 2 (96×30×30 → 96×28×28, 3×3), batch 16, layer step, TensorFlow.js ops',
      targets: {},
      peer: {
        kind: 'conv-layer',
        batch: 16,
        inShape: g.inShape,
        filters: g.filters,
        kernel: g.kernel,
        stride: g.stride,
        padding: g.padding,
      },
      steps: (rng) => convLayerStepPair(g, 16, rng),
      reps: 2,
    },
  ];
}

function timesOf(fn: () => void, reps: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = process.hrtime.bigint();
    fn();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}

function epochCase(spec: ModelSpec, rng: Rng): PeerCase {
  const t = buildRunConfig(spec, EPOCH_MODEL, { epochs: 1 }).train;
  const net = initNetwork(spec, rng);
  const evalChunk = chunkRows(net, t.evalSamples);
  disposeNetwork(net);
  const validation = spec.data?.validation ?? 0;
  return {
    kind: 'epoch',
    batch: t.batchSize,
    input: spec.input.shape,
    layers: peerLayers(spec),
    outputUnits: spec.output.units,
    optimizer: { type: t.optimizer.type },
    lr: typeof t.lr === 'number' ? t.lr : 1e-3,
    train: MNIST_TRAIN - validation,
    validation,
    test: MNIST_TEST,
    evalTrain: EVAL_TRAIN_EXAMPLES,
    evalSamples: t.evalSamples,
    evalChunk,
  };
}

interface ChildResult {
  threads: number;
  torch: string;
  torchThreads: number;
  backend: string;
  kernels: string;
  rows: PeerRow[];
}

async function child(threads: number, options: Options): Promise<ChildResult> {
  const backend = await initBackend(process.env.SBN_BENCH_BACKEND);
  const peer = new Peer(threads);
  const rows: PeerRow[] = [];
  try {
    const hello = await peer.next();
    if (hello.kind !== 'ready') throw new Error(`the PyTorch peer did not start: ${JSON.stringify(hello)}`);
    const rng = new Rng(1);
    for (const c of stepCases()) {
      await peer.request(`setup ${JSON.stringify(c.peer)}`);
      const steps = c.steps(rng);
      const times = { torch: [] as number[], dste: [] as number[], psa: [] as number[] };
      await peer.run(1); // warm-up of every side
      steps.dste();
      steps.psa();
      for (let r = 0; r < options.rounds; r++) {
        times.torch.push(...(await peer.run(c.reps)));
        times.dste.push(...timesOf(steps.dste, c.reps));
        times.psa.push(...timesOf(steps.psa, c.reps));
      }
      steps.dispose();
      rows.push(peerRow(c.name, threads, times, c.targets));
      process.stderr.write(`bench:peer: ${describeRow(rows[rows.length - 1])}\n`);
    }
    if (options.epoch && (options.epochThreads ?? [threads]).includes(threads)) {
      const spec = exampleModel(EPOCH_MODEL);
      await peer.request(`setup ${JSON.stringify(epochCase(spec, rng))}`);
      const torch = await peer.run(1);
      const ours = await trainEpoch(spec, EPOCH_MODEL, mnistSizedData(spec, rng), backend);
      rows.push(
        peerRow(
          `epoch of ${EPOCH_MODEL} (PSA; 55 000 images, batch 64, evaluations included)`,
          threads,
          { torch, dste: [], psa: [ours] },
          EPOCH_TARGETS,
        ),
      );
      process.stderr.write(`bench:peer: ${describeRow(rows[rows.length - 1])}\n`);
    }
    return {
      threads,
      torch: hello.torch,
      torchThreads: hello.threads,
      backend: backend.detail,
      kernels: kernelsInfo().detail,
      rows,
    };
  } finally {
    peer.close();
  }
}

/** Whether torch imports: undefined when it does, else the one line saying why not and how to install it. */
function torchProblem(): string | undefined {
  const r = spawnSync(PYTHON, [PEER_SCRIPT, '--threads', '1'], { input: 'quit\n', encoding: 'utf8' });
  if (r.error) return `${PYTHON} could not be started (${r.error.message}); set SBN_PYTHON to a Python with torch`;
  const first = r.stdout.split('\n')[0] ?? '';
  try {
    const reply = parsePeerReply(first);
    if (reply.kind === 'ready') return undefined;
    if (reply.kind === 'missing-torch')
      return (
        `PyTorch is not installed for ${PYTHON} (${reply.reason}): ` +
        'pip install torch --index-url https://download.pytorch.org/whl/cpu (the CPU wheel is enough)'
      );
  } catch {
    /* reported below */
  }
  return `the PyTorch peer (${path.relative(process.cwd(), PEER_SCRIPT)}) did not start: ${first || r.stderr.trim()}`;
}

function fmt(v: number | null, digits: number): string {
  return v === null ? '—' : v.toFixed(digits);
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--child');
  if (i >= 0) {
    const options = parseOptions(process.argv.slice(i + 2));
    process.stdout.write(JSON.stringify(await child(Number(process.argv[i + 1]), options)) + '\n');
    return;
  }
  const args = process.argv.slice(2);
  const options = parseOptions(args);
  const problem = torchProblem();
  if (problem) {
    process.stderr.write(`bench:peer: skipped — ${problem}\n`);
    return;
  }
  const results: ChildResult[] = [];
  for (const threads of options.threads) {
    process.stderr.write(`bench:peer: ${threads} thread${threads === 1 ? '' : 's'} …\n`);
    const n = String(threads);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2',
      TF_NUM_INTRAOP_THREADS: n,
      SBN_KERNEL_THREADS: n,
      OMP_NUM_THREADS: n,
    };
    const r = spawnSync(process.execPath, [__filename, '--child', n, ...args], {
      encoding: 'utf8',
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    if (r.status !== 0) {
      process.stderr.write(`bench:peer: the run with ${threads} threads failed (exit ${r.status ?? r.signal})\n`);
      continue;
    }
    results.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult);
  }
  if (results.length === 0) {
    process.exitCode = 1;
    return;
  }
  const rows = results.flatMap((r) => r.rows);
  const lines = [
    '',
    `PyTorch ${results[0].torch} against ${results[0].backend}, kernels ${results.map((r) => r.kernels).join(' / ')}`,
    `  ${'case'.padEnd(100)}${'threads'.padStart(8)}${'torch ms'.padStart(10)}${'DSTE ms'.padStart(10)}` +
      `${'PSA ms'.padStart(10)}${'DSTE/t'.padStart(8)}${'PSA/t'.padStart(8)}  targets`,
  ];
  for (const r of rows) {
    lines.push(
      `  ${r.case.padEnd(100)}${String(r.threads).padStart(8)}${fmt(r.torch_st_ms, 1).padStart(10)}` +
        `${fmt(r.dste_ms, 1).padStart(10)}${fmt(r.psa_ms, 1).padStart(10)}` +
        `${fmt(r.dste_over_torch, 2).padStart(8)}${fmt(r.psa_over_torch, 2).padStart(8)}  ` +
        `${r.targets.dste === undefined && r.targets.psa === undefined ? '— (reference)' : r.met ? 'met' : 'not met'}`,
    );
  }
  console.log(lines.join('\n'));
  const out = writeResults('peer.json', {
    machine: {
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
      backend: results[0].backend,
      torch: results[0].torch,
      threads: results.map((r) => ({ ours: r.threads, kernels: r.kernels, torch: r.torchThreads })),
    },
    method:
      'best of ' +
      `${options.rounds} alternating rounds (PyTorch ST, our DSTE, our PSA); ratios are of the best times; ` +
      'the epoch is one run of each side',
    targets: {
      step: STEP_TARGETS,
      convLayer: CONV_LAYER_TARGETS,
      epoch: EPOCH_TARGETS,
    },
    allMet: rows.every((r) => r.met),
    rows,
  });
  process.stderr.write(`bench:peer: results in ${path.relative(process.cwd(), out)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:peer: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
