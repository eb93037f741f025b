// Data-dependent initialisation (docs/math.md §4.4 step 2, the §3.2 idea for the 5-5-5 net): on one training batch,
// run the deterministic network with tanh activations and, layer by layer, rescale each hidden unit's (or
// conv channel's) weights and bias so that its pre-activations have zero mean and unit (unbiased) standard
// deviation over the batch and spatial positions. The output layer is left as it is.
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../network';
import { prepareNetwork } from '../estimators/common';

export function dataDependentInit(net: Network, x: tf.Tensor): void {
  let h = x;
  const keep: tf.Tensor[] = [];
  for (let k = 0; k < net.layers.length - 1; k++) {
    const layer = net.layers[k];
    const { weight, bias, next } = tf.tidy(() => {
      const prepared = prepareNetwork(net).hidden[k];
      const a = prepared.forward(h);
      const axes = a.rank === 2 ? [0] : [0, 1, 2];
      const count = a.shape.filter((_, i) => axes.includes(i)).reduce((p, q) => p * q, 1);
      const m = tf.mean(a, axes);
      const s = tf.maximum(tf.sqrt(tf.div(tf.sum(tf.square(tf.sub(a, m)), axes), Math.max(count - 1, 1))), 1e-8);
      // dense weight [out, in]: scale rows; conv filter [K, K, in, out]: scale the last axis
      const w =
        net.geometry[k].kind === 'dense' ? tf.div(layer.weight, tf.reshape(s, [-1, 1])) : tf.div(layer.weight, s);
      const b = tf.div<tf.Tensor1D>(tf.sub(layer.bias, m), s);
      const normalised = tf.div(tf.sub(a, m), s);
      // the authors use tanh(a) here whatever the coding; {0,1} units take (1 + tanh(a))/2
      const act = net.coding.kind === 'pm1' ? tf.tanh(normalised) : tf.div(tf.add(tf.tanh(normalised), 1), 2);
      return { weight: w, bias: b, next: act };
    });
    layer.weight.dispose();
    layer.bias.dispose();
    layer.weight = weight;
    layer.bias = bias;
    keep.push(next);
    h = next;
  }
  tf.dispose(keep);
}
