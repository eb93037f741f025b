// Terminal presentation of a run's summary (the data comes from the engine's session).
import { EVAL_SPLITS, type RunSummary } from '../engine/runs/records';

export function formatSummary(s: RunSummary): string {
  // null: the value was NaN or infinite (JSON has no such numbers)
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(100 * v).toFixed(2)}%`);
  const fixed = (v: number | null, digits: number) => (v === null ? 'n/a' : v.toFixed(digits));
  const lines = [
    '',
    `${s.status === 'finished' ? 'Finished' : s.status === 'stopped' ? 'Stopped' : 'Diverged'}: ` +
      `${s.model} trained with ${s.estimator} on ${s.backend}, ${s.steps} steps, ${s.epochs.toFixed(2)} epochs, ` +
      `lr ${s.lr.toPrecision(3)}` +
      (s.secondsPerEpoch ? `, ${s.secondsPerEpoch.toFixed(1)} s/epoch` : ''),
    'split        u_loss    acc1     acc_e    entropy (evaluated as an SBN)',
  ];
  for (const split of EVAL_SPLITS) {
    const m = s.last[split];
    if (m)
      lines.push(
        [
          split.padEnd(10),
          fixed(m.u_loss, 4).padStart(8),
          pct(m.acc1).padStart(8),
          pct(m.acc_e).padStart(8),
          fixed(m.entropy, 3).padStart(8),
        ].join(' '),
      );
  }
  if (s.message) lines.push(s.message);
  lines.push(`run folder: ${s.run}`, '');
  return lines.join('\n');
}
