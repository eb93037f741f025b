// Optimisers over a network's parameters: SGD with momentum / Nesterov (PyTorch's semantics, docs/math.md §4.5)
// and Adam. Two implementations of the same float32 arithmetic: one fused pass per parameter in the native kernels
// (native/src/optimizer.cc) when they load, else TensorFlow.js ops — five to seven per parameter, each allocating a
// parameter-sized tensor, which cost up to half a dense training step (docs/kernels.md, "Step cost"). They are bit
// for bit the same (test/unit/kernelsStep.test.ts), and so is their state: a checkpoint restores it exactly
// whichever path wrote it.
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../model/network';
import type { OptimizerSpec } from '../spec/types';
import type { OptimizerState, TensorMap } from '../runs';
import { nativeKernels, type NativeKernels } from '../kernels';

/**
 * A parameter's gradient: a tensor of the parameter's shape, or a host array of its values in the same order (the
 * native dense step's, handed over without TensorFlow.js ops: train/trainer.ts). Both give the same update.
 */
export type ParamGradient = tf.Tensor | Float32Array;
export type LayerGradients = { weight: ParamGradient; bias: ParamGradient }[];

export interface Optimizer {
  readonly type: 'sgd' | 'adam';
  /** Apply one update with gradients aligned with net.layers; replaces (and disposes) the parameter tensors. */
  step(net: Network, grads: LayerGradients, lr: number): void;
  state(): OptimizerState;
  restore(state: OptimizerState): void;
  dispose(): void;
}

type Param = 'weight' | 'bias';

function slotKey(k: number, param: Param, slot: string): string {
  return `${k}.${param}.${slot}`;
}

/**
 * Slot values (momentum, Adam's moments) keyed by slotKey: tensors for the tfjs ops, typed arrays for the fused
 * kernels. Either way they are saved and restored as the same TensorMap.
 */
interface SlotStore {
  save(): TensorMap;
  load(map: TensorMap): void;
  dispose(): void;
}

class TensorSlots implements SlotStore {
  readonly map = new Map<string, tf.Tensor>();
  set(key: string, value: tf.Tensor): tf.Tensor {
    const old = this.map.get(key);
    const kept = tf.keep(value);
    this.map.set(key, kept);
    old?.dispose();
    return kept;
  }
  save(): TensorMap {
    const out: TensorMap = {};
    for (const [key, t] of this.map) out[key] = { shape: [...t.shape], data: Float32Array.from(t.dataSync()) };
    return out;
  }
  load(map: TensorMap): void {
    this.dispose();
    for (const [key, v] of Object.entries(map)) this.map.set(key, tf.tensor(v.data, v.shape, 'float32'));
  }
  dispose(): void {
    for (const t of this.map.values()) t.dispose();
    this.map.clear();
  }
}

class HostSlots implements SlotStore {
  readonly map = new Map<string, { shape: number[]; data: Float32Array }>();
  /** The slot's values, created as zeros of `shape` (`created` tells the caller it is new). */
  get(key: string, shape: readonly number[]): { data: Float32Array; created: boolean } {
    const have = this.map.get(key);
    if (have) return { data: have.data, created: false };
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    this.map.set(key, { shape: [...shape], data });
    return { data, created: true };
  }
  save(): TensorMap {
    const out: TensorMap = {};
    for (const [key, v] of this.map) out[key] = { shape: [...v.shape], data: Float32Array.from(v.data) };
    return out;
  }
  load(map: TensorMap): void {
    this.map.clear();
    for (const [key, v] of Object.entries(map))
      this.map.set(key, { shape: [...v.shape], data: Float32Array.from(v.data) });
  }
  dispose(): void {
    this.map.clear();
  }
}

function f32(t: ParamGradient): Float32Array {
  if (t instanceof Float32Array) return t;
  const d = t.dataSync();
  return d instanceof Float32Array ? d : Float32Array.from(d);
}

/** The gradient as a tensor of the parameter's shape (inside the update's tidy, which disposes a new one). */
function gradTensor(g: ParamGradient, p: tf.Tensor): tf.Tensor {
  return g instanceof Float32Array ? tf.tensor(g, p.shape, 'float32') : g;
}

/**
 * For each parameter tensor a fused update made: the array it wraps and the one its predecessor wrapped. The next
 * update of that parameter writes into the predecessor's array (its tensor was disposed by the update that made this
 * one) instead of a new one: no fresh pages to fault in and zero per update. So a parameter's values (dataSync) are
 * its until its second update after; code that keeps them longer copies them, as checkpoints do
 * (model/network.ts networkTensorMap). A tensor the optimiser did not make (a new network, restored parameters)
 * starts a new pair, and its own array is never written.
 */
const madeByUpdate = new WeakMap<tf.Tensor, { wraps: Float32Array; spare?: Float32Array }>();

/** The array for the value that follows parameter tensor `p`. */
function nextArray(p: tf.Tensor): Float32Array {
  const spare = madeByUpdate.get(p)?.spare;
  return spare?.length === p.size ? spare : new Float32Array(p.size);
}

/** The tensor of `values` (from nextArray(p)): p's successor. */
function successor(p: tf.Tensor, values: Float32Array): tf.Tensor {
  const t = tf.tensor(values, p.shape, 'float32');
  madeByUpdate.set(t, { wraps: values, spare: madeByUpdate.get(p)?.wraps });
  return t;
}

/** Every parameter of `net` replaced by `rule`'s result (the old tensor disposed). */
function updateEach(net: Network, rule: (k: number, param: Param, p: tf.Tensor) => tf.Tensor): void {
  net.layers.forEach((layer, k) => {
    for (const param of ['weight', 'bias'] as const) {
      const p = layer[param];
      const next = rule(k, param, p);
      p.dispose();
      (layer as { weight: tf.Tensor; bias: tf.Tensor })[param] = next;
    }
  });
}

/**
 * The optimiser of `spec`. `kernels` picks the implementation (default: the native kernels when they load and
 * have the fused updates; pass null for the tfjs ops).
 */
export function createOptimizer(
  spec: OptimizerSpec | undefined,
  kernels: NativeKernels | null | undefined = nativeKernels(),
): Optimizer {
  const s: OptimizerSpec = spec ?? { type: 'sgd' };
  const weightDecay = s.weightDecay ?? 0;
  const fused = kernels?.sgdUpdate && kernels.adamUpdate ? kernels : undefined;
  const host = new HostSlots();
  const tensors = new TensorSlots();
  const slots: SlotStore = fused ? host : tensors;
  let t = 0;

  /** The tfjs-op update: `rule` on the parameter and its (weight-decayed) gradient, inside a tidy. */
  function updateOps(
    net: Network,
    grads: LayerGradients,
    rule: (key: (slot: string) => string, p: tf.Tensor, g: tf.Tensor) => tf.Tensor,
  ): void {
    updateEach(net, (k, param, p) =>
      tf.tidy(() => {
        const raw = gradTensor(grads[k][param], p);
        const g = weightDecay > 0 ? tf.add(raw, tf.mul(p, weightDecay)) : raw;
        return rule((slot) => slotKey(k, param, slot), p, g);
      }),
    );
  }

  /** The fused update: `rule` on typed arrays writes the new parameter into `out` (nextArray), its successor. */
  function updateFused(
    net: Network,
    grads: LayerGradients,
    rule: (
      key: (slot: string) => string,
      p: tf.Tensor,
      pData: Float32Array,
      g: Float32Array,
      out: Float32Array,
    ) => Float32Array,
  ): void {
    updateEach(net, (k, param, p) =>
      successor(
        p,
        rule((slot) => slotKey(k, param, slot), p, f32(p), f32(grads[k][param]), nextArray(p)),
      ),
    );
  }

  const common = {
    state: (): OptimizerState => ({ type: s.type, state: slots.save(), scalars: s.type === 'adam' ? { t } : {} }),
    restore(state: OptimizerState) {
      slots.load(state.state);
      if (s.type === 'adam') t = state.scalars.t ?? 0;
    },
    dispose() {
      slots.dispose();
    },
  };

  if (s.type === 'adam') {
    const b1 = s.beta1 ?? 0.9;
    const b2 = s.beta2 ?? 0.999;
    const eps = s.epsilon ?? 1e-8;
    return {
      type: 'adam',
      ...common,
      step(net, grads, lr) {
        t++;
        const c1 = 1 - b1 ** t;
        const c2 = 1 - b2 ** t;
        if (fused) {
          updateFused(net, grads, (key, p, pData, g, out) => {
            const m = host.get(key('m'), p.shape).data;
            const v = host.get(key('v'), p.shape).data;
            return fused.adamUpdate!(pData, g, m, v, lr, b1, b2, 1 - b1, 1 - b2, eps, weightDecay, c1, c2, out);
          });
          return;
        }
        updateOps(net, grads, (key, p, g) => {
          const prevM = tensors.map.get(key('m')) ?? tf.zerosLike(g);
          const m = tensors.set(key('m'), tf.add(tf.mul(prevM, b1), tf.mul(g, 1 - b1)));
          const prevV = tensors.map.get(key('v')) ?? tf.zerosLike(g);
          const v = tensors.set(key('v'), tf.add(tf.mul(prevV, b2), tf.mul(tf.square(g), 1 - b2)));
          return tf.sub(p, tf.mul(tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps)), lr));
        });
      },
    };
  }
  const momentum = s.momentum ?? 0.9;
  const nesterov = s.nesterov ?? true;
  const noVelocity = new Float32Array(0);
  return {
    type: 'sgd',
    ...common,
    step(net, grads, lr) {
      if (fused) {
        updateFused(net, grads, (key, p, pData, g, out) => {
          const v = momentum === 0 ? { data: noVelocity, created: true } : host.get(key('v'), p.shape);
          return fused.sgdUpdate!(pData, g, v.data, !v.created, lr, momentum, nesterov, weightDecay, out);
        });
        return;
      }
      updateOps(net, grads, (key, p, g) => {
        if (momentum === 0) return tf.sub(p, tf.mul(g, lr));
        // v ← μ v + g;  update = g + μ v (Nesterov) or v   (torch.optim.SGD, dampening 0)
        const prev = tensors.map.get(key('v'));
        const v = tensors.set(key('v'), prev ? tf.add(tf.mul(prev, momentum), g) : tf.clone(g));
        const u = nesterov ? tf.add(g, tf.mul(v, momentum)) : v;
        return tf.sub(p, tf.mul(u, lr));
      });
    },
  };
}
