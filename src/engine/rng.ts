// Seeded, splittable random numbers for every stochastic part of the engine.
//
// One generator per run, split into named streams (training noise, diagnostics, data order) so that
// drawing from one stream never shifts another (architecture note: diagnostics must not change training,
// a resumed run continues the same streams). xoshiro128** in typed arrays: about twice as fast as
// tf.randomUniform, which runs in JavaScript on every backend anyway, and reproducible across backends.

export interface RngState {
  s: [number, number, number, number];
}

function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number | RngState = 1) {
    if (typeof seed === 'number') {
      const next = splitmix32(Math.floor(seed) >>> 0);
      this.s0 = next();
      this.s1 = next();
      this.s2 = next();
      this.s3 = next();
      if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    } else {
      [this.s0, this.s1, this.s2, this.s3] = seed.s;
    }
  }

  /** An independent generator derived from this one's current state and a stream name. */
  split(stream: string): Rng {
    const next = splitmix32((this.s0 ^ Math.imul(hashString(stream), 0x9e3779b1) ^ this.s2) >>> 0);
    const child = new Rng(0);
    child.s0 = (next() ^ this.s1) >>> 0;
    child.s1 = (next() ^ this.s3) >>> 0;
    child.s2 = next();
    child.s3 = next() | 1;
    return child;
  }

  getState(): RngState {
    return { s: [this.s0, this.s1, this.s2, this.s3] };
  }

  /** Next 32 random bits as an unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /**
   * Uniforms strictly inside (0, 1): (k + 0.5)/2^23 with k a 23-bit integer, exactly representable in float32 (a 24-bit
   * k would round its top value to 1.0), so logit(u) and Φ⁻¹(u) are always finite (docs/math.md §5.4).
   */
  uniform(): number {
    return ((this.nextUint32() >>> 9) + 0.5) * 1.1920928955078125e-7;
  }

  fillUniform(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = ((this.nextUint32() >>> 9) + 0.5) * 1.1920928955078125e-7;
    return out;
  }

  uniforms(n: number): Float32Array {
    return this.fillUniform(new Float32Array(n));
  }

  /** Standard normal draws (Box–Muller on two open-interval uniforms). */
  fillNormal(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i += 2) {
      const r = Math.sqrt(-2 * Math.log(this.uniform()));
      const t = 2 * Math.PI * this.uniform();
      out[i] = r * Math.cos(t);
      if (i + 1 < out.length) out[i + 1] = r * Math.sin(t);
    }
    return out;
  }

  normals(n: number): Float32Array {
    return this.fillNormal(new Float32Array(n));
  }

  /** An integer in [0, 2^53): the key of a counter-based stream (src/engine/counterStream.ts). */
  seed53(): number {
    return this.nextUint32() * 2097152 + (this.nextUint32() >>> 11);
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Fisher–Yates permutation of 0..n−1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.uniform() * (i + 1));
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
