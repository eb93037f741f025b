// The run folders and `sbn` processes the recovery tests share (recovery.test.ts: stopping and resuming, on every
// backend; recoveryCheckpoints.test.ts: damaged checkpoints, locks and bad settings, once): a scratch folder, the CLI
// as a child process, a model file of toy-2d, and a run stopped in the middle of its second epoch to copy.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunStore, effectiveMetrics, type MetricsRecord } from '../../../src/engine/runs';
import { initBackend } from '../../../src/engine/backend';
import { parseModelText } from '../../../src/engine/spec';
import { runSession, startSession } from '../../../src/engine/train/session';
import { repoRoot } from './fixtures';

const root = repoRoot();
export const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-recovery-'));
export const SBN = path.join(root, 'bin', 'sbn.js');

export function sbn(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [SBN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

export function start(args: string[], env: Record<string, string> = {}): ChildProcess & { stderrText: () => string } {
  const child = spawn(process.execPath, [SBN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  child.stdout.resume();
  return Object.assign(child, { stderrText: () => err });
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined,
  child?: ChildProcess,
  ms = 90000,
  every = 10,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = (() => {
      try {
        return probe();
      } catch {
        return undefined;
      }
    })();
    if (v !== undefined) return v;
    if (Date.now() > deadline) {
      child?.kill('SIGKILL');
      assert.fail(`${what}: not within ${ms / 1000} s`);
    }
    if (child && (child.exitCode !== null || child.signalCode !== null))
      assert.fail(`${what}: the process ended first`);
    await new Promise((r) => setTimeout(r, every));
  }
}

export function onlyRun(out: string): string {
  const runs = fs.existsSync(out) ? fs.readdirSync(out) : [];
  if (runs.length !== 1) throw new Error(`expected one run under ${out}, got ${runs.length}`);
  return path.join(out, runs[0]);
}

export function writeModel(
  name: string,
  spec: Record<string, unknown>,
  trainExtra: Record<string, unknown> = {},
): string {
  const file = path.join(tmp, `${name}.sbn.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({
      name,
      input: { shape: [2] },
      states: 'pm1',
      layers: [{ type: 'dense', units: 16 }],
      output: { units: 1, loss: 'logistic' },
      data: { dataset: 'toy-2d', validation: 40 },
      ...spec,
      train: {
        estimator: 'psa',
        optimizer: { type: 'adam' },
        lr: 0.01,
        batchSize: 20,
        epochs: 2,
        evalSamples: 4,
        logInterval: 4,
        ...trainExtra,
      },
    }),
  );
  return file;
}

const VOLATILE = new Set(['time', 'elapsed', 'samplesPerSecond', 'seconds']);
export function comparable(records: MetricsRecord[]): unknown[] {
  return effectiveMetrics(records)
    .filter((r) => ['step', 'eval', 'epoch'].includes(r.kind as string))
    .map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !VOLATILE.has(k))));
}

export function statusOf(dir: string) {
  return JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as { status: string; detail?: string };
}

/** A run that must be left neither `running` (as recorded) nor locked. */
export function assertReleased(dir: string): void {
  assert.notEqual(statusOf(dir).status, 'running', `${dir}: status.json still says running`);
  assert.ok(!fs.existsSync(path.join(dir, 'lock')), `${dir}: the lock is still there`);
}

// A stopped run in the middle of epoch 2 (toy-2d, 8 steps per epoch): checkpoint.json at step 12,
// epoch-0001.json at step 8.
let baseRun: string | undefined;
export async function stoppedRun(): Promise<string> {
  if (baseRun) return baseRun;
  const backend = await initBackend();
  const model = writeModel('base', {}, { epochs: 2 });
  const text = fs.readFileSync(model, 'utf8');
  const parsed = parseModelText(text, model);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const session = startSession(model, text, parsed.model, {}, path.join(tmp, 'base'), {
    backend: backend.name,
    backendDetail: backend.detail,
    versions: {},
  });
  let steps = 0;
  const { result } = await runSession(session, backend.name, {
    events: {
      step: (e) => {
        steps = e.step;
      },
    },
    shouldStop: () => steps >= 12,
  });
  assert.equal(result.status, 'stopped');
  assert.equal(RunStore.readCheckpoint(session.store.dir, 'latest').step, 12);
  baseRun = session.store.dir;
  return baseRun;
}

let copies = 0;
export async function copyOfStopped(): Promise<string> {
  const src = await stoppedRun();
  const dst = path.join(tmp, 'copies', `run-${++copies}`);
  fs.cpSync(src, dst, { recursive: true });
  return dst;
}
