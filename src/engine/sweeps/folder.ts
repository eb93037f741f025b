// The sweep folder: sweep.json (what the sweep is and where every point stands), a copy of the sweep file, and one
// ordinary run folder per point and seed under runs/. Points come from expanding the grid (or sampling it) times
// the seeds; a point's id is a hash of its overrides and seed, so the same sweep file always makes the same points.
// Every change to sweep.json is a read-modify-write under the file's cross-process lock (fileLock.ts): many workers
// and the coordinator update it at once without losing each other's changes.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withFileLock } from '../fileLock';
import { writeFileAtomic } from '../files';
import { Rng } from '../rng';
import { sweepJobId, type SweepJob } from './executor';
import {
  axisValues,
  readSweepState,
  sha256,
  SWEEP_FILE_PATTERN,
  SWEEP_FORMAT,
  SWEEP_FORMAT_VERSION,
  SWEEP_STATE_FILE,
  tidy,
  type SweepPoint,
  type SweepSpec,
  type SweepState,
} from './format';

/** Where new sweep folders go, under the folder a sweep is started from (workspace folder, `sbn sweep`'s cwd). */
export const SWEEPS_FOLDER = 'sweeps';

/**
 * The most worker processes one sweep starts on this machine (each holds a backend and a data set in memory): `sbn
 * sweep --jobs` and the editor's sbn.sweepJobs setting (whose maximum in package.json is this number).
 */
export const MAX_SWEEP_JOBS = 64;

/** `toy2d-20261205-071500`: the folder name of a new sweep of `sweepFile`, with the UTC time it starts. */
export function newSweepFolderName(sweepFile: string, now = new Date()): string {
  const base = path
    .basename(sweepFile)
    .replace(SWEEP_FILE_PATTERN, '')
    .replace(/\.[^.]*$/, '');
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${base || 'sweep'}-${stamp}`;
}

export class SweepFolderError extends Error {}

/** JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** A point's id: the first 12 hex digits of the SHA-256 of its overrides (keys sorted) and seed. */
export function pointId(overrides: Record<string, unknown>, seed: number): string {
  return sha256(canonicalJson({ overrides, seed })).slice(0, 12);
}

/**
 * The grid points: every combination of the axes' values (the first field varies slowest), or — with `sample` —
 * `count` points drawn from the axes (lists: uniformly; log ranges: log-uniformly; linear ranges: uniformly;
 * integer fields rounded), duplicates dropped. Each is the swept fields' values in the sweep file's order.
 */
export function gridPoints(spec: Pick<SweepSpec, 'grid' | 'sample'>): Record<string, unknown>[] {
  if (spec.sample) {
    const rng = new Rng(spec.sample.seed);
    const out: Record<string, unknown>[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < spec.sample.count; i++) {
      const p: Record<string, unknown> = {};
      for (const g of spec.grid) {
        const a = g.axis;
        let v: unknown;
        if (a.kind === 'list') v = a.values[rng.int(a.values.length)];
        else {
          const u = rng.uniform();
          const [lo, hi] = a.range;
          const x =
            a.kind === 'log' ? 10 ** (Math.log10(lo) + u * (Math.log10(hi) - Math.log10(lo))) : lo + u * (hi - lo);
          v = g.integer ? Math.round(x) : tidy(x);
        }
        p[g.field] = v;
      }
      const id = canonicalJson(p);
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(p);
    }
    return out;
  }
  let points: Record<string, unknown>[] = [{}];
  for (const g of spec.grid) {
    const values = axisValues(g.axis, g.integer);
    points = points.flatMap((p) => values.map((v) => ({ ...p, [g.field]: v })));
  }
  return points;
}

/** Every run of the sweep (grid point × seed), waiting, with its id and run folder (relative to the sweep folder). */
export function expandSweep(spec: Pick<SweepSpec, 'grid' | 'sample' | 'seeds' | 'overrides'>): SweepPoint[] {
  const points: SweepPoint[] = [];
  const width = String(Math.max(0, gridPoints(spec).length - 1)).length;
  gridPoints(spec).forEach((values, index) => {
    for (const seed of spec.seeds) {
      const overrides = { ...spec.overrides, ...values };
      const id = pointId(overrides, seed);
      const run = path.posix.join('runs', `p${String(index).padStart(width, '0')}-seed${seed}-${id}`);
      points.push({ id, index, overrides, seed, status: 'waiting', run });
    }
  });
  return points;
}

/** sweep.json as text. */
function stateText(state: SweepState): string {
  return JSON.stringify(state, null, 1) + '\n';
}

/**
 * Makes a sweep folder for a parsed sweep file: `dir` must not hold a sweep already (that one is continued with
 * --resume). Writes a copy of the sweep file and sweep.json with every point waiting.
 */
export function createSweepFolder(dir: string, sweepFile: string, sweepText: string, spec: SweepSpec): SweepState {
  const stateFile = path.join(dir, SWEEP_STATE_FILE);
  if (fs.existsSync(stateFile))
    throw new SweepFolderError(
      `${dir}: already a sweep folder (${SWEEP_STATE_FILE}); continue it with --resume ${dir}, or give another --out`,
    );
  fs.mkdirSync(path.join(dir, 'runs'), { recursive: true });
  const copy = path.basename(sweepFile);
  writeFileAtomic(path.join(dir, copy), sweepText);
  const state: SweepState = {
    format: SWEEP_FORMAT,
    formatVersion: SWEEP_FORMAT_VERSION,
    id: crypto.randomBytes(6).toString('hex'),
    created: new Date().toISOString(),
    sweepFile: { name: copy, hash: sha256(sweepText) },
    model: path.relative(dir, path.resolve(spec.modelPath)).split(path.sep).join('/'),
    fields: spec.grid.map((g) => g.field),
    objective: spec.objective,
    points: expandSweep(spec),
  };
  withFileLock(stateFile, () => {
    if (fs.existsSync(stateFile)) throw new SweepFolderError(`${dir}: another process made a sweep here just now`);
    writeFileAtomic(stateFile, stateText(state));
  });
  return state;
}

/**
 * Reads sweep.json, lets `change` modify it and writes it back, atomically and under the file's lock: the change is
 * applied to what is on disk now, never to an older copy in memory. Returns what `change` returns.
 */
export function updateSweepState<T>(dir: string, change: (state: SweepState) => T): T {
  const file = path.join(dir, SWEEP_STATE_FILE);
  return withFileLock(file, () => {
    const state = readSweepState(dir);
    const result = change(state);
    writeFileAtomic(file, stateText(state));
    return result;
  });
}

/** The job of a point of a sweep folder (paths absolute). */
export function jobOf(dir: string, state: SweepState, point: SweepPoint): SweepJob {
  const sweepDir = path.resolve(dir);
  return {
    sweepDir,
    pointId: point.id,
    jobId: sweepJobId(state.id, point.id),
    runDir: path.join(sweepDir, point.run),
    modelFile: path.resolve(sweepDir, state.model),
    overrides: point.overrides,
    seed: point.seed,
  };
}

/** How many points are in each status. */
export function statusCounts(state: SweepState): Record<SweepPoint['status'], number> {
  const counts = { waiting: 0, running: 0, finished: 0, failed: 0 };
  for (const p of state.points) counts[p.status]++;
  return counts;
}
