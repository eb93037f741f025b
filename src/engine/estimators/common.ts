// Pieces shared by the estimators: the prepared affine layers, sampling, backprop through the deterministic
// output layer, independent downstream samples. No tf.grad anywhere (docs/math.md §2.3.3 style; engine notes).
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../model/network';
import type { Rng } from '../rng';
import { lossAndGrad, type LossAndGrad } from '../model/loss';
import { sampleStateValues } from '../counterStream';
import { groupMean, prepareLayer, type PreparedLayer } from '../model/layers';
import type { Batch, GradientEstimate, LayerGradient } from './types';
import { shapeSize } from '../spec/geometry';

export { groupMean } from '../model/layers';

/** Every affine layer with its parameters bound for one estimate: hidden layers, then `output`. */
export interface PreparedNetwork {
  hidden: PreparedLayer[];
  output: PreparedLayer;
}

export function prepareNetwork(net: Network): PreparedNetwork {
  const all = net.geometry.map((g, k) => prepareLayer(g, net.layers[k]));
  return { hidden: all.slice(0, -1), output: all[all.length - 1] };
}

/**
 * Noise for a tensor of units, drawn in channel-major unit order: for NHWC conv states the values are
 * generated as [B, C, H, W] and transposed. A conv layer and its dense equivalent (units flattened
 * channel-major) therefore see identical noise — which lets the tests compare them exactly.
 */
export function noiseTensor(shape: number[], fill: (n: number) => Float32Array): tf.Tensor {
  const values = fill(shapeSize(shape));
  if (shape.length !== 4) return tf.tensor(values, shape, 'float32');
  const [B, H, W, C] = shape;
  return tf.tidy(() => tf.transpose(tf.tensor4d(values, [B, C, H, W]), [0, 2, 3, 1]));
}

export function uniformTensor(rng: Rng, shape: number[]): tf.Tensor {
  return noiseTensor(shape, (n) => rng.uniforms(n));
}

export function normalTensor(rng: Rng, shape: number[]): tf.Tensor {
  return noiseTensor(shape, (n) => rng.normals(n));
}

/**
 * Sample binary states x = on with probability p = F(a) (docs/math.md §2.0: on if u < p, never sign(p − u), §5.4): the
 * Bernoulli sampler of the counter-based stream keyed by one draw of `rng` (the native kernel, or its JavaScript twin:
 * the same numbers, so results never depend on whether the addon loaded; a resumed run continues `rng`). Units in
 * channel-major order, as noiseTensor: a conv layer and its dense equivalent get the same states.
 */
export function sampleStates(net: Network, p: tf.Tensor, rng: Rng): tf.Tensor {
  const seed = rng.seed53();
  const B = p.shape[0];
  // NHWC conv states, or rows of units (H = W = 1)
  const nhwc: [number, number, number, number] =
    p.rank === 4 ? [B, p.shape[1]!, p.shape[2]!, p.shape[3]!] : [B, 1, 1, p.size / B];
  const values = sampleStateValues(p.dataSync() as Float32Array, nhwc, seed, net.coding.on, net.coding.off);
  return tf.tensor(values, p.shape, 'float32');
}

/**
 * One sampled path through the hidden layers (docs/math.md §2.3.3 step 1): xs = [x⁰ = input, x¹, …, x^L] and
 * as = [a¹, …, a^L], each layer's states sampled from its pre-activation.
 */
export function samplePath(
  net: Network,
  layers: PreparedNetwork,
  input: tf.Tensor,
  rng: Rng,
): { xs: tf.Tensor[]; as: tf.Tensor[] } {
  const xs: tf.Tensor[] = [input];
  const as: tf.Tensor[] = [];
  for (const layer of layers.hidden) {
    const a = layer.forward(xs[xs.length - 1]);
    as.push(a);
    xs.push(sampleStates(net, net.noise.cdf(a), rng));
  }
  return { xs, as };
}

/** A sampled path (samplePath) with the network it went through and the output layer's loss on its last state. */
export interface SampledPath {
  layers: PreparedNetwork;
  xs: tf.Tensor[];
  as: tf.Tensor[];
  out: LossAndGrad & { logits: tf.Tensor2D };
}

/**
 * The frame of the estimators that sample one path and give each hidden layer k its own ∂E/∂a^k (MuProp, local
 * expectation): `layerSignal` on that path, chained to the layer's parameters; the output layer as backprop.
 */
export function pathLayerEstimate(
  net: Network,
  batch: Batch,
  rng: Rng,
  layerSignal: (path: SampledPath, k: number) => tf.Tensor,
): GradientEstimate {
  return tf.tidy(() => {
    const layers = prepareNetwork(net);
    const G = batch.groups;
    const L = layers.hidden.length;
    const { xs, as } = samplePath(net, layers, batch.x, rng);
    const path: SampledPath = { layers, xs, as, out: outputLoss(net, layers, xs[L], batch) };
    const grads: LayerGradient[] = as.map((_, k) => layers.hidden[k].paramGradient(layerSignal(path, k), xs[k], G));
    grads.push(layers.output.paramGradient(path.out.dLogits, xs[L], G));
    return finishEstimate(path.out.loss, grads, G);
  });
}

/** Probability π of the state actually sampled: F(a) where x is on, 1 − F(a) where off. */
export function sampledStateProbability(net: Network, p: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.where(tf.equal(x, net.coding.on), p, tf.sub(1, p)));
}

/** Loss of the output layer on states x: logits, per-row loss and ∂ℓ/∂η. */
export function outputLoss(
  net: Network,
  layers: PreparedNetwork,
  xLast: tf.Tensor,
  batch: Batch,
): LossAndGrad & { logits: tf.Tensor2D } {
  const logits = layers.output.forward(xLast) as tf.Tensor2D;
  return { ...lossAndGrad(net.spec.output.loss, logits, batch.y), logits };
}

/** Hidden layers `from..L−1` forward from states x with fresh samples, then the output loss per row. */
export function sampleDownstreamLoss(
  net: Network,
  layers: PreparedNetwork,
  x: tf.Tensor,
  from: number,
  batch: Batch,
  rng: Rng,
): tf.Tensor1D {
  let h = x;
  for (let k = from; k < layers.hidden.length; k++) {
    const a = layers.hidden[k].forward(h);
    h = sampleStates(net, net.noise.cdf(a), rng);
  }
  return outputLoss(net, layers, h, batch).loss;
}

/** A per-row vector [B] shaped to broadcast against a [B, ...] tensor. */
export function rowsLike(v: tf.Tensor, like: tf.Tensor): tf.Tensor {
  return tf.reshape(v, [v.shape[0], ...like.shape.slice(1).map(() => 1)]);
}

export function finishEstimate(rowLoss: tf.Tensor1D, layers: LayerGradient[], groups: number): GradientEstimate {
  return { loss: groupMean(rowLoss, groups) as tf.Tensor1D, layers };
}

/**
 * Backprop from the output through the hidden layers with a per-layer activation derivative (the surrogate
 * of straight-through estimators, or the true derivative of a relaxation). `xs[k]` feeds hidden layer k
 * (xs[0] is the input, xs[L] feeds the output), `deriv[k]` is ∂x^{k+1}/∂a^{k+1}.
 */
export function backpropThroughOutput(
  layers: PreparedNetwork,
  dLogits: tf.Tensor2D,
  xs: tf.Tensor[],
  deriv: tf.Tensor[],
  groups: number,
): LayerGradient[] {
  const L = layers.hidden.length;
  const grads = new Array<LayerGradient>(L + 1);
  grads[L] = layers.output.paramGradient(dLogits, xs[L], groups);
  let g = layers.output.backwardInput(dLogits);
  for (let k = L - 1; k >= 0; k--) {
    const e = tf.mul(g, deriv[k]);
    grads[k] = layers.hidden[k].paramGradient(e, xs[k], groups);
    if (k > 0) g = layers.hidden[k].backwardInput(e);
  }
  return grads;
}
