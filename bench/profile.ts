// `npm run bench:profile`: where a training step's time goes, and where an epoch of `sbn train` goes (issue 16:
// "profile first"). Findings are written up in docs/kernels.md, "Where a step's time goes".
//  - Step (DSTE and PSA, dense 784-512-512-10 at batch 64 and 256, SGD-Nesterov): wall time per phase — the
//    estimate (forward sampling and backward), the gradients' reshape, the optimiser update, the read-back that ends
//    the step, dispose — and inside the estimate the time in the native kernels (each entry point timed by wrapping
//    the addon's functions), in read-backs to typed arrays (Tensor.dataSync wrapped), in TensorFlow.js ops
//    (tf.profile: each kernel's own time, measured in a separate pass because profiling reads every output back) and
//    the rest (JavaScript: tidy, tensor bookkeeping, argument checks). Ops per step and the most expensive ops.
//  - The trainer's step (trainer.ts trainStep) by its two gradient routes — the native dense step's host arrays
//    straight to the optimiser, and SBN_DENSE_STEP=tensors (through the tfjs checks) — alternated step by step.
//  - The trainer's step by the host route in phases: the native step, the addon's clip and check, the optimiser's
//    update calls and the rest of its step, the rest of trainStep; minor page faults per step.
//  - The cost of one TensorFlow.js op on its own: a scalar add, kept and disposed.
//  - Epoch (examples/mnist-mlp-psa.sbn.yaml, MNIST-sized random data, batch 64): the session's events give the
//    training loop and each evaluation; the loop is split into steps (timed on their own), layer statistics (timed
//    on their own) and the rest (batching, logging, metrics, checkpoints).
// Flags: --reps N (steps per case, default 20)   --epoch-train N (training examples, default MNIST's 55 000)
//        --no-epoch   --host-phases (only the host route's phases).  Results: bench/results/profile.json.
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo } from '../src/engine/backend';
import { createEstimator, disposeEstimate } from '../src/engine/estimators';
import { kernelsInfo, nativeKernels, type NativeKernels } from '../src/engine/kernels';
import { disposeNetwork, initNetwork } from '../src/engine/model/network';
import { Rng } from '../src/engine/rng';
import type { ModelSpec } from '../src/engine/spec';
import { layerStatistics } from '../src/engine/train/monitor';
import { createOptimizer } from '../src/engine/train/optimizer';
import { TRAIN_DEFAULTS } from '../src/engine/spec/model';
import { trainStep, type StepState } from '../src/engine/train/trainer';
import { buildRunConfig } from '../src/engine/train/session';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  EPOCH_MODEL,
  exampleModel,
  MLP_784_512_512_10,
  mnistSizedData,
  STEP_LR,
  STEP_OPTIMIZER,
  trainEpoch,
  writeResults,
} from './common';

/** Time accumulated by the wrapped functions since the last reset. */
const spent = { kernels: new Map<string, number>(), readBackMs: 0, readBacks: 0, addonTimed: false };

function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

const TIMED_KERNELS: readonly (keyof NativeKernels)[] = [
  'psaDense',
  'ratioConv',
  'psaFlips',
  'bernoulli',
  'denseStep',
  'densePsaStep',
  'clipFinite',
  'sgdUpdate',
  'adamUpdate',
];

/**
 * Time the addon's entry points and Tensor.dataSync. The addon's exports are read-only, so the wrapping happens
 * where src/engine/kernels.ts loads it (process.dlopen): call before anything loads the addon (initBackend does).
 */
function instrument(): void {
  const dlopen = process.dlopen.bind(process);
  process.dlopen = (module: { exports: unknown }, filename: string, ...rest: unknown[]) => {
    (dlopen as (...a: unknown[]) => void)(module, filename, ...rest);
    if (path.basename(filename) !== 'sbn_kernels.node') return;
    const addon = module.exports as Record<string, unknown>;
    const wrapped: Record<string, unknown> = {};
    for (const name of Object.getOwnPropertyNames(addon)) {
      const f = addon[name];
      if (typeof f !== 'function') wrapped[name] = f;
      else if (!(TIMED_KERNELS as readonly string[]).includes(name))
        wrapped[name] = (...args: unknown[]): unknown => (f as (...a: unknown[]) => unknown).apply(addon, args);
      else
        wrapped[name] = (...args: unknown[]): unknown => {
          const t = now();
          try {
            return (f as (...a: unknown[]) => unknown).apply(addon, args);
          } finally {
            spent.kernels.set(name, (spent.kernels.get(name) ?? 0) + now() - t);
          }
        };
    }
    module.exports = wrapped;
    spent.addonTimed = true;
  };
  const proto = tf.Tensor.prototype as { dataSync: () => unknown };
  const dataSync = proto.dataSync;
  proto.dataSync = function (this: tf.Tensor) {
    const t = now();
    try {
      return dataSync.call(this);
    } finally {
      spent.readBackMs += now() - t;
      spent.readBacks++;
    }
  };
}

function resetSpent(): void {
  spent.kernels.clear();
  spent.readBackMs = 0;
  spent.readBacks = 0;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface OpStat {
  op: string;
  count: number;
  ms: number;
}
interface StepProfile {
  case: string;
  estimator: string;
  /** Medians over the repetitions, ms. */
  totalMs: number;
  phases: Record<string, number>;
  /** Inside the estimate: native kernels (per entry point), read-backs, TensorFlow.js ops, the rest. */
  estimate: { kernels: Record<string, number>; readBackMs: number; readBacks: number; tfOpsMs: number; restMs: number };
  ops: { estimate: number; optimizer: number; tidyAndSqueeze: number };
  topOps: OpStat[];
}

/**
 * The TensorFlow.js ops of `fn` under tf.profile, `runs` times: ops per run, the median over runs of the ops' own
 * time (each op's wall time around its backend call), and per op name the count and time per run.
 */
async function profiledOps(
  fn: () => void,
  runs = 5,
): Promise<{ count: number; ms: number; byOp: Map<string, OpStat> }> {
  const byOp = new Map<string, OpStat>();
  const totals: number[] = [];
  let count = 0;
  for (let r = 0; r < runs; r++) {
    const info = await tf.profile(fn);
    let ms = 0;
    for (const k of info.kernels) {
      const t = await k.kernelTimeMs;
      const kernelMs = typeof t === 'number' ? t : 0;
      ms += kernelMs;
      const s = byOp.get(k.name) ?? { op: k.name, count: 0, ms: 0 };
      s.count += 1 / runs;
      s.ms += kernelMs / runs;
      byOp.set(k.name, s);
    }
    totals.push(ms);
    count = info.kernels.length;
  }
  return { count, ms: median(totals), byOp };
}

async function profileStep(spec: ModelSpec, label: string, batch: number, name: 'dste' | 'psa', reps: number) {
  const rng = new Rng(1);
  const net = initNetwork(spec, rng);
  const x = tf.tensor2d(rng.uniforms(batch * spec.input.shape[0]), [batch, spec.input.shape[0]]);
  const y = tf.tensor1d(
    Array.from({ length: batch }, () => rng.int(spec.output.units)),
    'float32',
  );
  const opt = createOptimizer(STEP_OPTIMIZER);
  const est = createEstimator(name);
  const phases: Record<string, number[]> = { estimate: [], squeeze: [], optimizer: [], readBack: [], dispose: [] };
  const inside = { readBackMs: [] as number[], readBacks: [] as number[], kernels: new Map<string, number[]>() };
  const totals: number[] = [];
  const step = (record: boolean) => {
    resetSpent();
    const t0 = now();
    const e = est.estimate(net, { x, y, groups: 1 }, rng);
    const t1 = now();
    const estimateSpent = { readBackMs: spent.readBackMs, readBacks: spent.readBacks, kernels: new Map(spent.kernels) };
    const grads = e.layers.map((l) => ({ weight: tf.squeeze(l.weight, [0]), bias: tf.squeeze(l.bias, [0]) }));
    const t2 = now();
    opt.step(net, grads, STEP_LR);
    const t3 = now();
    net.layers[0].bias.dataSync();
    const t4 = now();
    tf.dispose(grads);
    disposeEstimate(e);
    const t5 = now();
    if (!record) return;
    phases.estimate.push(t1 - t0);
    phases.squeeze.push(t2 - t1);
    phases.optimizer.push(t3 - t2);
    phases.readBack.push(t4 - t3);
    phases.dispose.push(t5 - t4);
    totals.push(t5 - t0);
    inside.readBackMs.push(estimateSpent.readBackMs);
    inside.readBacks.push(estimateSpent.readBacks);
    for (const [k, v] of estimateSpent.kernels) inside.kernels.set(k, [...(inside.kernels.get(k) ?? []), v]);
  };
  for (let r = 0; r < 3; r++) step(false);
  for (let r = 0; r < reps; r++) step(true);
  // op counts and the ops' own time: one profiled step per part
  const estOps = await profiledOps(() => {
    const e = est.estimate(net, { x, y, groups: 1 }, rng);
    disposeEstimate(e);
  });
  const e = est.estimate(net, { x, y, groups: 1 }, rng);
  const squeezeOps = await profiledOps(() => {
    const grads = e.layers.map((l) => ({ weight: tf.squeeze(l.weight, [0]), bias: tf.squeeze(l.bias, [0]) }));
    tf.dispose(grads);
  });
  const grads = e.layers.map((l) => ({ weight: tf.squeeze(l.weight, [0]), bias: tf.squeeze(l.bias, [0]) }));
  const optOps = await profiledOps(() => opt.step(net, grads, STEP_LR));
  tf.dispose(grads);
  disposeEstimate(e);
  opt.dispose();
  tf.dispose([x, y]);
  disposeNetwork(net);
  const kernels = Object.fromEntries([...inside.kernels].map(([k, v]) => [k, median(v)]));
  const kernelMs = Object.values(kernels).reduce((a, b) => a + b, 0);
  const estimateMs = median(phases.estimate);
  const readBackMs = median(inside.readBackMs);
  const merged = new Map<string, OpStat>();
  for (const part of [estOps, squeezeOps, optOps])
    for (const s of part.byOp.values()) {
      const m = merged.get(s.op) ?? { op: s.op, count: 0, ms: 0 };
      m.count += s.count;
      m.ms += s.ms;
      merged.set(s.op, m);
    }
  const profile: StepProfile = {
    case: label,
    estimator: name,
    totalMs: median(totals),
    phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, median(v)])),
    estimate: {
      kernels,
      readBackMs,
      readBacks: median(inside.readBacks),
      tfOpsMs: estOps.ms,
      restMs: Math.max(0, estimateMs - kernelMs - readBackMs - estOps.ms),
    },
    ops: { estimate: estOps.count, optimizer: optOps.count, tidyAndSqueeze: squeezeOps.count },
    topOps: [...merged.values()].sort((a, b) => b.ms - a.ms).slice(0, 8),
  };
  return profile;
}

/** Wall time of one small TensorFlow.js op (a scalar add, its result disposed), µs. */
function opOverheadUs(): number {
  const a = tf.scalar(1);
  const b = tf.scalar(2);
  const n = 2000;
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t = now();
    for (let i = 0; i < n; i++) tf.add(a, b).dispose();
    best = Math.min(best, ((now() - t) * 1000) / n);
  }
  tf.dispose([a, b]);
  return best;
}

/** The trainer's step by its two gradient routes, alternated step by step (SBN_DENSE_STEP toggled), ms. */
interface RouteProfile {
  case: string;
  estimator: 'dste' | 'psa';
  /** The native step's arrays checked by the addon and handed to the optimiser (the default). */
  host: { bestMs: number; medianMs: number };
  /** SBN_DENSE_STEP=tensors: the same native step, its gradients through the tfjs checks (before issue 16's change). */
  tensors: { bestMs: number; medianMs: number };
  /** host / tensors of the medians of the paired steps' ratios. */
  medianRatio: number;
}

/**
 * trainer.ts trainStep (the default clip, SGD-Nesterov) by the host route and the tensor route, alternated step by
 * step on one network, each route with its own optimiser state, so a slow spell of the machine hits both.
 */
function profileRoutes(spec: ModelSpec, label: string, batch: number, name: 'dste' | 'psa', reps: number) {
  const rng = new Rng(1);
  const net = initNetwork(spec, rng);
  const x = Float32Array.from(rng.uniforms(batch * spec.input.shape[0]));
  const y = Float32Array.from({ length: batch }, () => rng.int(spec.output.units));
  const saved = process.env.SBN_DENSE_STEP;
  const routes = { host: undefined, tensors: 'tensors' } as const;
  const stateOf = (): StepState => ({
    net,
    optimizer: createOptimizer(STEP_OPTIMIZER),
    estimator: createEstimator(name),
    noise: rng,
    step: 0,
  });
  const states: Record<keyof typeof routes, StepState> = { host: stateOf(), tensors: stateOf() };
  const times = { host: [] as number[], tensors: [] as number[] };
  const ratios: number[] = [];
  try {
    for (let r = -3; r < reps; r++) {
      const pair: Partial<Record<keyof typeof routes, number>> = {};
      // alternate which route goes first
      const order: (keyof typeof routes)[] = r & 1 ? ['tensors', 'host'] : ['host', 'tensors'];
      for (const route of order) {
        if (routes[route] === undefined) delete process.env.SBN_DENSE_STEP;
        else process.env.SBN_DENSE_STEP = routes[route];
        const t = now();
        trainStep(states[route], { samples: 1, clip: TRAIN_DEFAULTS.clip }, { x, y, n: batch }, STEP_LR);
        net.layers[0].bias.dataSync();
        pair[route] = now() - t;
      }
      if (r < 0) continue;
      times.host.push(pair.host!);
      times.tensors.push(pair.tensors!);
      ratios.push(pair.host! / pair.tensors!);
    }
  } finally {
    if (saved === undefined) delete process.env.SBN_DENSE_STEP;
    else process.env.SBN_DENSE_STEP = saved;
    for (const st of Object.values(states)) st.optimizer.dispose();
    disposeNetwork(net);
  }
  const summary = (v: number[]) => ({ bestMs: Math.min(...v), medianMs: median(v) });
  const profile: RouteProfile = {
    case: label,
    estimator: name,
    host: summary(times.host),
    tensors: summary(times.tensors),
    medianRatio: median(ratios),
  };
  return profile;
}

/** The host route's step in phases (ms, medians over the steps; best step too) and its minor page faults. */
interface HostPhaseProfile {
  case: string;
  estimator: 'dste' | 'psa';
  threads: number;
  bestMs: number;
  medianMs: number;
  /** The native dense step, the addon's clip and check, the optimiser's update calls, the rest of optimizer.step. */
  phases: { nativeStep: number; clipFinite: number; update: number; optimizerRest: number; rest: number };
  /** Minor page faults per step (fresh pages the kernel zero-fills: the cost of new multi-megabyte arrays). */
  pageFaults: number;
}

/**
 * trainer.ts trainStep by the host route (the default), each phase timed: the addon's entry points (wrapped by
 * instrument()), optimizer.step around its update calls, and the rest (batch tensors, the estimate's tensors and
 * bookkeeping, disposal). Page faults from process.resourceUsage().
 */
function profileHostPhases(spec: ModelSpec, label: string, batch: number, name: 'dste' | 'psa', reps: number) {
  const rng = new Rng(1);
  const net = initNetwork(spec, rng);
  const x = Float32Array.from(rng.uniforms(batch * spec.input.shape[0]));
  const y = Float32Array.from({ length: batch }, () => rng.int(spec.output.units));
  const optimizer = createOptimizer(STEP_OPTIMIZER);
  const state: StepState = { net, optimizer, estimator: createEstimator(name), noise: rng, step: 0 };
  const optimizerStep = optimizer.step.bind(optimizer);
  let optimizerMs = 0;
  optimizer.step = (...args) => {
    const t = now();
    optimizerStep(...args);
    optimizerMs += now() - t;
  };
  const rows: { total: number; faults: number; phases: HostPhaseProfile['phases'] }[] = [];
  try {
    for (let r = -3; r < reps; r++) {
      resetSpent();
      optimizerMs = 0;
      const faults = process.resourceUsage().minorPageFault;
      const t = now();
      trainStep(state, { samples: 1, clip: TRAIN_DEFAULTS.clip }, { x, y, n: batch }, STEP_LR);
      net.layers[0].bias.dataSync();
      const total = now() - t;
      if (r < 0) continue;
      const k = (n: string) => spent.kernels.get(n) ?? 0;
      const nativeStep = k('denseStep') + k('densePsaStep');
      const update = k('sgdUpdate') + k('adamUpdate');
      const clipFinite = k('clipFinite');
      rows.push({
        total,
        faults: process.resourceUsage().minorPageFault - faults,
        phases: {
          nativeStep,
          clipFinite,
          update,
          optimizerRest: optimizerMs - update,
          rest: total - nativeStep - clipFinite - optimizerMs,
        },
      });
    }
  } finally {
    optimizer.dispose();
    disposeNetwork(net);
  }
  const phase = (key: keyof HostPhaseProfile['phases']) => median(rows.map((row) => row.phases[key]));
  const profile: HostPhaseProfile = {
    case: label,
    estimator: name,
    threads: nativeKernels()?.info().threads ?? 0,
    bestMs: Math.min(...rows.map((row) => row.total)),
    medianMs: median(rows.map((row) => row.total)),
    phases: {
      nativeStep: phase('nativeStep'),
      clipFinite: phase('clipFinite'),
      update: phase('update'),
      optimizerRest: phase('optimizerRest'),
      rest: phase('rest'),
    },
    pageFaults: median(rows.map((row) => row.faults)),
  };
  return profile;
}

interface EpochProfile {
  trainExamples: number;
  steps: number;
  totalMs: number;
  /** From the call to the loop's first step: run folder, configuration, network, data order. */
  setupMs: number;
  /** The training loop (all steps), from the per-step cost between the first and the last log point. */
  loopMs: number;
  loopPerStepMs: number;
  /** A PSA step with the run's optimiser on its own, and layer statistics on their own (per call). */
  stepAloneMs: number;
  layerStatsCalls: number;
  layerStatsCallMs: number;
  evaluations: Record<string, { examples: number; ms: number }>;
  /** After the test evaluation: status, summary, closing the run. */
  afterMs: number;
}

async function profileEpoch(backend: BackendInfo, train: number | undefined): Promise<EpochProfile> {
  const spec = exampleModel(EPOCH_MODEL);
  const t = buildRunConfig(spec, path.join('examples', EPOCH_MODEL), { epochs: 1 }).train;
  const rng = new Rng(2);
  const data = mnistSizedData(spec, rng, train);
  const marks: { what: string; at: number; examples?: number; step?: number }[] = [];
  let layerStatsCalls = 0;
  const start = now();
  await trainEpoch(spec, EPOCH_MODEL, data, backend, {
    step: (e) => marks.push({ what: 'step', at: now(), step: e.step }),
    layerStats: () => layerStatsCalls++,
    eval: (e) => marks.push({ what: `eval ${e.split}`, at: now(), examples: e.examples }),
    epoch: () => marks.push({ what: 'epoch', at: now() }),
  });
  const end = now();
  const stepMarks = marks.filter((m) => m.what === 'step');
  const first = stepMarks[0];
  const last = stepMarks[stepMarks.length - 1];
  const loopPerStepMs = (last.at - first.at) / Math.max(1, last.step! - first.step!);
  const setupMs = first.at - start - first.step! * loopPerStepMs;
  const evaluations: EpochProfile['evaluations'] = {};
  let prev = last.at;
  for (const m of marks.filter((x) => x.what !== 'step')) {
    if (m.what.startsWith('eval ')) evaluations[m.what.slice(5)] = { examples: m.examples ?? 0, ms: m.at - prev };
    prev = m.at;
  }
  // the parts of the loop on their own: a PSA step with the run's optimiser, and the layer statistics
  const net = initNetwork(spec, rng);
  const opt = createOptimizer(t.optimizer);
  const est = createEstimator('psa');
  const x = tf.tensor2d(data.train.x.subarray(0, t.batchSize * 784), [t.batchSize, 784]);
  const y = tf.tensor1d(data.train.y.subarray(0, t.batchSize), 'float32');
  const one = () => {
    const e = est.estimate(net, { x, y, groups: 1 }, rng);
    const grads = e.layers.map((l) => ({ weight: tf.squeeze(l.weight, [0]), bias: tf.squeeze(l.bias, [0]) }));
    opt.step(net, grads, 1e-3);
    e.loss.dataSync();
    tf.dispose(grads);
    disposeEstimate(e);
  };
  const stepTimes: number[] = [];
  for (let r = 0; r < 23; r++) {
    const t0 = now();
    one();
    if (r >= 3) stepTimes.push(now() - t0);
  }
  const statTimes: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = now();
    layerStatistics(net, x, rng);
    statTimes.push(now() - t0);
  }
  opt.dispose();
  tf.dispose([x, y]);
  disposeNetwork(net);
  return {
    trainExamples: data.train.n,
    steps: last.step!,
    totalMs: end - start,
    setupMs,
    loopMs: loopPerStepMs * last.step!,
    loopPerStepMs,
    stepAloneMs: median(stepTimes),
    layerStatsCalls,
    layerStatsCallMs: median(statTimes),
    evaluations,
    afterMs: end - prev,
  };
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function positive(name: string, fallback: number | undefined): number | undefined {
  const v = flag(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`bench:profile: ${name} ${v}: expected a whole number ≥ 1\n`);
    process.exit(2);
  }
  return n;
}

const ms = (v: number) => v.toFixed(2).padStart(8);

async function main(): Promise<void> {
  const reps = positive('--reps', 20)!;
  const epochTrain = positive('--epoch-train', undefined);
  instrument();
  const info = await initBackend(process.env.SBN_BENCH_BACKEND);
  if (kernelsInfo().kind === 'native' && !spent.addonTimed)
    throw new Error('the native kernels were loaded before they could be timed');
  const hostPhases: HostPhaseProfile[] = [];
  for (const batch of [64, 256])
    for (const name of ['dste', 'psa'] as const) {
      const p = profileHostPhases(MLP_784_512_512_10, `dense 784-512-512-10, batch ${batch}`, batch, name, reps);
      hostPhases.push(p);
      process.stderr.write(`bench:profile: host route in phases ${JSON.stringify(p)}\n`);
    }
  const phasesOnly = process.argv.includes('--host-phases');
  const steps: StepProfile[] = [];
  for (const batch of phasesOnly ? [] : [64, 256])
    for (const name of ['dste', 'psa'] as const) {
      const p = await profileStep(MLP_784_512_512_10, `dense 784-512-512-10, batch ${batch}`, batch, name, reps);
      steps.push(p);
      const e = p.estimate;
      process.stderr.write(
        `bench:profile: ${p.case} ${name}: ${p.totalMs.toFixed(2)} ms = ` +
          Object.entries(p.phases)
            .map(([k, v]) => `${k} ${v.toFixed(2)}`)
            .join(', ') +
          `; estimate: kernels ${JSON.stringify(e.kernels)}, read-backs ${e.readBacks} ${e.readBackMs.toFixed(2)}, ` +
          `tf ops ${e.tfOpsMs.toFixed(2)}, rest ${e.restMs.toFixed(2)}; ops ${JSON.stringify(p.ops)}\n`,
      );
    }
  const routes: RouteProfile[] = [];
  for (const batch of phasesOnly ? [] : [64, 256])
    for (const name of ['dste', 'psa'] as const) {
      const p = profileRoutes(MLP_784_512_512_10, `dense 784-512-512-10, batch ${batch}`, batch, name, reps);
      routes.push(p);
      process.stderr.write(`bench:profile: trainer step by route ${JSON.stringify(p)}\n`);
    }
  const overhead = opOverheadUs();
  process.stderr.write(`bench:profile: one small TensorFlow.js op: ${overhead.toFixed(1)} µs\n`);
  let epoch: EpochProfile | undefined;
  if (!phasesOnly && !process.argv.includes('--no-epoch')) {
    epoch = await profileEpoch(info, epochTrain);
    process.stderr.write(`bench:profile: epoch ${JSON.stringify(epoch)}\n`);
  }
  const lines = ['', `${info.detail}, kernels ${kernelsInfo().detail}; medians of ${reps} steps, ms`];
  lines.push(
    `  ${'case'.padEnd(36)}${'total'.padStart(8)}${'estim.'.padStart(8)}${'squeeze'.padStart(8)}` +
      `${'optim.'.padStart(8)}${'readbk'.padStart(8)}${'dispose'.padStart(8)} | ${'kernels'.padStart(8)}` +
      `${'readbk'.padStart(8)}${'tf ops'.padStart(8)}${'rest'.padStart(8)}  ops (estimate + optimizer)`,
  );
  for (const p of steps) {
    const kernelMs = Object.values(p.estimate.kernels).reduce((a, b) => a + b, 0);
    lines.push(
      `  ${`${p.case} ${p.estimator}`.padEnd(36)}${ms(p.totalMs)}${ms(p.phases.estimate)}${ms(p.phases.squeeze)}` +
        `${ms(p.phases.optimizer)}${ms(p.phases.readBack)}${ms(p.phases.dispose)} | ${ms(kernelMs)}` +
        `${ms(p.estimate.readBackMs)}${ms(p.estimate.tfOpsMs)}${ms(p.estimate.restMs)}  ` +
        `${p.ops.estimate} + ${p.ops.optimizer}`,
    );
  }
  lines.push(
    `  trainer step, host route in phases (median ms; ${hostPhases[0]?.threads ?? 0} kernel threads): total (best) = ` +
      `native step + clipFinite + update + optimiser rest + rest; page faults`,
  );
  for (const p of hostPhases) {
    const f = p.phases;
    lines.push(
      `  ${`${p.case} ${p.estimator}`.padEnd(36)}${ms(p.medianMs)} (${p.bestMs.toFixed(2)}) =${ms(f.nativeStep)} +` +
        `${ms(f.clipFinite)} +${ms(f.update)} +${ms(f.optimizerRest)} +${ms(f.rest)}; ${p.pageFaults}`,
    );
  }
  lines.push(`  trainer step, host route vs SBN_DENSE_STEP=tensors, alternated (best / median ms; median ratio):`);
  for (const p of routes)
    lines.push(
      `  ${`${p.case} ${p.estimator}`.padEnd(36)}host ${ms(p.host.bestMs)} /${ms(p.host.medianMs)}   tensors ` +
        `${ms(p.tensors.bestMs)} /${ms(p.tensors.medianMs)}   ${p.medianRatio.toFixed(3)}`,
    );
  lines.push(`  one small TensorFlow.js op: ${overhead.toFixed(1)} µs`);
  if (epoch) {
    const s = (v: number) => `${(v / 1000).toFixed(1)} s`;
    lines.push(
      `  epoch (${epoch.trainExamples} examples, ${epoch.steps} steps): ${s(epoch.totalMs)} = setup ` +
        `${s(epoch.setupMs)} + loop ${s(epoch.loopMs)} (${epoch.loopPerStepMs.toFixed(1)} ms a step; alone: a step ` +
        `${epoch.stepAloneMs.toFixed(1)} ms, layer statistics ${epoch.layerStatsCallMs.toFixed(1)} ms × ` +
        `${epoch.layerStatsCalls}) + evaluations ` +
        Object.entries(epoch.evaluations)
          .map(([k, v]) => `${k} ${(v.ms / 1000).toFixed(1)} s`)
          .join(', ') +
        ` + after ${s(epoch.afterMs)}`,
    );
  }
  console.log(lines.join('\n'));
  const out = writeResults('profile.json', {
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, loadAverage: os.loadavg() },
    backend: info.detail,
    kernels: kernelsInfo().detail,
    opOverheadUs: overhead,
    steps,
    routes,
    hostPhases,
    epoch,
  });
  process.stderr.write(`bench:profile: results in ${path.relative(process.cwd(), out)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:profile: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
