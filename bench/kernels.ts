// `npm run bench:kernels`: what the native kernels (native/, src/engine/kernels.ts) buy, in one run.
//   - PSA step / DSTE step: training steps (estimate + SGD update) of the dense 784-512-512-10 net at batch 64
//     and 256 and of the Fashion conv example (batch 64); and one layer step (forward, sampling, parameter
//     gradient, backward to the input) of the CIFAR_S1 layer-2 shape (96×30×30 → 96×28×28, 3×3, batch 16).
//   - kernel throughput in G evaluations/s (connections per second) of the dense product and the ratio
//     convolution, next to a measured limit: 1/(1 + e^{−|x|}) on an L1-resident buffer for the native kernels,
//     tf.sigmoid on a large tensor for the tfjs ops.
// PSA and DSTE steps alternate; PSA/DSTE is the median of adjacent pairs' ratios (the ms columns are the best of
// each), which keeps the ratio steady on a machine shared with other work.
// Everything twice: with the native kernels and with SBN_KERNELS=js (the tfjs ops), each in its own process,
// on the best backend that loads (SBN_BENCH_BACKEND to choose). Results: bench/results/kernels.json.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/engine/backend';
import { kernelsInfo, nativeKernels } from '../src/engine/kernels';
import { psaDenseProduct, ratioConvNative, ratioConvTaps } from '../src/engine/model/layers';
import { noiseOf } from '../src/engine/model/noise';
import { Rng } from '../src/engine/rng';
import { writeFileAtomic } from '../src/engine/files';
import {
  CIFAR_S1_LAYER2,
  convLayerStepPair,
  exampleModel,
  MLP_784_512_512_10,
  randomPm1,
  repoRoot as root,
  trainingStepPair,
  type StepPair,
} from './common';

interface CaseRow {
  case: string;
  psa_ms: number;
  dste_ms: number;
  ratio: number;
  kernels: 'native' | 'js';
  backend: string;
}
interface Throughput {
  kernel: string;
  kernels: 'native' | 'js';
  gevals: number;
  /** G/s of one exponential + reciprocal (native) or of tf.sigmoid (tfjs ops) */
  limitExp: number;
  /** G/s of 1/(1 + x·y): the floor of the ratio form (native only) */
  limitRatio?: number;
  limitWhat: string;
}
interface ChildResult {
  backend: string;
  detail: string;
  cases: CaseRow[];
  throughput: Throughput[];
}

/** Best time in ms over repetitions after one warm-up, stopping early once `budgetMs` is spent. */
function bestMs(fn: () => void, reps = 5, budgetMs = 8000): number {
  fn();
  let best = Infinity;
  const start = Date.now();
  for (let r = 0; r < reps; r++) {
    const t = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e6);
    if (Date.now() - start > budgetMs) break;
  }
  return best;
}

/**
 * Two functions measured in alternation (a, b, a, b, …) after one warm-up each: best time of each, and the median
 * of the ratios a/b of adjacent pairs — on a shared machine a slow spell then hits both sides of a pair, so the
 * ratio stays honest even when the absolute times wander. Stops early once `budgetMs` is spent.
 */
interface PairTiming {
  psa: number;
  dste: number;
  ratio: number;
}
function pairTiming(a: () => void, b: () => void, reps: number, budgetMs: number): PairTiming {
  a();
  b();
  const best = [Infinity, Infinity];
  const ratios: number[] = [];
  const start = Date.now();
  for (let r = 0; r < reps; r++) {
    const ms = [a, b].map((fn) => {
      const t = process.hrtime.bigint();
      fn();
      return Number(process.hrtime.bigint() - t) / 1e6;
    });
    best[0] = Math.min(best[0], ms[0]);
    best[1] = Math.min(best[1], ms[1]);
    ratios.push(ms[0] / ms[1]);
    if (Date.now() - start > budgetMs) break;
  }
  ratios.sort((x, y) => x - y);
  const m = ratios.length >> 1;
  return { psa: best[0], dste: best[1], ratio: ratios.length % 2 ? ratios[m] : (ratios[m - 1] + ratios[m]) / 2 };
}

/** PSA and DSTE steps of one case, alternated (see pairTiming). */
function pairSteps(steps: StepPair, reps: number, budgetMs: number): PairTiming {
  const timing = pairTiming(steps.psa, steps.dste, reps, budgetMs);
  steps.dispose();
  return timing;
}

/** Connections per second of the dense product and the ratio convolution, and the matching limit. */
function throughput(kind: 'native' | 'js', rng: Rng): Throughput[] {
  const out: Throughput[] = [];
  const k = nativeKernels();
  const noise = noiseOf('logistic');
  let limitExp = 0;
  let limitRatio: number | undefined;
  let limitWhat: string;
  if (k) {
    for (let r = 0; r < 5; r++) {
      const t = k.expThroughput(4096, 2000);
      limitExp = Math.max(limitExp, t.gevalsPerSecond);
      limitRatio = Math.max(limitRatio ?? 0, t.ratioPerSecond);
    }
    limitWhat = `1/(1+e^-|x|) and 1/(1+x·y) on L1 data, ${k.info().isa}, ${k.info().threads} threads`;
  } else {
    const n = 1 << 24;
    const big = tf.randomUniform([n], -8, 8);
    // (never return a typed array from tf.tidy: it walks every element looking for tensors)
    const ms = bestMs(() => {
      tf.tidy(() => {
        tf.sigmoid(big).dataSync();
      });
    }, 5);
    big.dispose();
    limitExp = n / ms / 1e6;
    limitWhat = 'tf.sigmoid on 16M elements';
  }
  // dense: 64 × 512 × 512 (the second hidden layer of the MLP at batch 64)
  {
    const [rows, nIn, nOut] = [64, 512, 512];
    const a = tf.tensor2d(rng.uniforms(rows * nOut), [rows, nOut]);
    const wT = tf.mul<tf.Tensor2D>(tf.tensor2d(rng.uniforms(nIn * nOut), [nIn, nOut]), 0.1);
    const sh = tf.mul<tf.Tensor2D>(randomPm1(rng, [rows, nIn]), -2);
    const g = tf.tensor2d(rng.uniforms(rows * nOut), [rows, nOut]);
    const ms = bestMs(() => {
      tf.tidy(() => {
        psaDenseProduct(a, wT, sh, g, noise).dataSync();
      });
    }, 10);
    out.push({
      kernel: `dense product ${rows}×${nIn}×${nOut}`,
      kernels: kind,
      gevals: (rows * nIn * nOut) / ms / 1e6,
      limitExp,
      limitRatio,
      limitWhat,
    });
    tf.dispose([a, wT, sh, g]);
  }
  // ratio convolution: CIFAR_S1 layer 2 (the tfjs ops at a smaller batch: they are slow)
  {
    const g = CIFAR_S1_LAYER2;
    const B = k ? 16 : 4;
    const [C, H, W] = g.inShape;
    const [F, Ho, Wo] = g.outShape;
    const a = tf.tensor4d(rng.uniforms(B * Ho * Wo * F), [B, Ho, Wo, F]);
    const sh = tf.mul<tf.Tensor4D>(randomPm1(rng, [B, H, W, C]), -2);
    const gr = tf.tensor4d(rng.uniforms(B * Ho * Wo * F), [B, Ho, Wo, F]);
    const w = tf.mul<tf.Tensor4D>(tf.tensor4d(rng.uniforms(9 * C * F), [3, 3, C, F]), 0.1);
    const ms = bestMs(
      () => {
        tf.tidy(() => {
          (k ? ratioConvNative(k, a, sh, gr, w, g, noise) : ratioConvTaps(a, sh, gr, w, g, noise)).dataSync();
        });
      },
      3,
      15000,
    );
    const connections = B * Ho * Wo * g.kernel * g.kernel * C * F;
    out.push({
      kernel: `ratio conv ${C}×${H}×${W} → ${F}×${Ho}×${Wo}, 3×3, batch ${B}`,
      kernels: kind,
      gevals: connections / ms / 1e6,
      limitExp,
      limitRatio,
      limitWhat,
    });
    tf.dispose([a, sh, gr, w]);
  }
  return out;
}

async function child(): Promise<ChildResult> {
  const info = await initBackend(process.env.SBN_BENCH_BACKEND);
  const ki = kernelsInfo();
  const kind = ki.kind;
  const rng = new Rng(1);
  const cases: CaseRow[] = [];
  const add = (name: string, r: PairTiming) => {
    cases.push({ case: name, psa_ms: r.psa, dste_ms: r.dste, ratio: r.ratio, kernels: kind, backend: info.name });
    process.stderr.write(`bench:kernels: ${kind} ${name}: PSA ${r.psa.toFixed(1)} ms, DSTE ${r.dste.toFixed(1)} ms\n`);
  };
  for (const batch of [64, 256])
    add(
      `dense 784-512-512-10, batch ${batch}, training step`,
      pairSteps(trainingStepPair(MLP_784_512_512_10, batch, rng), 21, 15000),
    );
  add(
    'conv CIFAR_S1 layer 2 (96×30×30 → 96×28×28, 3×3), batch 16, layer step',
    pairSteps(convLayerStepPair(CIFAR_S1_LAYER2, 16, rng), 5, 20000),
  );
  add(
    'conv fashion-conv example, batch 64, training step',
    pairSteps(trainingStepPair(exampleModel('fashion-conv-psa.sbn.yaml'), 64, rng), 21, 15000),
  );
  return { backend: info.detail, detail: ki.detail, cases, throughput: throughput(kind, rng) };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) {
    process.stdout.write(JSON.stringify(await child()) + '\n');
    return;
  }
  const results: ChildResult[] = [];
  for (const kernels of ['native', 'js'] as const) {
    process.stderr.write(`bench:kernels: ${kernels} kernels …\n`);
    const env: NodeJS.ProcessEnv = { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' };
    if (kernels === 'js') env.SBN_KERNELS = 'js';
    else if (env.SBN_KERNELS === 'js') delete env.SBN_KERNELS;
    const r = spawnSync(process.execPath, [__filename, '--child'], {
      encoding: 'utf8',
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    if (r.status !== 0) {
      process.stderr.write(`bench:kernels: ${kernels} run failed (exit ${r.status ?? r.signal})\n`);
      continue;
    }
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
    if (kernels === 'native' && res.cases[0]?.kernels !== 'native')
      process.stderr.write(`bench:kernels: no native kernels here: ${res.detail}\n`);
    results.push(res);
  }
  const lines: string[] = [];
  for (const r of results) {
    lines.push('', `kernels: ${r.detail}; backend ${r.backend}`);
    lines.push(
      `  ${pad('case', 76)}${'PSA ms'.padStart(10)}${'DSTE ms'.padStart(10)}${'PSA/DSTE'.padStart(10)}` +
        '  (ms: best; ratio: median of pairs)',
    );
    for (const c of r.cases) {
      lines.push(
        `  ${pad(c.case, 76)}${c.psa_ms.toFixed(1).padStart(10)}${c.dste_ms.toFixed(1).padStart(10)}` +
          c.ratio.toFixed(2).padStart(10),
      );
    }
    lines.push(
      `  ${pad('throughput (G evaluations/s)', 76)}${'kernel'.padStart(10)}${'exp lim'.padStart(10)}` +
        'ratio lim'.padStart(10),
    );
    for (const t of r.throughput) {
      lines.push(
        `  ${pad(t.kernel, 76)}${t.gevals.toFixed(3).padStart(10)}${t.limitExp.toFixed(3).padStart(10)}` +
          `${(t.limitRatio === undefined ? '—' : t.limitRatio.toFixed(3)).padStart(10)}`,
      );
    }
    if (r.throughput[0]) lines.push(`  (limits: ${r.throughput[0].limitWhat})`);
  }
  console.log(lines.join('\n'));
  const out = path.join(root, 'bench', 'results', 'kernels.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  writeFileAtomic(
    out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        cpu: os.cpus()[0]?.model,
        cpus: os.cpus().length,
        runs: results.map((r) => ({ kernels: r.cases[0]?.kernels, detail: r.detail, backend: r.backend })),
        cases: results.flatMap((r) => r.cases),
        throughput: results.flatMap((r) => r.throughput),
      },
      null,
      1,
    ) + '\n',
  );
  process.stderr.write(`bench:kernels: results in ${path.relative(process.cwd(), out)}\n`);
}

void main();
