// test-backends: each
// The native kernels (native/, src/engine/kernels.ts) against their references: a float64 evaluation of the
// defining sums, and the tfjs-op implementations in layers.ts. Every instruction set the CPU supports is tested;
// results must not depend on the thread count; the engine's PSA estimate is the same with and without them.
// Skipped, with the reason, when the addon is not built (scripts/build-kernels.mjs) or SBN_KERNELS=js.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend';
import {
  kernelsInfo,
  nativeKernels,
  nativeKernelsPath,
  setNativeKernelsEnabled,
  type NativeKernels,
} from '../../src/engine/kernels';
import {
  convOutputSize,
  psaDenseReference,
  ratioConvReference,
  type ConvGeometry,
} from '../../src/engine/model/layers';
import { noiseOf, normalCdf64, sigmoid64 } from '../../src/engine/model/noise';
import { lossAndGrad } from '../../src/engine/model/loss';
import { lastLayerNative, lastLayerReference, type LastLayer } from '../../src/engine/estimators/psa';
import type { OutputLoss } from '../../src/engine/spec/types';
import { Rng } from '../../src/engine/rng';
import { disposeNetwork, initNetwork, networkFromValues, networkValues } from '../../src/engine/model/network';
import { gradientDraws } from '../../src/engine/gradients/draws';
import type { ModelSpec, NoiseKind } from '../../src/engine/spec/types';
import { relativeError } from './helpers/fixtures';
import { bernoulliJs, streamUniformsJs } from '../../src/engine/counterStream';

const kernels = nativeKernels();
const skip = kernels ? false : `native kernels unavailable: ${kernelsInfo().detail}`;
const K = kernels as NativeKernels;
const TOL = 1e-5;

before(async () => {
  await initBackend();
});
after(() => {
  if (kernels) {
    kernels.setIsa('auto');
    kernels.setThreads(0);
  }
});

/** F(u) − F(v) in float64, as upper-tail differences when both sit on the upper side (no cancellation there). */
function diff64(kind: NoiseKind, u: number, v: number): number {
  if (kind === 'logistic') return u + v > 0 ? sigmoid64(-v) - sigmoid64(-u) : sigmoid64(u) - sigmoid64(v);
  return u + v > 0 ? normalCdf64(-v) - normalCdf64(-u) : normalCdf64(u) - normalCdf64(v);
}

function denseRef64(
  a: Float32Array,
  wT: Float32Array,
  sh: Float32Array,
  g: Float32Array,
  rows: number,
  nIn: number,
  nOut: number,
  kind: NoiseKind,
): Float64Array {
  const out = new Float64Array(rows * nIn);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < nIn; i++) {
      const d = sh[r * nIn + i];
      let acc = 0;
      for (let j = 0; j < nOut; j++) {
        const aj = a[r * nOut + j];
        acc += diff64(kind, aj + wT[i * nOut + j] * d, aj) * g[r * nOut + j];
      }
      out[r * nIn + i] = acc;
    }
  }
  return out;
}

interface ConvCase {
  B: number;
  H: number;
  W: number;
  C: number;
  Ho: number;
  Wo: number;
  F: number;
  K: number;
  stride: number;
  padding: number;
}

/** λ[b,h,x,c] straight from the definition: every output position whose window covers (h, x). */
function convRef64(
  a: Float32Array,
  sh: Float32Array,
  g: Float32Array,
  w: Float32Array,
  s: ConvCase,
  kind: NoiseKind,
): Float64Array {
  const out = new Float64Array(s.B * s.H * s.W * s.C);
  for (let b = 0; b < s.B; b++) {
    for (let ho = 0; ho < s.Ho; ho++) {
      for (let wo = 0; wo < s.Wo; wo++) {
        const aOff = ((b * s.Ho + ho) * s.Wo + wo) * s.F;
        for (let kh = 0; kh < s.K; kh++) {
          const h = ho * s.stride + kh - s.padding;
          if (h < 0 || h >= s.H) continue;
          for (let kw = 0; kw < s.K; kw++) {
            const x = wo * s.stride + kw - s.padding;
            if (x < 0 || x >= s.W) continue;
            for (let c = 0; c < s.C; c++) {
              const pix = ((b * s.H + h) * s.W + x) * s.C + c;
              const d = sh[pix];
              const wOff = ((kh * s.K + kw) * s.C + c) * s.F;
              let acc = 0;
              for (let f = 0; f < s.F; f++)
                acc += diff64(kind, a[aOff + f] + w[wOff + f] * d, a[aOff + f]) * g[aOff + f];
              out[pix] += acc;
            }
          }
        }
      }
    }
  }
  return out;
}

function uniform(rng: Rng, n: number, scale: number): Float32Array {
  const v = rng.uniforms(n);
  for (let i = 0; i < n; i++) v[i] = (2 * v[i] - 1) * scale;
  return v;
}

/**
 * Flip shifts δ: ±2 for ±1 states, ±1 for {0,1} states (docs/math.md §2.3.2), or arbitrary values (the generic
 * path).
 */
function shifts(rng: Rng, n: number, coding: 'pm1' | '01' | 'any'): Float32Array {
  const v = rng.uniforms(n);
  for (let i = 0; i < n; i++) {
    v[i] =
      coding === 'any'
        ? [0, 0.25, -1.5, 2, 3, -0.5, 1e-3][rng.int(7)] * (rng.uniform() < 0.5 ? 1 : -1)
        : (v[i] < 0.5 ? -1 : 1) * (coding === 'pm1' ? 2 : 1);
  }
  return v;
}

function assertClose(got: Float32Array, want: ArrayLike<number>, what: string, tol = TOL): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    assert.ok(Number.isFinite(got[i]), `${what}: entry ${i} is ${got[i]}`);
    const e = Math.abs(got[i] - want[i]);
    if (e > worst) {
      worst = e;
      at = i;
    }
  }
  assert.ok(
    worst <= tol * scale + 1e-30,
    `${what}: |Δ| ${worst.toExponential(3)} at ${at} (${got[at]} vs ${want[at]}) > ${tol} × ${scale.toExponential(3)}`,
  );
}

function forEachIsa(fn: (isa: string) => void): void {
  for (const isa of K.info().isas) {
    assert.ok(K.setIsa(isa), isa);
    try {
      fn(isa);
    } finally {
      K.setIsa('auto');
    }
  }
}

/** Cases built (with their float64 references) once, then checked under every ISA. */
interface Case {
  what: string;
  run: () => Float32Array;
  want: Float64Array;
}
function checkEveryIsa(cases: Case[]): void {
  forEachIsa((isa) => {
    for (const c of cases) assertClose(c.run(), c.want, `${isa} ${c.what}`);
  });
}

test('native kernels: the addon reports its instruction set and threads', { skip }, () => {
  const i = K.info();
  assert.ok(i.isas.includes('scalar'));
  assert.ok(i.isas.includes(i.isa), `${i.isa} in ${i.isas.join(', ')}`);
  assert.ok(i.threads >= 1);
  assert.equal(kernelsInfo().kind, 'native');
  assert.match(kernelsInfo().detail, new RegExp(i.isa));
});

/** psaDense on random a ∈ ±3, W ∈ ±1.5, g ∈ ±1 against the float64 reference. */
function denseCase(
  rng: Rng,
  rows: number,
  nIn: number,
  nOut: number,
  coding: 'pm1' | '01' | 'any',
  kind: NoiseKind,
): Case {
  const a = uniform(rng, rows * nOut, 3);
  const wT = uniform(rng, nIn * nOut, 1.5);
  const sh = shifts(rng, rows * nIn, coding);
  const g = uniform(rng, rows * nOut, 1);
  return {
    what: `dense ${rows}×${nIn}×${nOut} ${coding} ${kind}`,
    run: () => K.psaDense(a, wT, sh, g, rows, nIn, nOut, kind),
    want: denseRef64(a, wT, sh, g, rows, nIn, nOut, kind),
  };
}

test(
  'native psaDense = float64 reference on random shapes (sizes 1..700, both codings, both noises, every ISA)',
  { skip },
  () => {
    const cases: Case[] = [];
    {
      const rng = new Rng(11);
      const fixed: [number, number, number][] = [
        [1, 1, 1],
        [1, 1, 700],
        [1, 700, 3],
        [700, 2, 1],
        [3, 5, 7],
        [2, 9, 8],
        [4, 3, 15],
        [5, 4, 16],
        [2, 6, 17],
        [3, 7, 33],
      ];
      const random: [number, number, number][] = Array.from({ length: 12 }, () => {
        // one size up to 700, the product bounded so the float64 reference stays quick
        const dims = [1 + rng.int(700), 1 + rng.int(24), 1 + rng.int(24)];
        for (let i = dims.length - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          [dims[i], dims[j]] = [dims[j], dims[i]];
        }
        return dims as [number, number, number];
      });
      for (const [rows, nIn, nOut] of [...fixed, ...random]) {
        for (const coding of ['pm1', '01'] as const) {
          for (const kind of ['logistic', 'normal'] as const) cases.push(denseCase(rng, rows, nIn, nOut, coding, kind));
        }
      }
    }
    assert.equal(cases.length, 88);
    checkEveryIsa(cases);
  },
);

test(
  'native psaDense: small, large and extreme weights and pre-activations (±100), arbitrary shifts incl. 0',
  { skip },
  () => {
    const cases: Case[] = [];
    {
      const rng = new Rng(5);
      for (const [wScale, aScale] of [
        [1e-4, 1],
        [1e-2, 5],
        [30, 30],
        [100, 100],
        [100, 1],
        [0.5, 100],
      ]) {
        for (const coding of ['pm1', '01', 'any'] as const) {
          for (const kind of ['logistic', 'normal'] as const) {
            const [rows, nIn, nOut] = [3 + rng.int(5), 5 + rng.int(20), 20 + rng.int(60)];
            const a = uniform(rng, rows * nOut, aScale);
            const wT = uniform(rng, nIn * nOut, wScale);
            // a few entries exactly at the extremes
            for (let i = 0; i < a.length; i += 7) a[i] = rng.uniform() < 0.5 ? -aScale : aScale;
            for (let i = 0; i < wT.length; i += 5) wT[i] = rng.uniform() < 0.5 ? -wScale : wScale;
            const sh = shifts(rng, rows * nIn, coding);
            const g = uniform(rng, rows * nOut, 1);
            cases.push({
              what: `dense w ±${wScale} a ±${aScale} ${coding} ${kind}`,
              run: () => K.psaDense(a, wT, sh, g, rows, nIn, nOut, kind),
              want: denseRef64(a, wT, sh, g, rows, nIn, nOut, kind),
            });
          }
        }
      }
    }
    checkEveryIsa(cases);
  },
);

test(
  'native psaDense: layers whose tables exceed L2 go by row blocks and input groups (ragged both ways, zero shifts)',
  { skip },
  () => {
    const cases: Case[] = [];
    {
      const rng = new Rng(23);
      // weight tables of 360 KB, 270 KB and 330 KB (> 256 KB): groups of 4, 7 and 4 inputs, blocks of 32 rows
      for (const [rows, nIn, nOut] of [
        [37, 75, 600],
        [33, 130, 260],
        [70, 41, 1000],
      ]) {
        for (const coding of ['pm1', 'any'] as const) {
          for (const kind of ['logistic', 'normal'] as const) cases.push(denseCase(rng, rows, nIn, nOut, coding, kind));
        }
      }
    }
    checkEveryIsa(cases);
  },
);

test('native psaDense = the tfjs reference (psaDenseReference)', { skip }, () => {
  const rng = new Rng(3);
  for (const kind of ['logistic', 'normal'] as const) {
    for (const [rows, nIn, nOut] of [
      [17, 33, 65],
      [1, 700, 9],
      [64, 20, 130],
      [5, 1, 700],
    ]) {
      const a = uniform(rng, rows * nOut, 3);
      const wT = uniform(rng, nIn * nOut, 1);
      const sh = shifts(rng, rows * nIn, 'pm1');
      const g = uniform(rng, rows * nOut, 1);
      const ref = tf.tidy(() =>
        psaDenseReference(
          tf.tensor2d(a, [rows, nOut]),
          tf.tensor2d(wT, [nIn, nOut]),
          tf.tensor2d(sh, [rows, nIn]),
          tf.tensor2d(g, [rows, nOut]),
          noiseOf(kind),
        ),
      );
      assertClose(K.psaDense(a, wT, sh, g, rows, nIn, nOut, kind), ref.dataSync(), `${rows}×${nIn}×${nOut} ${kind}`);
      ref.dispose();
    }
  }
});

test(
  'native psaDense: two rows read through one pass over the tables (layers whose tables outgrow L2, ≤ 256 outputs) ' +
    '= each row alone, bit for bit, every ISA',
  { skip },
  () => {
    const rng = new Rng(41);
    const cases: { what: string; rows: number; nIn: number; nOut: number; a: Float32Array; sh: Float32Array }[] = [];
    for (const [rows, nIn, nOut] of [
      [6, 200, 256],
      [33, 400, 100],
      [9, 700, 53],
    ]) {
      for (const mix of ['pm1', 'magnitudes', 'exp-form row'] as const) {
        const a = uniform(rng, rows * nOut, 3);
        // one row's pre-activations large enough that it takes the exp form: its pairs fall back
        if (mix === 'exp-form row') a.fill(70, nOut, 2 * nOut);
        // δ ∈ {0, ±1, ±2}: inputs whose two rows differ in |δ| (or are 0 in one) take single-row calls
        const sh =
          mix === 'magnitudes'
            ? Float32Array.from({ length: rows * nIn }, () => [0, 1, -1, 2, -2][rng.int(5)])
            : shifts(rng, rows * nIn, 'pm1');
        cases.push({ what: `${mix} ${rows}×${nIn}×${nOut}`, rows, nIn, nOut, a, sh });
      }
    }
    forEachIsa((isa) => {
      for (const { what, rows, nIn, nOut, a, sh } of cases) {
        const wT = uniform(new Rng(nIn), nIn * nOut, 1);
        const g = uniform(new Rng(nOut), rows * nOut, 1);
        const whole = K.psaDense(a, wT, sh, g, rows, nIn, nOut, 'logistic');
        for (let r = 0; r < rows; r++) {
          const one = K.psaDense(
            a.slice(r * nOut, (r + 1) * nOut),
            wT,
            sh.slice(r * nIn, (r + 1) * nIn),
            g.slice(r * nOut, (r + 1) * nOut),
            1,
            nIn,
            nOut,
            'logistic',
          );
          const got = whole.subarray(r * nIn, (r + 1) * nIn);
          assert.ok(
            Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(one.buffer)),
            `${isa} ${what}: row ${r} differs from the row alone`,
          );
        }
      }
    });
  },
);

test(
  "native psaDense: an input's λ does not depend on the other inputs' signs (layers of > 256 outputs take calls of " +
    'either sign on AVX-512), bit for bit, and = float64, every ISA',
  { skip },
  () => {
    const rng = new Rng(43);
    // 600 outputs: four inputs to a call, tables past L2; 66 inputs: a last call of 2; 13 rows; one row in the exp form
    const [rows, nIn, nOut] = [13, 66, 600];
    const a = uniform(rng, rows * nOut, 3);
    a.fill(70, 5 * nOut, 6 * nOut);
    const wT = uniform(rng, nIn * nOut, 1);
    const g = uniform(rng, rows * nOut, 1);
    const sh = shifts(rng, rows * nIn, 'pm1');
    // the same δ with every other input of each row flipped (inputs 1, 3, 5, …): calls of other sign patterns
    const flipped = sh.map((d, i) => (i % 2 === 1 ? -d : d));
    const want = denseRef64(a, wT, sh, g, rows, nIn, nOut, 'logistic');
    forEachIsa((isa) => {
      const got = K.psaDense(a, wT, sh, g, rows, nIn, nOut, 'logistic');
      assertClose(got, want, `${isa} mixed signs`);
      const other = K.psaDense(a, wT, flipped, g, rows, nIn, nOut, 'logistic');
      for (let i = 0; i < rows * nIn; i += 2) {
        assert.ok(Object.is(got[i], other[i]), `${isa}: λ[${i}] ${got[i]} changed to ${other[i]} with other signs`);
      }
    });
  },
);

/** A random conv geometry; `fixed` sets some sizes (the others are drawn as without it). */
function convCase(
  rng: Rng,
  Kk: number,
  stride: number,
  padding: number,
  fixed: Partial<Pick<ConvCase, 'B' | 'C' | 'F'>> = {},
): ConvCase {
  const H = Kk + rng.int(6);
  const W = Kk + rng.int(6);
  return {
    B: fixed.B ?? 1 + rng.int(17),
    H,
    W,
    C: fixed.C ?? 1 + rng.int(6),
    F: fixed.F ?? 1 + rng.int(24),
    K: Kk,
    stride,
    padding,
    Ho: convOutputSize(H, Kk, stride, padding),
    Wo: convOutputSize(W, Kk, stride, padding),
  };
}

function runConv(
  s: ConvCase,
  a: Float32Array,
  sh: Float32Array,
  g: Float32Array,
  w: Float32Array,
  kind: NoiseKind,
): Float32Array {
  return K.ratioConv(a, sh, g, w, s.B, s.H, s.W, s.C, s.Ho, s.Wo, s.F, s.K, s.stride, s.padding, kind);
}

test(
  'native ratioConv = float64 reference (K ∈ {1,3,5}, stride ∈ {1,2}, padding ∈ {0,1,2}, batch 1..17, ' +
    'both codings and noises, every ISA)',
  { skip },
  () => {
    const cases: Case[] = [];
    {
      const rng = new Rng(7);
      for (const Kk of [1, 3, 5]) {
        for (const stride of [1, 2]) {
          for (const padding of [0, 1, 2]) {
            for (const coding of ['pm1', '01'] as const) {
              for (const kind of ['logistic', 'normal'] as const) {
                const s = convCase(rng, Kk, stride, padding);
                const a = uniform(rng, s.B * s.Ho * s.Wo * s.F, 3);
                const g = uniform(rng, a.length, 1);
                const w = uniform(rng, Kk * Kk * s.C * s.F, 1.5);
                const sh = shifts(rng, s.B * s.H * s.W * s.C, coding);
                cases.push({
                  what: `conv K${Kk} s${stride} p${padding} ${coding} ${kind} ${JSON.stringify(s)}`,
                  run: () => runConv(s, a, sh, g, w, kind),
                  want: convRef64(a, sh, g, w, s, kind),
                });
              }
            }
          }
        }
      }
    }
    assert.equal(cases.length, 72);
    checkEveryIsa(cases);
  },
);

test(
  'native ratioConv: extreme weights and pre-activations (±100), arbitrary shifts, 7×7 kernels (49 taps)',
  { skip },
  () => {
    const cases: Case[] = [];
    {
      const rng = new Rng(9);
      for (const [wScale, aScale] of [
        [100, 100],
        [1e-3, 2],
        [100, 1],
        [0.5, 100],
        [1, 3],
      ]) {
        for (const coding of ['pm1', 'any'] as const) {
          const Kk = aScale === 3 ? 7 : 3; // 49 taps: more than one call of the kernel takes
          const s = Kk === 7 ? convCase(rng, 7, 1, 3) : convCase(rng, 3, 1 + rng.int(2), rng.int(3));
          const a = uniform(rng, s.B * s.Ho * s.Wo * s.F, aScale);
          for (let i = 0; i < a.length; i += 5) a[i] = rng.uniform() < 0.5 ? -aScale : aScale;
          const g = uniform(rng, a.length, 1);
          const w = uniform(rng, Kk * Kk * s.C * s.F, wScale);
          for (let i = 0; i < w.length; i += 3) w[i] = rng.uniform() < 0.5 ? -wScale : wScale;
          const sh = shifts(rng, s.B * s.H * s.W * s.C, coding);
          for (const kind of ['logistic', 'normal'] as const) {
            cases.push({
              what: `conv K${Kk} w ±${wScale} a ±${aScale} ${coding} ${kind}`,
              run: () => runConv(s, a, sh, g, w, kind),
              want: convRef64(a, sh, g, w, s, kind),
            });
          }
        }
      }
    }
    checkEveryIsa(cases);
  },
);

test(
  'native ratioConv: 32 and more output channels (calls of one sign of δ) = float64 reference, zero and arbitrary ' +
    'shifts, more channels than a call takes, exp-form rows',
  { skip },
  () => {
    const cases: Case[] = [];
    {
      const rng = new Rng(31);
      for (const [F, C] of [
        [32, 5],
        [33, 17],
        [47, 12],
        [64, 9],
      ]) {
        for (const coding of ['pm1', '01', 'any'] as const) {
          for (const kind of ['logistic', 'normal'] as const) {
            const Kk = 3;
            const s = convCase(rng, Kk, 1 + rng.int(2), rng.int(2), { B: 1 + rng.int(3), C, F });
            // one case in three with pre-activations and weights large enough that rows take the exp form
            const extreme = rng.int(3) === 0;
            const a = uniform(rng, s.B * s.Ho * s.Wo * s.F, extreme ? 60 : 3);
            const g = uniform(rng, a.length, 1);
            const w = uniform(rng, Kk * Kk * s.C * s.F, extreme ? 20 : 1.5);
            const sh = shifts(rng, s.B * s.H * s.W * s.C, coding);
            cases.push({
              what: `conv ${JSON.stringify(s)} ${coding} ${kind}${extreme ? ' extreme' : ''}`,
              run: () => runConv(s, a, sh, g, w, kind),
              want: convRef64(a, sh, g, w, s, kind),
            });
          }
        }
      }
    }
    assert.equal(cases.length, 24);
    checkEveryIsa(cases);
  },
);

test(
  'native ratioConv: two images read through one pass over the tables (32 and more output channels) = each image ' +
    'alone, bit for bit, every ISA',
  { skip },
  () => {
    const rng = new Rng(37);
    const cases: { what: string; s: ConvCase; a: Float32Array; sh: Float32Array; g: Float32Array; w: Float32Array }[] =
      [];
    for (const [F, C, B] of [
      [32, 5, 2],
      [96, 20, 3],
      [40, 9, 5],
    ]) {
      for (const mix of ['pm1', 'magnitudes', 'exp-form image'] as const) {
        const s = convCase(rng, 3, 1 + rng.int(2), rng.int(2), { B, C, F });
        const a = uniform(rng, s.B * s.Ho * s.Wo * s.F, 3);
        // one image's pre-activations large enough that its rows take the exp form: its pairs fall back
        if (mix === 'exp-form image') a.fill(70, s.Ho * s.Wo * s.F, 2 * s.Ho * s.Wo * s.F);
        const g = uniform(rng, a.length, 1);
        const w = uniform(rng, 9 * s.C * s.F, 1.5);
        // δ ∈ {0, ±1, ±2}: channels whose two images differ in |δ| (or are 0 in one) take single-image calls
        const sh =
          mix === 'magnitudes'
            ? Float32Array.from({ length: s.B * s.H * s.W * s.C }, () => [0, 1, -1, 2, -2][rng.int(5)])
            : shifts(rng, s.B * s.H * s.W * s.C, 'pm1');
        cases.push({ what: `${mix} ${JSON.stringify(s)}`, s, a, sh, g, w });
      }
    }
    forEachIsa((isa) => {
      for (const { what, s, a, sh, g, w } of cases) {
        const whole = runConv(s, a, sh, g, w, 'logistic');
        const outImage = s.Ho * s.Wo * s.F;
        const inImage = s.H * s.W * s.C;
        for (let b = 0; b < s.B; b++) {
          const one = runConv(
            { ...s, B: 1 },
            a.slice(b * outImage, (b + 1) * outImage),
            sh.slice(b * inImage, (b + 1) * inImage),
            g.slice(b * outImage, (b + 1) * outImage),
            w,
            'logistic',
          );
          const got = whole.subarray(b * inImage, (b + 1) * inImage);
          assert.ok(
            Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(one.buffer)),
            `${isa} ${what}: image ${b} differs from the image alone`,
          );
        }
      }
    });
  },
);

test('native ratioConv = the tfjs reference (ratioConvReference)', { skip }, () => {
  const rng = new Rng(13);
  for (const [Kk, stride, padding] of [
    [3, 1, 1],
    [3, 2, 0],
    [5, 2, 2],
    [1, 1, 0],
  ]) {
    for (const kind of ['logistic', 'normal'] as const) {
      const s = convCase(rng, Kk, stride, padding);
      const geometry: ConvGeometry = {
        kind: 'conv',
        inShape: [s.C, s.H, s.W],
        filters: s.F,
        kernel: Kk,
        stride,
        padding,
        outShape: [s.F, s.Ho, s.Wo],
      };
      const a = uniform(rng, s.B * s.Ho * s.Wo * s.F, 3);
      const g = uniform(rng, a.length, 1);
      const w = uniform(rng, Kk * Kk * s.C * s.F, 1);
      const sh = shifts(rng, s.B * s.H * s.W * s.C, '01');
      const ref = tf.tidy(() =>
        ratioConvReference(
          tf.tensor4d(a, [s.B, s.Ho, s.Wo, s.F]),
          tf.tensor4d(sh, [s.B, s.H, s.W, s.C]),
          tf.tensor4d(g, [s.B, s.Ho, s.Wo, s.F]),
          tf.tensor4d(w, [Kk, Kk, s.C, s.F]),
          geometry,
          noiseOf(kind),
        ),
      );
      assertClose(runConv(s, a, sh, g, w, kind), ref.dataSync(), `K${Kk} s${stride} p${padding} ${kind}`);
      ref.dispose();
    }
  }
});

test('native kernels: results do not depend on the thread count (bit for bit)', { skip }, () => {
  const rng = new Rng(17);
  // two dense shapes: weight tables that fit in L2 (row by row) and that do not (row blocks × input groups)
  const dense = [
    [37, 151, 123],
    [45, 75, 600],
  ].map(([rows, nIn, nOut]) => ({
    rows,
    nIn,
    nOut,
    a: uniform(rng, rows * nOut, 3),
    wT: uniform(rng, nIn * nOut, 1),
    g: uniform(rng, rows * nOut, 1),
  }));
  const s = { B: 9, H: 13, W: 11, C: 21, F: 19, K: 3, stride: 2, padding: 1, Ho: 7, Wo: 6 };
  const ca = uniform(rng, s.B * s.Ho * s.Wo * s.F, 3);
  const cg = uniform(rng, ca.length, 1);
  const cw = uniform(rng, 9 * s.C * s.F, 1);
  forEachIsa((isa) => {
    for (const coding of ['pm1', 'any'] as const) {
      const sh = dense.map((d) => shifts(rng, d.rows * d.nIn, coding));
      const csh = shifts(rng, s.B * s.H * s.W * s.C, coding);
      const outs = [1, 2, 3, 8].map((t) => {
        K.setThreads(t);
        const run = (kind: 'logistic' | 'normal') =>
          dense.map((d, k) => K.psaDense(d.a, d.wT, sh[k], d.g, d.rows, d.nIn, d.nOut, kind));
        const out = [...run('logistic'), runConv(s, ca, csh, cg, cw, 'logistic')];
        // the normal-noise path is the same code under every ISA
        if (isa === 'scalar') out.push(...run('normal'), runConv(s, ca, csh, cg, cw, 'normal'));
        return out;
      });
      K.setThreads(0);
      for (let t = 1; t < outs.length; t++) {
        outs[t].forEach((o, k) =>
          assert.ok(
            Buffer.from(o.buffer).equals(Buffer.from(outs[0][k].buffer)),
            `${isa} ${coding} output ${k}: threads differ`,
          ),
        );
      }
    }
  });
});

test('native kernels: SBN_KERNEL_THREADS sets the default thread count', { skip }, () => {
  const file = nativeKernelsPath()!;
  const code =
    `const m={exports:{}};process.dlopen(m,${JSON.stringify(file)});` +
    'process.stdout.write(String(m.exports.info().threads))';
  for (const n of ['1', '3']) {
    const r = spawnSync(process.execPath, ['-e', code], {
      encoding: 'utf8',
      env: { ...process.env, SBN_KERNEL_THREADS: n },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, n);
  }
});

test(
  'native kernels: worker_threads share the thread pool, get the same results, and the process exits',
  { skip },
  () => {
    // In a child process whose main thread loads the addon only at the end: three workers run threaded kernels at
    // once, exit (the last one's teardown joins the pool), a fourth starts a fresh pool; then the main thread checks
    // every result against its own single-threaded one, and the process must end by itself (nothing left running).
    const file = nativeKernelsPath()!;
    const code = `
const { Worker } = require('node:worker_threads');
const file = ${JSON.stringify(file)};
const inputs = () => {
  let s = 7;
  const r = () => (s = (s * 1103515245 + 12345) >>> 0) / 4294967296 - 0.5;
  const f = (n, m) => Float32Array.from({ length: n }, () => r() * m);
  return { a: f(64 * 300, 6), wT: f(200 * 300, 2), sh: f(64 * 200, 1).map((x) => (x > 0 ? 1 : -1)), g: f(64 * 300, 1) };
};
const work = (k, x) => [k.psaDense(x.a, x.wT, x.sh, x.g, 64, 200, 300, 'logistic'), k.bernoulli(x.g, 99, 5)];
const body = \`const { parentPort } = require('node:worker_threads');
const m = { exports: {} }; process.dlopen(m, \${JSON.stringify(file)});
const inputs = \${inputs}; const work = \${work}; const x = inputs(); m.exports.setThreads(3);
let out; for (let i = 0; i < 20; i++) out = work(m.exports, x);
parentPort.postMessage(out.map((o) => Buffer.from(o.buffer).toString('base64')));\`;
const run = (n) => Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
  const w = new Worker(body, { eval: true });
  let got;
  w.on('message', (m) => (got = m)).on('error', reject).on('exit', (c) => (c === 0 ? resolve(got) : reject(c)));
})));
(async () => {
  const results = [...(await run(3)), ...(await run(1))];
  const m = { exports: {} }; process.dlopen(m, file); m.exports.setThreads(1);
  const own = work(m.exports, inputs()).map((o) => Buffer.from(o.buffer).toString('base64'));
  const same = results.every((r) => r.length === own.length && r.every((o, i) => o === own[i]));
  process.stdout.write(same ? 'same' : 'different');
})();`;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.signal, null, `the process did not end by itself: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'same');
  },
);

test('native kernels: bad arguments throw instead of reading out of bounds', { skip }, () => {
  const f = (n: number) => new Float32Array(n);
  assert.doesNotThrow(() => K.psaDense(f(6), f(6), f(4), f(6), 2, 2, 3, 'logistic'));
  assert.throws(() => K.psaDense(f(6), f(5), f(4), f(6), 2, 2, 3, 'logistic'), /wT: length 5, expected 6/);
  assert.throws(() => K.psaDense(f(6), f(6), f(4), f(5), 2, 2, 3, 'logistic'), /g: length 5/);
  assert.throws(() => K.psaDense(f(6), f(6), f(4), f(6), 2, 2, 3, 'cauchy' as NoiseKind), /noise/);
  assert.throws(
    () => K.psaDense(new Float64Array(6) as unknown as Float32Array, f(6), f(4), f(6), 2, 2, 3, 'logistic'),
    /Float32Array/,
  );
  assert.throws(() => K.ratioConv(f(8), f(16), f(8), f(9), 1, 4, 4, 1, 3, 3, 1, 3, 1, 0, 'logistic'), /Ho, Wo/);
});

// ---- psaFlips: PSA's last layer (docs/math.md §2.3.2) ------------------------------------------------------------

interface FlipsCase {
  rows: number;
  n: number;
  K: number;
  loss: OutputLoss;
  coding: 'pm1' | '01';
  logitScale: number;
  wScale: number;
}

function flipsInputs(rng: Rng, c: FlipsCase) {
  const logits = uniform(rng, c.rows * c.K, c.logitScale);
  const w = uniform(rng, c.K * c.n, c.wScale);
  const shift = shifts(rng, c.rows * c.n, c.coding);
  const labels = new Float32Array(c.rows);
  for (let r = 0; r < c.rows; r++) labels[r] = c.loss === 'logistic' ? (rng.uniform() < 0.5 ? -1 : 1) : rng.int(c.K);
  const rho = rng.uniforms(c.rows * c.n);
  for (let i = 0; i < rho.length; i++) rho[i] /= c.n; // ρ_i = (1 − π_i)/n
  return { logits, w, shift, labels, rho };
}

/** Both implementations of the last layer on the same inputs, as plain arrays. */
function flipsBoth(c: FlipsCase, inp: ReturnType<typeof flipsInputs>): { native: Float32Array[]; ref: Float32Array[] } {
  const arrays = (l: LastLayer) => [l.lambda, l.rowLoss, l.cSum!, l.corr!].map((t) => t.dataSync() as Float32Array);
  return tf.tidy(() => {
    const logits = tf.tensor2d(inp.logits, [c.rows, c.K]);
    const w = tf.tensor2d(inp.w, [c.K, c.n]);
    const shift = tf.tensor2d(inp.shift, [c.rows, c.n]);
    const y = tf.tensor1d(inp.labels);
    const rho = tf.tensor2d(inp.rho, [c.rows, c.n]);
    const base = { ...lossAndGrad(c.loss, logits, y), logits };
    return {
      native: arrays(lastLayerNative(K, c.loss, logits, w, shift, y, rho)),
      ref: arrays(lastLayerReference(c.loss, base, w, shift, y, rho)),
    };
  });
}

const FLIP_OUTPUTS = ['lambda', 'rowLoss', 'cSum', 'corr'];

test(
  'native psaFlips = the tfjs last layer (nll K = 2, 10; logistic K = 1; both codings; extreme logits)',
  { skip },
  () => {
    const rng = new Rng(29);
    for (const [K_, loss] of [
      [1, 'logistic'],
      [2, 'nll'],
      [10, 'nll'],
    ] as const) {
      for (const coding of ['pm1', '01'] as const) {
        for (const [logitScale, wScale] of [
          [3, 0.3],
          [60, 20],
        ]) {
          const c: FlipsCase = { rows: 1 + rng.int(40), n: 1 + rng.int(300), K: K_, loss, coding, logitScale, wScale };
          const inp = flipsInputs(rng, c);
          const { native, ref } = flipsBoth(c, inp);
          // float32 losses of size up to ~|η|: absolute agreement relative to the largest logit that occurs
          const etaMax = logitScale + 2 * wScale;
          native.forEach((got, k) => {
            const want = ref[k];
            assert.equal(got.length, want.length);
            const tol = (k <= 1 ? 2e-6 * (1 + etaMax) : 1e-6) * 4;
            for (let i = 0; i < got.length; i++) {
              assert.ok(Number.isFinite(got[i]), `${FLIP_OUTPUTS[k]}[${i}] = ${got[i]}`);
              assert.ok(
                Math.abs(got[i] - want[i]) <= tol,
                `${loss} K${K_} ${coding} scale ${logitScale}: ${FLIP_OUTPUTS[k]}[${i}] ${got[i]} vs ${want[i]}`,
              );
            }
          });
        }
      }
    }
  },
);

test(
  'native psaFlips: exponentials from per-weight tables (one |δ|, zeros among the shifts, m·max|w| up to 40) and ' +
    'past that limit or with several |δ| the exp path, each = the tfjs last layer',
  { skip },
  () => {
    const rng = new Rng(43);
    for (const [wScale, zeros, coding] of [
      [0.3, 0.3, 'pm1'],
      [19.9, 0.1, 'pm1'], // m·max|w| just under the tables' limit
      [21, 0, 'pm1'], // just over: the exp path
      [1, 0.2, 'any'], // several magnitudes: the exp path
    ] as const) {
      const c: FlipsCase = { rows: 9, n: 300, K: 10, loss: 'nll', coding: 'pm1', logitScale: 20, wScale };
      const inp = flipsInputs(rng, c);
      inp.shift = shifts(rng, c.rows * c.n, coding);
      for (let i = 0; i < inp.shift.length; i++) if (rng.uniform() < zeros) inp.shift[i] = 0;
      const { native, ref } = flipsBoth(c, inp);
      const etaMax = c.logitScale + 3 * wScale;
      native.forEach((got, k) => {
        const tol = (k <= 1 ? 2e-6 * (1 + etaMax) : 1e-6) * 4;
        for (let i = 0; i < got.length; i++) {
          assert.ok(
            Number.isFinite(got[i]) && Math.abs(got[i] - ref[k][i]) <= tol,
            `w ±${wScale} ${coding}: ${FLIP_OUTPUTS[k]}[${i}] ${got[i]} vs ${ref[k][i]}`,
          );
        }
      });
    }
  },
);

test(
  'native psaFlips with groups: corr comes back as its mean per group of rows, independent of threads',
  { skip },
  () => {
    const rng = new Rng(37);
    // 48 rows: groups of 48, 16 and 1 rows (several, one and part of one of the kernel's row blocks of 16); 600 units:
    // several of its chunks of 256 units and a partial one
    const c: FlipsCase = { rows: 48, n: 600, K: 10, loss: 'nll', coding: 'pm1', logitScale: 4, wScale: 0.5 };
    const inp = flipsInputs(rng, c);
    const perRow = K.psaFlips!(inp.logits, inp.w, inp.shift, inp.labels, inp.rho, c.rows, c.n, c.K, c.loss);
    for (const groups of [1, 3, 48]) {
      const outs = [1, 2, 8].map((t) => {
        K.setThreads(t);
        return K.psaFlips!(inp.logits, inp.w, inp.shift, inp.labels, inp.rho, c.rows, c.n, c.K, c.loss, groups);
      });
      K.setThreads(0);
      const got = outs[0];
      assert.equal(got.corr.length, groups * c.K * c.n);
      assert.deepEqual(Array.from(got.lambda), Array.from(perRow.lambda));
      assert.deepEqual(Array.from(got.cSum), Array.from(perRow.cSum));
      const per = c.rows / groups;
      for (let g = 0; g < groups; g++) {
        for (let ki = 0; ki < c.K * c.n; ki++) {
          let sum = 0;
          for (let r = g * per; r < (g + 1) * per; r++) sum += perRow.corr[r * c.K * c.n + ki];
          const want = sum / per;
          assert.ok(
            // the same float32 values summed in float64 in another grouping: float32 rounding apart
            Math.abs(got.corr[g * c.K * c.n + ki] - want) <= 1e-6 * Math.abs(want) + 1e-15,
            `groups ${groups}: corr[${g}, ${ki}]`,
          );
        }
      }
      outs
        .slice(1)
        .forEach((o) =>
          assert.ok(
            Buffer.from(o.corr.buffer).equals(Buffer.from(got.corr.buffer)),
            `groups ${groups}: threads differ`,
          ),
        );
    }
    const f = (n: number) => new Float32Array(n);
    assert.throws(
      () => K.psaFlips!(f(6), f(12), f(8), Float32Array.of(0, 2), f(8), 2, 4, 3, 'nll', 3),
      /groups \(3\) must divide rows \(2\)/,
    );
  },
);

test('native psaFlips: thread counts do not change results; bad arguments throw', { skip }, () => {
  const rng = new Rng(31);
  const c: FlipsCase = { rows: 37, n: 611, K: 10, loss: 'nll', coding: 'pm1', logitScale: 4, wScale: 0.5 };
  const inp = flipsInputs(rng, c);
  const run = () =>
    Object.values(K.psaFlips!(inp.logits, inp.w, inp.shift, inp.labels, inp.rho, c.rows, c.n, c.K, c.loss));
  const outs = [1, 2, 3, 8].map((t) => {
    K.setThreads(t);
    return run();
  });
  K.setThreads(0);
  for (let t = 1; t < outs.length; t++) {
    outs[t].forEach((o, k) =>
      assert.ok(Buffer.from(o.buffer).equals(Buffer.from(outs[0][k].buffer)), `output ${k}: threads differ`),
    );
  }
  const f = (n: number) => new Float32Array(n);
  const labels = Float32Array.of(0, 2);
  assert.doesNotThrow(() => K.psaFlips!(f(6), f(12), f(8), labels, f(8), 2, 4, 3, 'nll'));
  assert.throws(() => K.psaFlips!(f(6), f(11), f(8), labels, f(8), 2, 4, 3, 'nll'), /w: length 11, expected 12/);
  assert.throws(() => K.psaFlips!(f(6), f(12), f(8), Float32Array.of(0, 3), f(8), 2, 4, 3, 'nll'), /class index/);
  assert.throws(() => K.psaFlips!(f(2), f(4), f(8), Float32Array.of(1, 0), f(8), 2, 4, 1, 'logistic'), /±1/);
  assert.throws(() => K.psaFlips!(f(6), f(12), f(8), labels, f(8), 2, 4, 3, 'logistic'), /K = 1/);
  assert.throws(() => K.psaFlips!(f(6), f(12), f(8), labels, f(8), 2, 4, 3, 'mse' as OutputLoss), /loss/);
});

// ---- bernoulli: counter-based sampling stream --------------------------------------------------------------

/** SplitMix64 from state `seed`, its k-th output's top 24 bits / 2^24, in BigInt arithmetic. */
function splitMixUniform(seed: bigint, k: bigint): number {
  const M = (1n << 64n) - 1n;
  let z = (seed + (k + 1n) * 0x9e3779b97f4a7c15n) & M;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
  z ^= z >> 31n;
  return Number(z >> 40n) / 2 ** 24;
}

test(
  'native bernoulli: SplitMix64 stream, counter-based (offsets, thread counts), frequencies match p',
  { skip },
  () => {
    assert.equal(typeof K.bernoulli, 'function');
    const seed = 0x1234_5678_9abc;
    const u = K.streamUniforms!(64, seed, 1000);
    u.forEach((v, i) => assert.equal(v, splitMixUniform(BigInt(seed), BigInt(1000 + i)), `u[${i}]`));
    // x_i = [u_{offset+i} < p_i]; any offset continues the same stream
    const rng = new Rng(37);
    const p = rng.uniforms(100_003);
    const all = K.streamUniforms!(p.length, seed, 5);
    const outs = [1, 2, 3, 8].map((t) => {
      K.setThreads(t);
      return K.bernoulli!(p, seed, 5);
    });
    K.setThreads(0);
    for (const o of outs) assert.ok(Buffer.from(o.buffer).equals(Buffer.from(outs[0].buffer)), 'threads differ');
    outs[0].forEach((x, i) => {
      if (x !== (all[i] < p[i] ? 1 : 0)) assert.fail(`x[${i}] = ${x}, u = ${all[i]}, p = ${p[i]}`);
    });
    const tail = K.bernoulli!(p.subarray(50_000), seed, 5 + 50_000);
    assert.ok(
      Buffer.from(tail.buffer).equals(Buffer.from(outs[0].slice(50_000).buffer)),
      'offset does not continue the stream',
    );
    // frequencies: for p = 0.3 the count of ones is within 5 standard deviations of 0.3 n; p = 0, 1 exact
    for (const q of [0, 0.3, 1]) {
      const n = 200_000;
      const x = K.bernoulli!(new Float32Array(n).fill(q), 7, 0);
      const ones = x.reduce((a, v) => a + v, 0);
      assert.ok(Math.abs(ones - q * n) <= 5 * Math.sqrt(n * q * (1 - q)), `p = ${q}: ${ones} ones of ${n}`);
    }
    assert.notDeepEqual(K.streamUniforms!(8, 1, 0), K.streamUniforms!(8, 2, 0));
    assert.throws(() => K.bernoulli!(new Float32Array(2), -1, 0), /seed/);
    assert.throws(() => K.bernoulli!(new Float32Array(2), 1, 0.5), /offset/);
  },
);

test('the JavaScript twin of the sampling stream gives the same numbers as the BigInt reference and the kernel', () => {
  for (const [seed, offset] of [
    [0, 0],
    [1, 0],
    [0x1234_5678_9abc, 1000],
    [2 ** 53 - 1, 2 ** 40],
    [2 ** 32, 2 ** 32 - 3],
  ]) {
    const u = streamUniformsJs(257, seed, offset);
    u.forEach((v, i) => {
      if (v !== splitMixUniform(BigInt(seed), BigInt(offset + i)))
        assert.fail(`seed ${seed} offset ${offset}: u[${i}] = ${v}`);
    });
    if (K)
      assert.ok(
        Buffer.from(u.buffer).equals(Buffer.from(K.streamUniforms!(257, seed, offset).buffer)),
        `seed ${seed}: kernel differs`,
      );
  }
  const p = new Rng(41).uniforms(10_001);
  const x = bernoulliJs(p, 99, 3);
  const u = streamUniformsJs(p.length, 99, 3);
  x.forEach((v, i) => {
    if (v !== (u[i] < p[i] ? 1 : 0)) assert.fail(`x[${i}]`);
  });
  if (K)
    assert.ok(Buffer.from(x.buffer).equals(Buffer.from(K.bernoulli!(p, 99, 3).buffer)), 'kernel bernoulli differs');
});

const MIXED: ModelSpec = {
  name: 'conv-dense',
  input: { shape: [2, 7, 7] },
  states: 'pm1',
  noise: 'logistic',
  layers: [
    { type: 'conv', filters: 5, kernel: 3, stride: 1, padding: 1 },
    { type: 'conv', filters: 4, kernel: 3, stride: 2, padding: 1 },
    { type: 'flatten' },
    { type: 'dense', units: 9 },
    { type: 'dense', units: 7 },
  ],
  output: { units: 3, loss: 'nll' },
};

for (const [states, noise] of [
  ['pm1', 'logistic'],
  ['01', 'normal'],
] as const) {
  test(`PSA through the engine: native kernels = tfjs ops (conv + dense layers, ${states}, ${noise})`, { skip }, () => {
    const spec: ModelSpec = { ...MIXED, states, noise };
    const rng = new Rng(21);
    const init = initNetwork(spec, rng);
    const values = networkValues(init);
    disposeNetwork(init);
    const net = networkFromValues(spec, values);
    const data = {
      X: Array.from({ length: 6 }, () => Array.from({ length: 98 }, () => rng.uniform())),
      Y: [0, 1, 2, 1, 0, 2],
    };
    const run = () => gradientDraws(net, data, 'psa', { draws: 4, seed: 5 });
    const native = run();
    setNativeKernelsEnabled(false);
    let js;
    try {
      js = run();
    } finally {
      setNativeKernelsEnabled(true);
    }
    assert.ok(Math.abs(native.loss - js.loss) < 1e-6 * Math.max(1, Math.abs(js.loss)));
    native.layers.forEach((l, k) => {
      const err = relativeError(l.mean, js.layers[k].mean);
      assert.ok(err < 1e-4, `${l.name}: relative error ${err}`);
    });
    disposeNetwork(net);
  });
}

test('PSA through the engine: native kernels = tfjs ops (dense, logistic loss)', { skip }, () => {
  const spec: ModelSpec = {
    name: 'dense-logistic',
    input: { shape: [6] },
    states: '01',
    noise: 'logistic',
    layers: [
      { type: 'dense', units: 11 },
      { type: 'dense', units: 13 },
    ],
    output: { units: 1, loss: 'logistic' },
  };
  const rng = new Rng(23);
  const init = initNetwork(spec, rng);
  const values = networkValues(init);
  disposeNetwork(init);
  const net = networkFromValues(spec, values);
  const data = {
    X: Array.from({ length: 8 }, () => Array.from({ length: 6 }, () => rng.uniform())),
    Y: [1, -1, 1, 1, -1, -1, 1, -1],
  };
  const run = () => gradientDraws(net, data, 'psa', { draws: 4, seed: 7 });
  const native = run();
  setNativeKernelsEnabled(false);
  let js;
  try {
    js = run();
  } finally {
    setNativeKernelsEnabled(true);
  }
  assert.ok(Math.abs(native.loss - js.loss) < 1e-6 * Math.max(1, Math.abs(js.loss)));
  native.layers.forEach((l, k) => {
    const err = relativeError(l.mean, js.layers[k].mean);
    assert.ok(err < 1e-4, `${l.name}: relative error ${err}`);
  });
  disposeNetwork(net);
});
