// Evaluation of any trained model as a true SBN (docs/math.md §4.6, §5.14), whatever estimator trained it:
// S independent noise samples per example; in each, the last layer is flip-averaged exactly as PSA's value
// (§2.3.2) — over the base state and every single flip of the last hidden layer, weighted by π and (1 − π)/n.
//   u_loss  expected NLL (flip-averaged)          acc1   expected single-sample accuracy (flip-averaged)
//   acc_e   accuracy of the mean over S samples of the flip-averaged predictive distribution
//   entropy mean per-unit entropy (bits) of the binary units' Bernoulli distributions
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../model/network';
import type { Rng } from '../rng';
import { lossOnly } from '../model/loss';
import { prepareNetwork, sampledStateProbability, sampleStates, type PreparedNetwork } from '../estimators/common';
import { inputTensor } from '../gradients/draws';
import { shapeSize } from '../model/layers';
import type { Split } from '../data';
import { runToEnd, type Pass } from '../passes';
import { EVAL_FLIP_ELEMENTS } from '../spec/memory';

export interface SbnMetrics {
  u_loss: number;
  acc1: number;
  acc_e: number;
  entropy: number;
  examples: number;
  samples: number;
}

/** Class probabilities [R, K'] from logits: softmax, or [1 − σ(η), σ(η)] for the one-logit logistic loss. */
function probabilities(net: Network, logits: tf.Tensor2D): tf.Tensor2D {
  if (net.spec.output.loss === 'nll') return tf.softmax(logits);
  const p = tf.sigmoid(logits);
  return tf.concat([tf.sub(1, p), p], 1) as tf.Tensor2D;
}

/** Class index of each label: ±1 → 0/1 for the logistic loss. */
function classIndex(net: Network, y: tf.Tensor1D): tf.Tensor1D {
  return net.spec.output.loss === 'nll' ? y : tf.div<tf.Tensor1D>(tf.add(y, 1), 2);
}

interface SampleResult {
  /** Per row: flip-averaged loss, flip-averaged correctness, flip-averaged class probabilities, unit entropy (bits). */
  loss: tf.Tensor1D;
  correct: tf.Tensor1D;
  probs: tf.Tensor2D;
  entropy: tf.Tensor1D;
}

/** The single flips of the last hidden layer, each weighted by ρ_i = (1 − π_i)/n: per row, the ρ-weighted sums. */
interface FlipSums {
  loss: tf.Tensor1D;
  correct: tf.Tensor1D;
  probs: tf.Tensor2D;
}

/**
 * A softmax output's single flips in factored form. Flipping last-layer unit i shifts the logits by δ_i W_{:, i},
 * and δ_i takes one of two values (the flip of an on unit, of an off unit), so the exp of a flipped logit factors
 * into exp(η₀_k − m) · exp(δ W_{k, i} − c_i) with c_i = max_k δ W_{k, i}: the softmax normalisers of all flips of
 * all rows are one matrix product of the rows' exp(η₀ − m) with the table E[i, k] = exp(δ W_{k, i} − c_i), and
 * so are the flip-averaged probabilities. Whether a flip's argmax is still the class is decided on the CPU from
 * the rows' logits: a bound on how far a flip can move the margin settles almost every flip of a trained network,
 * the few others are computed in float32 as the logits would be.
 */
interface FactoredFlips {
  /** Per state of the unit before the flip: the table E [n, K] and the loss table c_i − δ W_{y, i} [K, n]. */
  on: { delta: number; table: tf.Tensor2D; lossTable: tf.Tensor2D };
  off: { delta: number; table: tf.Tensor2D; lossTable: tf.Tensor2D };
  units: number;
  classes: number;
  /** The output weights transposed, [n, K] row-major. */
  weightT: Float32Array;
  /** max_k |W_{y, i} − W_{k, i}| at [y, i]: how far flipping unit i (times |δ|) can move a margin of class y. */
  marginShift: Float32Array;
  /** max |δ| · max |W|, the scale of a flip's shift (for the float32 rounding allowance). */
  shiftScale: number;
}

/**
 * Largest spread (nats) of δ W_{k, i} over the classes k for the factored form: its table entries are then
 * ≥ e^−60, so no flip's normaliser comes near float32's smallest normal number (1e-38). Wider (a unit's output
 * weights more than 30 apart with ±1 states, 60 with {0, 1}): the direct form.
 */
const FACTORED_SPREAD_LIMIT = 60;

/**
 * How the flips are averaged: `auto` factored wherever that is exact (a softmax output of moderate weights), else
 * direct; `direct` always in full (the reference the tests compare the factored form with).
 */
export type FlipForm = 'auto' | 'direct';

/** The factored flips of a network's softmax output, or undefined where the direct form is used. */
function factoredFlips(net: Network): FactoredFlips | undefined {
  if (net.spec.output.loss !== 'nll') return undefined;
  const weight = net.layers[net.layers.length - 1].weight as tf.Tensor2D;
  const [K, n] = weight.shape;
  const [deltaOn, deltaOff] = tf.tidy(() =>
    net.coding.flipShift(tf.tensor1d([net.coding.on, net.coding.off])).dataSync(),
  );
  const maxDelta = Math.max(Math.abs(deltaOn), Math.abs(deltaOff));
  const weightT = tf.tidy(() => tf.transpose(weight).dataSync() as Float32Array);
  const marginShift = new Float32Array(K * n);
  let spread = 0;
  let maxWeight = 0;
  for (let i = 0; i < n; i++) {
    const w = weightT.subarray(i * K, (i + 1) * K);
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = 0; k < K; k++) {
      lo = Math.min(lo, w[k]);
      hi = Math.max(hi, w[k]);
    }
    spread = Math.max(spread, hi - lo);
    maxWeight = Math.max(maxWeight, Math.abs(lo), Math.abs(hi));
    for (let y = 0; y < K; y++) marginShift[y * n + i] = Math.max(hi - w[y], w[y] - lo);
  }
  if (!(spread * maxDelta <= FACTORED_SPREAD_LIMIT)) return undefined;
  const side = (delta: number) =>
    tf.tidy(() => {
      const shifted = tf.mul(tf.transpose(weight), delta); // [n, K]
      const shift = tf.max(shifted, 1); // c [n]
      return {
        delta,
        table: tf.exp(tf.sub(shifted, tf.reshape(shift, [n, 1]))) as tf.Tensor2D,
        lossTable: tf.sub<tf.Tensor2D>(tf.reshape(shift, [1, n]), tf.mul(weight, delta)),
      };
    });
  return {
    on: side(deltaOn),
    off: side(deltaOff),
    units: n,
    classes: K,
    weightT,
    marginShift,
    shiftScale: maxDelta * maxWeight,
  };
}

function disposeFactored(f: FactoredFlips | undefined): void {
  if (f) tf.dispose([f.on.table, f.on.lossTable, f.off.table, f.off.lossTable]);
}

/**
 * 1 where flip i of row r keeps the argmax (the first largest logit, as tf.argMax) at the row's class, else 0.
 * A flip settled by the margin bound needs no logits of its own; the others are formed in float32.
 */
function flipCorrectMask(
  f: FactoredFlips,
  logits: Float32Array,
  states: Float32Array,
  cls: Float32Array,
  on: number,
): Float32Array {
  const { units: n, classes: K, weightT, marginShift } = f;
  const rows = cls.length;
  const out = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const row = r * K;
    const y = cls[r];
    let margin = Infinity;
    let scale = 0;
    for (let k = 0; k < K; k++) {
      scale = Math.max(scale, Math.abs(logits[row + k]));
      if (k !== y) margin = Math.min(margin, logits[row + y] - logits[row + k]);
    }
    // beyond any float32 rounding of the flipped logits
    const allowance = 1e-5 * (1 + scale + f.shiftScale);
    for (let i = 0; i < n; i++) {
      const delta = states[r * n + i] === on ? f.on.delta : f.off.delta;
      if (margin - Math.abs(delta) * marginShift[y * n + i] > allowance) {
        out[r * n + i] = 1;
        continue;
      }
      let best = -Infinity;
      let arg = 0;
      for (let k = 0; k < K; k++) {
        const v = Math.fround(logits[row + k] + delta * weightT[i * K + k]);
        if (v > best) {
          best = v;
          arg = k;
        }
      }
      out[r * n + i] = arg === y ? 1 : 0;
    }
  }
  return out;
}

/** FlipSums for the softmax output from the factored tables: no tensor of every (row, flip, class). */
function factoredFlipSums(
  net: Network,
  f: FactoredFlips,
  logits: tf.Tensor2D,
  xL: tf.Tensor2D,
  cls: tf.Tensor1D,
  rho: tf.Tensor2D,
): FlipSums {
  const isOn = tf.equal(xL, net.coding.on);
  const classes = tf.cast(cls, 'int32');
  const m = tf.max(logits, 1, true);
  const e0 = tf.exp(tf.sub(logits, m)); // [R, K]
  const Z = tf.where(isOn, tf.matMul(e0, f.on.table, false, true), tf.matMul(e0, f.off.table, false, true)); // [R, n]
  // −log softmax(η_i)_y = (m − η₀_y) + (c_i − δ_i W_{y, i}) + log Z_i
  const logitY = tf.sum(tf.mul(logits, tf.oneHot(classes, f.classes)), 1);
  const lossTerm = tf.where(isOn, tf.gather(f.on.lossTable, classes), tf.gather(f.off.lossTable, classes));
  const loss = tf.add(
    tf.mul(tf.sub(tf.reshape(m, [-1]), logitY), tf.sum(rho, 1)),
    tf.sum(tf.mul(rho, tf.add(lossTerm, tf.log(Z))), 1),
  );
  // Σ_i ρ_i softmax(η_i)_k = e0_k Σ_i (ρ_i / Z_i) E[i, k]
  const w = tf.div(rho, Z);
  const wOn = tf.where(isOn, w, tf.scalar(0));
  const probs = tf.mul(e0, tf.add(tf.matMul(wOn, f.on.table), tf.matMul(tf.sub(w, wOn), f.off.table)));
  const mask = flipCorrectMask(
    f,
    logits.dataSync() as Float32Array,
    xL.dataSync() as Float32Array,
    cls.dataSync() as Float32Array,
    net.coding.on,
  );
  return {
    loss: loss as tf.Tensor1D,
    correct: tf.sum<tf.Tensor1D>(tf.mul(rho, tf.tensor2d(mask, xL.shape)), 1),
    probs: probs as tf.Tensor2D,
  };
}

/** FlipSums with every flipped logit vector, loss and distribution in full (the logistic output, wide weights). */
function directFlipSums(
  net: Network,
  logits: tf.Tensor2D,
  xL: tf.Tensor2D,
  y: tf.Tensor1D,
  cls: tf.Tensor1D,
  rho: tf.Tensor2D,
): FlipSums {
  const [rows, n] = xL.shape;
  const K = net.spec.output.units;
  const woT = tf.transpose(net.layers[net.layers.length - 1].weight);
  const flipped = tf.reshape<tf.Rank.R2>(
    tf.add(tf.reshape(logits, [rows, 1, K]), tf.mul(tf.reshape(net.coding.flipShift(xL), [rows, n, 1]), woT)),
    [rows * n, K],
  );
  const yRep = tf.reshape<tf.Rank.R1>(tf.tile(tf.reshape(y, [rows, 1]), [1, n]), [-1]);
  const clsRep = tf.reshape(tf.tile(tf.reshape(cls, [rows, 1]), [1, n]), [-1]);
  const fFlip = tf.reshape(lossOnly(net.spec.output.loss, flipped, yRep), [rows, n]);
  const pFlip = probabilities(net, flipped);
  const correctFlip = tf.reshape(tf.cast(tf.equal(tf.argMax(pFlip, 1), clsRep), 'float32'), [rows, n]);
  const Kp = pFlip.shape[1];
  return {
    loss: tf.sum<tf.Tensor1D>(tf.mul(rho, fFlip), 1),
    correct: tf.sum<tf.Tensor1D>(tf.mul(rho, correctFlip), 1),
    probs: tf.sum<tf.Tensor2D>(tf.mul(tf.reshape(rho, [rows, n, 1]), tf.reshape(pFlip, [rows, n, Kp])), 1),
  };
}

/**
 * The network prepared once for a whole pass (prepareNetwork transposes every weight: per chunk, a tenth of an
 * evaluation's time) and released by `dispose`: the tensors preparing makes are collected from a scope of their own.
 */
function preparedForPass(net: Network): { layers: PreparedNetwork; dispose: () => void } {
  const engine = tf.engine();
  engine.startScope();
  try {
    const layers = prepareNetwork(net);
    const made = [...engine.state.activeScope.track];
    for (const t of made) tf.keep(t);
    return { layers, dispose: () => tf.dispose(made) };
  } finally {
    engine.endScope();
  }
}

/** Repeat the rows `samples` times, sample-major. */
function tileRows<T extends tf.Tensor>(t: T, samples: number): T {
  return samples === 1 ? t : tf.tile(t, [samples, ...t.shape.slice(1).map(() => 1)]);
}

/**
 * One SBN sample per row for each of `samples` copies of the rows of x (sample-major). The first hidden layer's
 * pre-activation is the same in every copy: it is computed once and repeated.
 */
function sbnSample(
  net: Network,
  layers: PreparedNetwork,
  x: tf.Tensor,
  y: tf.Tensor1D,
  samples: number,
  rng: Rng,
  factored: FactoredFlips | undefined,
): SampleResult {
  const rows = x.shape[0] * samples;
  let h = x;
  let entropySum: tf.Tensor = tf.zeros([rows]);
  let units = 0;
  let pLast: tf.Tensor | undefined;
  layers.hidden.forEach((layer, k) => {
    const a = layer.forward(h);
    const p = net.noise.cdf(a);
    // H(p) in bits; the clamp keeps log finite in float32 (1 − 1e-12 would round to 1) and costs < 3e-6 bits
    const q = tf.clipByValue(p, 1e-7, 1 - 1e-7);
    const hBits = tf.neg(tf.add(tf.mul(q, tf.log(q)), tf.mul(tf.sub(1, q), tf.log(tf.sub(1, q)))));
    const rowBits = tf.div(tf.sum(tf.reshape(hBits, [a.shape[0], -1]), 1), Math.LN2);
    entropySum = tf.add(entropySum, k === 0 ? tileRows(rowBits, samples) : rowBits);
    units += shapeSize(a.shape.slice(1));
    pLast = k === 0 ? tileRows(p, samples) : p;
    h = sampleStates(net, pLast, rng);
  });
  // without hidden layers the flips are of the (repeated) input
  if (pLast === undefined) h = pLast = tileRows(x, samples);
  const ys = tileRows(y, samples);
  const out = layers.output;
  const xL = out.flatInput(h);
  const n = xL.shape[1];
  const logits = out.forward(h) as tf.Tensor2D;
  const cls = classIndex(net, ys);
  const f0 = lossOnly(net.spec.output.loss, logits, ys);
  const p0 = probabilities(net, logits);
  const correct0 = tf.cast(tf.equal(tf.argMax(p0, 1), cls), 'float32');
  const rho = tf.div<tf.Tensor2D>(tf.sub(1, sampledStateProbability(net, out.flatInput(pLast), xL)), n);
  const baseWeight = tf.sub(1, tf.sum(rho, 1));
  const flips = factored
    ? factoredFlipSums(net, factored, logits, xL, cls, rho)
    : directFlipSums(net, logits, xL, ys, cls, rho);
  return {
    loss: tf.add<tf.Tensor1D>(tf.mul(baseWeight, f0), flips.loss),
    correct: tf.add<tf.Tensor1D>(tf.mul(baseWeight, correct0), flips.correct),
    probs: tf.add<tf.Tensor2D>(tf.mul(tf.reshape(baseWeight, [rows, 1]), p0), flips.probs),
    entropy: tf.div<tf.Tensor1D>(entropySum, Math.max(units, 1)),
  };
}

/** Examples per evaluation batch: the flip tensor [rows · samples, n, K] stays within EVAL_FLIP_ELEMENTS. */
export function chunkRows(net: Network, samples: number): number {
  const last = net.geometry[net.geometry.length - 1];
  const flips = shapeSize(last.inShape) * Math.max(2, net.spec.output.units);
  return Math.max(1, Math.floor(EVAL_FLIP_ELEMENTS / (flips * samples)));
}

/** Metrics of docs/math.md §4.6 over a split (or its first `limit` examples) with S samples per example. */
export function evaluateSplit(
  net: Network,
  split: Split,
  samples: number,
  rng: Rng,
  limit = split.n,
  flips: FlipForm = 'auto',
): SbnMetrics {
  return runToEnd(evaluateSplitPass(net, split, samples, rng, limit, flips));
}

/** evaluateSplit as a pass that yields after every chunk of examples (the trainer's evaluations can be stopped). */
export function* evaluateSplitPass(
  net: Network,
  split: Split,
  samples: number,
  rng: Rng,
  limit = split.n,
  flips: FlipForm = 'auto',
): Pass<SbnMetrics> {
  const n = Math.min(limit, split.n);
  const features = split.x.length / split.n;
  const chunk = chunkRows(net, samples);
  const sums = { loss: 0, acc1: 0, accE: 0, entropy: 0 };
  const prepared = preparedForPass(net);
  let factored: FactoredFlips | undefined;
  try {
    factored = flips === 'auto' ? factoredFlips(net) : undefined;
    for (let start = 0; start < n; start += chunk) {
      const size = Math.min(chunk, n - start);
      const r = tf.tidy(() => {
        const x = inputTensor(net, split.x.subarray(start * features, (start + size) * features), size);
        const y = tf.tensor1d(split.y.subarray(start, start + size), 'float32');
        // all S samples in one batch: rows are sample-major copies of the chunk
        const s = sbnSample(net, prepared.layers, x, y, samples, rng, factored);
        const meanProbs = tf.mean(tf.reshape(s.probs, [samples, size, -1]), 0);
        const accE = tf.sum(tf.cast(tf.equal(tf.argMax(meanProbs, 1), classIndex(net, y)), 'float32'));
        return tf.stack([tf.sum(s.loss), tf.sum(s.correct), accE, tf.sum(s.entropy)]);
      });
      const [loss, acc1, accE, entropy] = r.dataSync();
      r.dispose();
      sums.loss += loss;
      sums.acc1 += acc1;
      sums.accE += accE;
      sums.entropy += entropy;
      if (start + chunk < n) yield;
    }
  } finally {
    disposeFactored(factored);
    prepared.dispose();
  }
  return {
    u_loss: sums.loss / (n * samples),
    acc1: sums.acc1 / (n * samples),
    acc_e: sums.accE / n,
    entropy: sums.entropy / (n * samples),
    examples: n,
    samples,
  };
}

/**
 * Test accuracy as a function of the number of samples (docs/math.md §4.7): for s = 1..S, the argmax of the mean
 * of the first s flip-averaged predictive distributions. Returns accuracy[s − 1].
 */
export function accuracyVsSamples(net: Network, split: Split, samples: number, rng: Rng, limit = split.n): number[] {
  const n = Math.min(limit, split.n);
  const features = split.x.length / split.n;
  const chunk = chunkRows(net, samples);
  const correct = new Float64Array(samples);
  const prepared = preparedForPass(net);
  let factored: FactoredFlips | undefined;
  try {
    factored = factoredFlips(net);
    for (let start = 0; start < n; start += chunk) {
      const size = Math.min(chunk, n - start);
      const counts = tf.tidy(() => {
        const x = inputTensor(net, split.x.subarray(start * features, (start + size) * features), size);
        const y = tf.tensor1d(split.y.subarray(start, start + size), 'float32');
        const s = sbnSample(net, prepared.layers, x, y, samples, rng, factored);
        const probs = tf.reshape(s.probs, [samples, size, -1]);
        const running = tf.cumsum(probs, 0); // sums of the first s samples
        const hits = tf.cast(tf.equal(tf.argMax(running, 2), tf.reshape(classIndex(net, y), [1, size])), 'float32');
        return tf.sum(hits, 1);
      });
      const c = counts.dataSync();
      counts.dispose();
      for (let s = 0; s < samples; s++) correct[s] += c[s];
    }
  } finally {
    disposeFactored(factored);
    prepared.dispose();
  }
  return Array.from(correct, (c) => c / n);
}

/**
 * What `sbn eval` averages, for rows of x: the mean over `samples` SBN samples of the flip-averaged predictive
 * distribution [n, K'] (K' = 2 for the logistic loss: −1, +1), the samples laid out and drawn from `rng` exactly as
 * evaluateSplit and accuracyVsSamples draw them for one chunk. The reference of the ONNX export's ensemble mode.
 */
export function ensembleProbabilities(
  net: Network,
  x: Float32Array,
  n: number,
  samples: number,
  rng: Rng,
): Float32Array {
  return tf.tidy(() => {
    const input = inputTensor(net, x, n);
    // the labels only enter the loss and correctness, not the probabilities; the direct flip sums (the factored
    // form's reference) keep this a plain statement of what is averaged
    const s = sbnSample(net, prepareNetwork(net), input, tf.ones([n]), samples, rng, undefined);
    return tf.mean(tf.reshape(s.probs, [samples, n, -1]), 0).dataSync() as Float32Array;
  });
}

/**
 * The deterministic mean-field pass: every hidden layer passes on its mean state E[x | a], the output layer's class
 * probabilities [n, K'] of the last one. The reference of the ONNX export's mean-field mode.
 */
export function meanFieldProbabilities(net: Network, x: Float32Array, n: number): Float32Array {
  return tf.tidy(() => {
    const layers = prepareNetwork(net);
    let h = inputTensor(net, x, n);
    for (const layer of layers.hidden) h = net.coding.meanOf(net.noise.cdf(layer.forward(h)));
    return probabilities(net, layers.output.forward(h) as tf.Tensor2D).dataSync() as Float32Array;
  });
}
