// Optimisers over a network's parameters: SGD with momentum / Nesterov (PyTorch's semantics, docs/math.md §4.5)
// and Adam. State is plain tensors so a checkpoint restores it exactly.
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../model/network';
import type { OptimizerSpec } from '../spec/types';
import type { OptimizerState, TensorMap } from '../runs';

export interface Optimizer {
  readonly type: 'sgd' | 'adam';
  /** Apply one update with gradients aligned with net.layers; replaces (and disposes) the parameter tensors. */
  step(net: Network, grads: { weight: tf.Tensor; bias: tf.Tensor }[], lr: number): void;
  state(): OptimizerState;
  restore(state: OptimizerState): void;
  dispose(): void;
}

type Slots = Map<string, tf.Tensor>;

function slotKey(k: number, param: 'weight' | 'bias', slot: string): string {
  return `${k}.${param}.${slot}`;
}

function saveSlots(slots: Slots): TensorMap {
  const out: TensorMap = {};
  for (const [key, t] of slots) out[key] = { shape: [...t.shape], data: Float32Array.from(t.dataSync()) };
  return out;
}

function loadSlots(slots: Slots, map: TensorMap): void {
  for (const t of slots.values()) t.dispose();
  slots.clear();
  for (const [key, v] of Object.entries(map)) slots.set(key, tf.tensor(v.data, v.shape, 'float32'));
}

export function createOptimizer(spec: OptimizerSpec | undefined): Optimizer {
  const s: OptimizerSpec = spec ?? { type: 'sgd' };
  const weightDecay = s.weightDecay ?? 0;
  const slots: Slots = new Map();
  let t = 0;

  function update(
    net: Network,
    grads: { weight: tf.Tensor; bias: tf.Tensor }[],
    rule: (key: (slot: string) => string, p: tf.Tensor, g: tf.Tensor) => tf.Tensor,
  ): void {
    net.layers.forEach((layer, k) => {
      for (const param of ['weight', 'bias'] as const) {
        const p = layer[param];
        const next = tf.tidy(() => {
          const g = weightDecay > 0 ? tf.add(grads[k][param], tf.mul(p, weightDecay)) : grads[k][param];
          return rule((slot) => slotKey(k, param, slot), p, g);
        });
        p.dispose();
        (layer as { weight: tf.Tensor; bias: tf.Tensor })[param] = next;
      }
    });
  }

  function setSlot(key: string, value: tf.Tensor): tf.Tensor {
    const old = slots.get(key);
    const kept = tf.keep(value);
    slots.set(key, kept);
    old?.dispose();
    return kept;
  }

  if (s.type === 'adam') {
    const b1 = s.beta1 ?? 0.9;
    const b2 = s.beta2 ?? 0.999;
    const eps = s.epsilon ?? 1e-8;
    return {
      type: 'adam',
      step(net, grads, lr) {
        t++;
        const c1 = 1 - b1 ** t;
        const c2 = 1 - b2 ** t;
        update(net, grads, (key, p, g) => {
          const m = setSlot(key('m'), tf.add(tf.mul(slots.get(key('m')) ?? tf.zerosLike(g), b1), tf.mul(g, 1 - b1)));
          const v = setSlot(
            key('v'),
            tf.add(tf.mul(slots.get(key('v')) ?? tf.zerosLike(g), b2), tf.mul(tf.square(g), 1 - b2)),
          );
          return tf.sub(p, tf.mul(tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps)), lr));
        });
      },
      state: () => ({ type: 'adam', state: saveSlots(slots), scalars: { t } }),
      restore(state) {
        loadSlots(slots, state.state);
        t = state.scalars.t ?? 0;
      },
      dispose() {
        for (const x of slots.values()) x.dispose();
        slots.clear();
      },
    };
  }
  const momentum = s.momentum ?? 0.9;
  const nesterov = s.nesterov ?? true;
  return {
    type: 'sgd',
    step(net, grads, lr) {
      update(net, grads, (key, p, g) => {
        if (momentum === 0) return tf.sub(p, tf.mul(g, lr));
        // v ← μ v + g;  update = g + μ v (Nesterov) or v   (torch.optim.SGD, dampening 0)
        const prev = slots.get(key('v'));
        const v = setSlot(key('v'), prev ? tf.add(tf.mul(prev, momentum), g) : tf.clone(g));
        const u = nesterov ? tf.add(g, tf.mul(v, momentum)) : v;
        return tf.sub(p, tf.mul(u, lr));
      });
    },
    state: () => ({ type: 'sgd', state: saveSlots(slots), scalars: {} }),
    restore(state) {
      loadSlots(slots, state.state);
    },
    dispose() {
      for (const x of slots.values()) x.dispose();
      slots.clear();
    },
  };
}
