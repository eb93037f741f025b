// The summary of a run: what `sbn train` prints at the end and writes to summary.json.
import { readMetrics, effectiveMetrics, readConfig } from '../engine/runs';
import type { TrainResult } from '../engine/train/trainer';
import type { RunConfig } from './runSetup';

export interface RunSummary {
  run: string;
  status: TrainResult['status'];
  model: string;
  estimator: string;
  backend: string;
  steps: number;
  epochs: number;
  lr: number;
  secondsPerEpoch: number | null;
  wallSeconds: number;
  /** Last evaluation of each split. */
  last: Record<string, { u_loss: number; acc1: number; acc_e: number; entropy: number; epoch: number }>;
  message?: string;
}

export function summarise(dir: string, result: TrainResult, backend: string, wallSeconds: number): RunSummary {
  const config = readConfig(dir) as RunConfig;
  const records = effectiveMetrics(readMetrics(dir, { tolerant: true }).records);
  const last: RunSummary['last'] = {};
  const epochSeconds: number[] = [];
  let chosenLr: number | undefined;
  for (const r of records) {
    if (r.kind === 'eval' && typeof r.split === 'string') {
      last[r.split] = { u_loss: r.u_loss as number, acc1: r.acc1 as number, acc_e: r.acc_e as number, entropy: r.entropy as number, epoch: r.epoch as number };
    }
    if (r.kind === 'epoch' && typeof r.seconds === 'number') epochSeconds.push(r.seconds);
    if (r.kind === 'lr-chosen' && typeof r.lr === 'number') chosenLr = r.lr;
  }
  return {
    run: dir,
    status: result.status,
    model: config.model.name,
    estimator: config.train.estimator,
    backend,
    steps: result.step,
    epochs: result.epoch,
    lr: chosenLr ?? result.lr,
    secondsPerEpoch: epochSeconds.length ? epochSeconds.reduce((a, b) => a + b, 0) / epochSeconds.length : null,
    wallSeconds,
    last,
    message: result.message,
  };
}

export function formatSummary(s: RunSummary): string {
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const lines = [
    '',
    `${s.status === 'finished' ? 'Finished' : s.status === 'stopped' ? 'Stopped' : 'Diverged'}: ${s.model} trained with ${s.estimator} on ${s.backend}, ${s.steps} steps, ${s.epochs.toFixed(2)} epochs, lr ${s.lr.toPrecision(3)}` +
      (s.secondsPerEpoch ? `, ${s.secondsPerEpoch.toFixed(1)} s/epoch` : ''),
    'split        u_loss    acc1     acc_e    entropy (evaluated as an SBN)',
  ];
  for (const split of ['train', 'validation', 'test']) {
    const m = s.last[split];
    if (m) lines.push(`${split.padEnd(10)} ${m.u_loss.toFixed(4).padStart(8)} ${pct(m.acc1).padStart(8)} ${pct(m.acc_e).padStart(8)} ${m.entropy.toFixed(3).padStart(8)}`);
  }
  if (s.message) lines.push(s.message);
  lines.push(`run folder: ${s.run}`, '');
  return lines.join('\n');
}
