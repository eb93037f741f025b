// test-backends: one
// OpenBLAS's kernel choice (src/engine/native/openblasCore.ts): the CPU flags → kernel family rule, and on this
// machine, that the OpenBLAS the native steps link runs the family the CPU's instruction sets call for — not the
// generic SSE3 kernels an OpenBLAS older than the CPU falls back to (2–3× slower products: docs/kernels.md).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { kernelsInfo, nativeKernels } from '../../src/engine/kernels';
import {
  chooseOpenBlasCore,
  cpuInfoFlags,
  OPENBLAS_CORE_ENV,
  openBlasCoreFor,
} from '../../src/engine/native/openblasCore';

// read before anything loads the addon (which sets the variable where it is unset)
const presetCore = process.env[OPENBLAS_CORE_ENV];

const CPUINFO = `processor\t: 0
vendor_id\t: GenuineIntel
model\t\t: 143
flags\t\t: fpu sse sse2 avx fma avx2 avx512f avx512dq avx512cd avx512bw avx512vl avx512_fp16
processor\t: 1
flags\t\t: fpu
`;

test('the CPU flags name the kernel family: AVX-512 (F, CD, BW, DQ, VL) → SkylakeX, AVX2 + FMA → Haswell', () => {
  const flags = cpuInfoFlags(CPUINFO);
  assert.ok(flags.has('avx512_fp16') && flags.has('fpu') && !flags.has('flags'), 'the first processor’s flags');
  assert.equal(openBlasCoreFor(flags), 'SKYLAKEX');
  const withoutBw = new Set([...flags].filter((f) => f !== 'avx512bw')); // Knights Landing: no SkylakeX kernels
  assert.equal(openBlasCoreFor(withoutBw), 'HASWELL');
  assert.equal(openBlasCoreFor(new Set(['sse2', 'avx', 'avx2'])), undefined, 'AVX2 without FMA');
  assert.equal(openBlasCoreFor(new Set(['sse2', 'sse4_2', 'avx'])), undefined);
  assert.equal(cpuInfoFlags('no flags here').size, 0);
});

test("a kernel family the user named is kept; otherwise this CPU's is set", () => {
  const named = { [OPENBLAS_CORE_ENV]: 'Haswell' };
  assert.equal(chooseOpenBlasCore(named), undefined);
  assert.equal(named[OPENBLAS_CORE_ENV], 'Haswell');
  const env: NodeJS.ProcessEnv = {};
  const chosen = chooseOpenBlasCore(env);
  assert.equal(env[OPENBLAS_CORE_ENV], chosen);
  if (process.platform === 'linux' && process.arch === 'x64') {
    assert.equal(chosen, openBlasCoreFor(cpuInfoFlags(readFileSync('/proc/cpuinfo', 'utf8'))));
  } else {
    assert.equal(chosen, undefined, 'only Linux x86-64 builds link OpenBLAS');
  }
});

const blasSkip = (() => {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'OpenBLAS is linked on Linux x86-64 only';
  if (presetCore) return `${OPENBLAS_CORE_ENV}=${presetCore} is set: the user's choice, not the engine's`;
  const k = nativeKernels();
  if (!k) return `native kernels unavailable: ${kernelsInfo().detail}`;
  if (!k.denseStep) return 'the native kernels were built without OpenBLAS';
  return false;
})();

test("the native steps' OpenBLAS runs this CPU's kernel family", { skip: blasSkip }, () => {
  const want = openBlasCoreFor(cpuInfoFlags(readFileSync('/proc/cpuinfo', 'utf8')));
  const core = nativeKernels()!.info().blasCore;
  assert.ok(core, 'info() names the OpenBLAS kernels');
  if (want) assert.equal(core.toUpperCase(), want, `OpenBLAS runs ${core}, this CPU's family is ${want}`);
  assert.match(kernelsInfo().detail, new RegExp(`OpenBLAS dense step, ${core} kernels\\)$`));
});
