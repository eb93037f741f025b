// What every benchmark shares: best-of-N timing, one child process per backend (the tfjs backend is global
// per process), and writing results under bench/results/.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { availableBackends } from '../src/engine/backend';
import { writeFileAtomic } from '../src/engine/files';

export const repoRoot = path.resolve(__dirname, '..', '..');

export function bestOf(reps: number, fn: () => void): number {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9);
  }
  return best;
}

/**
 * Run `child(backend)` once per available backend in its own process (this same script with `--child B`)
 * and collect the results. Inside a child, runs the child and prints its result instead (returns undefined).
 */
export async function perBackend<T>(name: string, child: (backend: string) => Promise<T>): Promise<T[] | undefined> {
  const i = process.argv.indexOf('--child');
  if (i >= 0) {
    process.stdout.write(JSON.stringify(await child(process.argv[i + 1])) + '\n');
    return undefined;
  }
  const only = process.env.SBN_BENCH_BACKENDS?.split(',');
  const results: T[] = [];
  for (const b of availableBackends().filter((x) => x !== 'cpu' && (!only || only.includes(x)))) {
    process.stderr.write(`${name}: ${b} …\n`);
    const r = spawnSync(process.execPath, [process.argv[1], '--child', b], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 26,
    });
    if (r.status !== 0) {
      process.stderr.write(`${name}: ${b} failed (exit ${r.status})\n`);
      continue;
    }
    results.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as T);
  }
  return results;
}

export function writeResults(file: string, data: unknown): string {
  const out = path.join(repoRoot, 'bench', 'results', file);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  writeFileAtomic(out, JSON.stringify({ date: new Date().toISOString(), ...(data as object) }, null, 1) + '\n');
  return out;
}
