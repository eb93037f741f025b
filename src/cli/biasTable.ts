// The per-layer bias table of a suite (`sbn experiment bias`), as `sbn experiment bias` and `sbn experiment train`
// print it below their results.
import { SUITE_METHODS } from '../engine/experiments/trainSuite';
import type { SuiteBiasEntry } from '../engine/experiments/types';

const num = (v: number, digits = 3): string => (Number.isFinite(v) ? v.toFixed(digits) : '—');

/** One row per entry and layer: cosine and relative error of the mean gradient, with both standard errors. */
export function formatBiasTable(entries: SuiteBiasEntry[]): string {
  const order = SUITE_METHODS.map((m) => m.method);
  const sorted = [...entries].sort(
    (a, b) =>
      (a.stage === b.stage ? 0 : a.stage === 'init' ? -1 : 1) || order.indexOf(a.method) - order.indexOf(b.method),
  );
  const head = ['stage', 'method', 'layer', 'cos', 'rel. error', 'noise floor', 'mean SE', 'ref. SE', 'reference', 's'];
  const rows = sorted.flatMap((e) =>
    e.layers.map((l) => [
      e.stage === 'init' ? 'init' : `epoch ${e.epoch}`,
      e.method,
      l.layer,
      num(l.cos),
      `${num(l.relativeError)}${l.relativeError < 2 * l.noiseFloor ? ' (noise)' : ''}`,
      num(l.noiseFloor),
      num(l.meanError),
      num(l.referenceError),
      `${e.reference} (${e.referenceDraws})`,
      e.seconds.toFixed(1),
    ]),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return (
    'per-layer bias of the mean gradient against the reference (cos: cosine; rel. error: ‖mean − ref‖/‖ref‖; ' +
    'SE: relative standard errors; noise floor: √(mean SE² + ref. SE²), "(noise)": below twice it, no evidence ' +
    'of bias either way — more --reference-draws lower it)\n' +
    [line(head), ...rows.map(line)].join('\n') +
    '\n'
  );
}
