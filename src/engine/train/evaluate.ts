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

/** One SBN sample for every row of x (rows may hold several samples of the same example). */
function sbnSample(net: Network, layers: PreparedNetwork, x: tf.Tensor, y: tf.Tensor1D, rng: Rng): SampleResult {
  let h = x;
  let entropySum: tf.Tensor = tf.zeros([x.shape[0]]);
  let units = 0;
  let pLast: tf.Tensor = h;
  for (const layer of layers.hidden) {
    const a = layer.forward(h);
    const p = net.noise.cdf(a);
    // H(p) in bits; the clamp keeps log finite in float32 (1 − 1e-12 would round to 1) and costs < 3e-6 bits
    const q = tf.clipByValue(p, 1e-7, 1 - 1e-7);
    const hBits = tf.neg(tf.add(tf.mul(q, tf.log(q)), tf.mul(tf.sub(1, q), tf.log(tf.sub(1, q)))));
    entropySum = tf.add(entropySum, tf.div(tf.sum(tf.reshape(hBits, [a.shape[0], -1]), 1), Math.LN2));
    units += shapeSize(a.shape.slice(1));
    h = sampleStates(net, p, rng);
    pLast = p;
  }
  const out = layers.output;
  const xL = out.flatInput(h);
  const [rows, n] = xL.shape;
  const K = net.spec.output.units;
  const logits = out.forward(h) as tf.Tensor2D;
  const cls = classIndex(net, y);
  const f0 = lossOnly(net.spec.output.loss, logits, y);
  const p0 = probabilities(net, logits);
  const correct0 = tf.cast(tf.equal(tf.argMax(p0, 1), cls), 'float32');
  const rho = tf.div(tf.sub(1, sampledStateProbability(net, out.flatInput(pLast), xL)), n); // [R, n]
  const baseWeight = tf.sub(1, tf.sum(rho, 1));
  // flipped logits η_i = η₀ + δ_i W_{:, i}
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
  const mix = (base: tf.Tensor, flips: tf.Tensor) => tf.add(tf.mul(baseWeight, base), tf.sum(tf.mul(rho, flips), 1));
  return {
    loss: mix(f0, fFlip) as tf.Tensor1D,
    correct: mix(correct0, correctFlip) as tf.Tensor1D,
    probs: tf.add<tf.Tensor2D>(
      tf.mul(tf.reshape(baseWeight, [rows, 1]), p0),
      tf.sum(tf.mul(tf.reshape(rho, [rows, n, 1]), tf.reshape(pFlip, [rows, n, Kp])), 1),
    ),
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
export function evaluateSplit(net: Network, split: Split, samples: number, rng: Rng, limit = split.n): SbnMetrics {
  return runToEnd(evaluateSplitPass(net, split, samples, rng, limit));
}

/** evaluateSplit as a pass that yields after every chunk of examples (the trainer's evaluations can be stopped). */
export function* evaluateSplitPass(
  net: Network,
  split: Split,
  samples: number,
  rng: Rng,
  limit = split.n,
): Pass<SbnMetrics> {
  const n = Math.min(limit, split.n);
  const features = split.x.length / split.n;
  const chunk = chunkRows(net, samples);
  const sums = { loss: 0, acc1: 0, accE: 0, entropy: 0 };
  const layers = () => prepareNetwork(net);
  for (let start = 0; start < n; start += chunk) {
    const size = Math.min(chunk, n - start);
    const r = tf.tidy(() => {
      const prepared = layers();
      const x = inputTensor(net, split.x.subarray(start * features, (start + size) * features), size);
      const y = tf.tensor1d(split.y.subarray(start, start + size), 'float32');
      // all S samples in one batch: rows are sample-major copies of the chunk
      const xs = tf.tile(x, [samples, ...x.shape.slice(1).map(() => 1)]);
      const ys = tf.tile<tf.Tensor1D>(y, [samples]);
      const s = sbnSample(net, prepared, xs, ys, rng);
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
  for (let start = 0; start < n; start += chunk) {
    const size = Math.min(chunk, n - start);
    const counts = tf.tidy(() => {
      const prepared = prepareNetwork(net);
      const x = inputTensor(net, split.x.subarray(start * features, (start + size) * features), size);
      const y = tf.tensor1d(split.y.subarray(start, start + size), 'float32');
      const xs = tf.tile(x, [samples, ...x.shape.slice(1).map(() => 1)]);
      const s = sbnSample(net, prepared, xs, tf.tile<tf.Tensor1D>(y, [samples]), rng);
      const probs = tf.reshape(s.probs, [samples, size, -1]);
      const running = tf.cumsum(probs, 0); // sums of the first s samples
      const hits = tf.cast(tf.equal(tf.argMax(running, 2), tf.reshape(classIndex(net, y), [1, size])), 'float32');
      return tf.sum(hits, 1);
    });
    const c = counts.dataSync();
    counts.dispose();
    for (let s = 0; s < samples; s++) correct[s] += c[s];
  }
  return Array.from(correct, (c) => c / n);
}
