// Which matrix kernels OpenBLAS runs the native steps' products with (native/src/dense_step.cc, conv_step.cc).
// OpenBLAS chooses its kernels once, when it is loaded, from the CPU's model number; OPENBLAS_CORETYPE overrides the
// choice. A release older than the CPU does not know the model and falls back to its generic SSE3 kernels
// ("Prescott"): Debian 12's OpenBLAS 0.3.21 on a Sapphire Rapids Xeon did, and the native DSTE step ran 2.3–2.9×
// slower than with the AVX-512 kernels on the same machine (docs/kernels.md, "OpenBLAS's kernels"). The kernel
// family follows from the instruction sets alone, so the engine names it before the addon (and with it OpenBLAS)
// is loaded — unless the user named one. On a CPU the release knows this is the family it would choose itself.
import { readFileSync } from 'node:fs';

/** The variable OpenBLAS reads at load time (its dynamic-architecture builds, as Debian's). */
export const OPENBLAS_CORE_ENV = 'OPENBLAS_CORETYPE';

/** The instruction sets of OpenBLAS's SkylakeX kernels (AVX-512 F, CD, BW, DQ, VL) and of its Haswell ones. */
const SKYLAKEX_FLAGS = ['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'];
const HASWELL_FLAGS = ['avx2', 'fma'];

/** The newest OpenBLAS kernel family these CPU flags (as /proc/cpuinfo names them) run; undefined: leave it be. */
export function openBlasCoreFor(flags: ReadonlySet<string>): string | undefined {
  if (SKYLAKEX_FLAGS.every((f) => flags.has(f))) return 'SKYLAKEX';
  if (HASWELL_FLAGS.every((f) => flags.has(f))) return 'HASWELL';
  return undefined;
}

/** The first processor's flags in a /proc/cpuinfo text (the kernel lists only what the OS enables). */
export function cpuInfoFlags(cpuinfo: string): Set<string> {
  const line = /^flags\s*:(.*)$/m.exec(cpuinfo);
  return new Set(line ? line[1].trim().split(/\s+/) : []);
}

/**
 * Sets OPENBLAS_CORETYPE for this process and the workers it starts, where it is unset and the CPU's kernel family
 * is known (Linux on x86-64: the only builds that link OpenBLAS). Returns the family set, or undefined.
 */
export function chooseOpenBlasCore(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env[OPENBLAS_CORE_ENV] || process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  let cpuinfo: string;
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return undefined; // no /proc (a sandbox): OpenBLAS's own choice stands
  }
  const core = openBlasCoreFor(cpuInfoFlags(cpuinfo));
  if (core) env[OPENBLAS_CORE_ENV] = core;
  return core;
}
