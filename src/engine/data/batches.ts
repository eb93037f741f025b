// Mini-batches over a split, one epoch at a time in an order drawn from the run's data stream, with optional
// FlipCrop. The state is small and exact, so a resumed run sees the same batches as an uninterrupted one.
import { Rng, RngState } from '../rng';
import { drawFlipCrop, flipCrop } from './augment';
import type { Split } from './types';

export interface BatchOptions {
  batchSize: number;
  /** Draws the epoch orders and the augmentation; give the iterator a stream of its own (rng.split('data')). */
  rng: Rng;
  shuffle: boolean;
  augment: 'none' | 'flipcrop';
  /** [C, H, W] for flipcrop; otherwise only its product (the feature count) matters. */
  inputShape: number[];
}

export interface Batch {
  x: Float32Array;
  y: Float32Array;
  n: number;
  /** True on the last batch of an epoch. */
  epochDone: boolean;
}

export interface BatchIteratorState {
  /** The current epoch, counted from 0. */
  epoch: number;
  /** Examples of this epoch already handed out. */
  position: number;
  /** Generator state the current epoch's order was drawn from (the order is redrawn on restore). */
  orderRng: RngState;
  /** Generator state now (after this epoch's augmentation draws so far). */
  rng: RngState;
}

export class BatchIterator {
  private rng: Rng;
  private readonly features: number;
  private order!: Int32Array;
  private orderRng!: RngState;
  private epochIndex = 0;
  private position = 0;

  constructor(
    private readonly split: Split,
    private readonly options: BatchOptions,
  ) {
    if (!(Number.isInteger(options.batchSize) && options.batchSize >= 1)) {
      throw new RangeError(`batch size must be an integer ≥ 1, got ${options.batchSize}`);
    }
    if (split.n < 1) throw new RangeError('cannot iterate over an empty split');
    this.features = split.x.length / split.n;
    const shape = options.inputShape;
    if (options.augment === 'flipcrop' && (shape.length !== 3 || shape[0] * shape[1] * shape[2] !== this.features)) {
      throw new RangeError(
        `flipcrop needs [C, H, W] images of ${this.features} values, got input shape [${shape.join(', ')}]`,
      );
    }
    this.rng = options.rng;
    this.startEpoch();
  }

  get epoch(): number {
    return this.epochIndex;
  }

  private drawOrder(rng: Rng): Int32Array {
    if (this.options.shuffle) return rng.permutation(this.split.n);
    return Int32Array.from({ length: this.split.n }, (_, i) => i);
  }

  private startEpoch(): void {
    this.orderRng = this.rng.getState();
    this.order = this.drawOrder(this.rng);
    this.position = 0;
  }

  /**
   * The next batch of the current epoch (the last one may be smaller and has epochDone). Once an epoch is
   * exhausted the next call returns undefined and starts the next epoch, so `while ((b = it.next()))` runs
   * exactly one epoch.
   */
  next(): Batch | undefined {
    const { split, features } = this;
    if (this.position >= split.n) {
      this.epochIndex++;
      this.startEpoch();
      return undefined;
    }
    const n = Math.min(this.options.batchSize, split.n - this.position);
    const x = new Float32Array(n * features);
    const y = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const i = this.order[this.position + k];
      y[k] = split.y[i];
      if (this.options.augment === 'flipcrop') {
        flipCrop(split.x, i * features, x, k * features, this.options.inputShape, drawFlipCrop(this.rng));
      } else {
        x.set(split.x.subarray(i * features, (i + 1) * features), k * features);
      }
    }
    this.position += n;
    return { x, y, n, epochDone: this.position >= split.n };
  }

  state(): BatchIteratorState {
    return {
      epoch: this.epochIndex,
      position: this.position,
      orderRng: { s: [...this.orderRng.s] },
      rng: this.rng.getState(),
    };
  }

  /** Continues from a saved state; from here on the iterator draws from a generator rebuilt from `state.rng`. */
  restore(state: BatchIteratorState): void {
    if (!(Number.isInteger(state.position) && state.position >= 0 && state.position <= this.split.n)) {
      throw new RangeError(`batch state position ${state.position} does not fit a split of ${this.split.n} examples`);
    }
    this.epochIndex = state.epoch;
    this.orderRng = { s: [...state.orderRng.s] };
    this.order = this.drawOrder(new Rng(state.orderRng));
    this.position = state.position;
    this.rng = new Rng(state.rng);
  }
}
