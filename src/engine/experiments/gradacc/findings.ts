// Plain-language findings of one checkpoint's gradient accuracy (docs/math.md §3.5), computed from the numbers and,
// with the authors' curves, compared statement by statement with theirs.
import type { GradientAccuracyResult } from '../../gradients/accuracy';
import type { GradaccCheckpoint, ReferenceCurve } from '../types';
import { AUTHORS_DRAWS } from './reference';
import { ESTIMATORS } from '../../../estimators';

/** A bias floor is read at the largest M that still averages this many trials. */
export const FLOOR_MIN_TRIALS = 10;

/**
 * PSA "keeps falling like the unbiased methods" when its RMSE from M = 1 to the floor M shrinks to within this
 * factor of 1/√M. Ten trials of a 30-parameter squared error scatter by tens of percent, a bias floor by far more.
 */
const UNBIASED_SLOPE_TOLERANCE = 1.5;

/** A set of curves over the same M: ours (from a result) or the authors' (at our M). */
interface CurveView {
  M: number[];
  labels: string[];
  layers: number;
  trials(i: number): number;
  rmse(label: string, layer: number): (number | null)[];
  cos(label: string, layer: number): (number | null)[];
}

function oursView(result: GradientAccuracyResult): CurveView {
  const by = new Map(result.estimators.map((e) => [e.label, e]));
  return {
    M: result.M,
    labels: result.estimators.map((e) => e.label),
    layers: result.estimators[0]?.layers.length ?? 0,
    trials: (i) => result.estimators[0]?.layers[0].trials[i] ?? Math.floor(result.draws / result.M[i]),
    rmse: (label, k) => by.get(label)?.layers[k].rmse ?? result.M.map(() => null),
    cos: (label, k) => by.get(label)?.layers[k].cos ?? result.M.map(() => null),
  };
}

function authorsView(M: number[], curves: Record<string, ReferenceCurve[]>, layers: number): CurveView {
  return {
    M,
    labels: Object.keys(curves),
    layers,
    trials: (i) => Math.floor(AUTHORS_DRAWS / M[i]),
    rmse: (label, k) => curves[label]?.[k]?.rmse ?? M.map(() => null),
    cos: (label, k) => curves[label]?.[k]?.cos ?? M.map(() => null),
  };
}

/** The labels of a result whose estimator is unbiased (the authors' curves use the same labels). */
function unbiasedLabels(result: GradientAccuracyResult): Set<string> {
  return new Set(result.estimators.filter((e) => ESTIMATORS[e.estimator].unbiased).map((e) => e.label));
}

function layerName(k: number, layers: number): string {
  return k === layers - 1 ? 'output layer' : `hidden layer ${k + 1}`;
}

function num(v: number): string {
  if (!Number.isFinite(v) || v === 0) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 0.01) return v.toPrecision(3).replace(/0+$/, '').replace(/\.$/, '');
  return v.toPrecision(2);
}

/** The label with the lowest relative RMSE in layer k at M index i, among `labels` (default: all of the view's). */
function bestAt(
  view: CurveView,
  k: number,
  i: number,
  labels: string[] = view.labels,
): { label: string; value: number } | undefined {
  let best: { label: string; value: number } | undefined;
  for (const label of labels) {
    const v = view.rmse(label, k)[i];
    if (v !== null && Number.isFinite(v) && (!best || v < best.value)) best = { label, value: v };
  }
  return best;
}

/** Index of the largest M with at least FLOOR_MIN_TRIALS trials. */
function floorIndex(view: CurveView): number {
  let at = 0;
  view.M.forEach((_, i) => {
    if (view.trials(i) >= FLOOR_MIN_TRIALS) at = i;
  });
  return at;
}

function armBelowPsa(view: CurveView, k: number): number | null {
  const arm = view.rmse('arm', k);
  const psa = view.rmse('psa', k);
  const i = view.M.findIndex((_, j) => arm[j] !== null && psa[j] !== null && arm[j] < psa[j]);
  return i >= 0 ? view.M[i] : null;
}

/** How PSA's RMSE shrinks from M = 1 to the M of index i, against 1/√M and the unbiased estimators'. */
function psaDecay(
  view: CurveView,
  k: number,
  i: number,
  unbiasedSet: Set<string>,
):
  | {
      falling: boolean;
      ratio: number;
      from: number;
      to: number;
      M: number;
      unbiased: { label: string; ratio: number }[];
    }
  | undefined {
  const psa = view.rmse('psa', k);
  if (i === 0 || psa[0] === null || psa[i] === null) return undefined;
  const M = view.M[i];
  const ratio = psa[i] / psa[0];
  const unbiased = view.labels
    .filter((l) => unbiasedSet.has(l))
    .flatMap((label) => {
      const r = view.rmse(label, k);
      return r[0] !== null && r[i] !== null ? [{ label, ratio: r[i] / r[0] }] : [];
    });
  return { falling: ratio <= UNBIASED_SLOPE_TOLERANCE / Math.sqrt(M), ratio, from: psa[0], to: psa[i], M, unbiased };
}

/**
 * Plain-language findings of one checkpoint, each computed from the numbers; with the authors' curves (at our M)
 * the same statements are computed from theirs and every disagreement is spelled out.
 */
export function gradaccFindings(result: GradientAccuracyResult, reference?: GradaccCheckpoint['reference']): string[] {
  const ours = oursView(result);
  const L = ours.layers;
  const theirs = reference ? authorsView(result.M, reference.curves, L) : undefined;
  const who = reference ? `the authors' ${reference.checkpoint}` : '';
  const lines: string[] = [];
  const shownM = [1, 10, 100, 1000].filter((m) => result.M.includes(m));
  const unbiased = unbiasedLabels(result);
  // the authors' figure has the paper's seven: winners are compared among those (later estimators are shown apart)
  const compared = theirs ? ours.labels.filter((l) => theirs.labels.includes(l)) : ours.labels;

  // who wins at which M, per hidden layer
  for (let k = 0; k < L - 1; k++) {
    const layer = layerName(k, L);
    const parts: string[] = [];
    const differ: string[] = [];
    for (const M of shownM) {
      const i = result.M.indexOf(M);
      const best = bestAt(ours, k, i);
      const o = bestAt(ours, k, i, compared);
      const among = best && o && best.label !== o.label ? ` (of the paper's seven: ${o.label}, ${num(o.value)})` : '';
      parts.push(`M=${M}: ${best ? `${best.label} (${num(best.value)})${among}` : 'n/a'}`);
      const t = theirs ? bestAt(theirs, k, i) : undefined;
      if (theirs && t && o && t.label !== o.label)
        differ.push(`authors: ${t.label} best at M=${M} in ${layer}; ours: ${o.label}`);
    }
    let line = `${layer}: lowest relative RMSE at ${parts.join(', ')}`;
    if (theirs)
      line += differ.length ? `; DIFFERS from ${who}: ${differ.join('; ')}` : `; ${who} curves have the same winners`;
    lines.push(line + '.');
  }

  // Bias floors and slopes are read at our floor M for both: the authors' value at the same M (from more
  // trials) is what ours estimates, whatever the number of draws.
  const fi = floorIndex(ours);
  const floorM = `M=${ours.M[fi]}, the largest M with ≥ ${FLOOR_MIN_TRIALS} trials`;

  // bias floors of the biased estimators
  for (const label of ours.labels.filter((l) => !unbiased.has(l))) {
    const values = Array.from({ length: L }, (_, k) => ours.rmse(label, k)[fi]);
    let line =
      `bias floor of ${label} (relative RMSE at ${floorM}): ` +
      values.map((v, k) => `${layerName(k, L)} ${v === null ? 'n/a' : num(v)}`).join(', ');
    if (theirs && theirs.labels.includes(label)) {
      const tv = Array.from({ length: L }, (_, k) => theirs.rmse(label, k)[fi]);
      line += `; ${who}: ${tv.map((v) => (v === null ? 'n/a' : num(v))).join(', ')}`;
      const far = values.flatMap((v, k) => {
        const t = tv[k];
        if (v === null || t === null || t <= 0) return [];
        const r = v / t;
        return r > 1.5 || r < 1 / 1.5
          ? [`${layerName(k, L)} ours ${num(v)} vs authors ${num(t)} (${r.toFixed(2)}×)`]
          : [];
      });
      if (far.length) line += `; DIFFERS by more than 1.5×: ${far.join(', ')}`;
    }
    lines.push(line + '.');
  }

  // where unbiased ARM overtakes PSA
  if (ours.labels.includes('arm') && ours.labels.includes('psa')) {
    const lastM = ours.M[ours.M.length - 1];
    const say = (M: number | null) => (M === null ? `never up to M=${lastM}` : `from M=${M}`);
    const o = Array.from({ length: L }, (_, k) => armBelowPsa(ours, k));
    let line = `ARM's relative RMSE falls below PSA's: ${o.map((M, k) => `${layerName(k, L)} ${say(M)}`).join(', ')}`;
    if (theirs) {
      const t = Array.from({ length: L }, (_, k) => armBelowPsa(theirs, k));
      const differ = t.flatMap((M, k) =>
        M !== o[k] ? [`${layerName(k, L)}: authors ${say(M)}, ours ${say(o[k])}`] : [],
      );
      line += differ.length ? `; DIFFERS from ${who}: ${differ.join('; ')}` : `; ${who} curves agree`;
    }
    lines.push(line + '.');
  }

  // the sign of the deterministic relaxation's cosine in hidden layer 1
  if (ours.labels.includes('tanh')) {
    const sign = (c: number) =>
      c >= 0 ? `positive (${num(c)})` : `negative (${num(c)}: it points away from the true gradient)`;
    const o = ours.cos('tanh', 0)[0];
    if (o !== null) {
      let line = `tanh's cosine in hidden layer 1 is ${sign(o)}`;
      const t = theirs?.cos('tanh', 0)[0];
      if (theirs && t !== null && t !== undefined) {
        line +=
          Math.sign(t) === Math.sign(o)
            ? `; ${who}: ${sign(t)} too`
            : `; DIFFERS from ${who}: authors ${sign(t)}, ours ${sign(o)}`;
      }
      lines.push(line + '.');
    }
  }

  // does PSA behave like an unbiased estimator in the last hidden layer and the output layer?
  for (const k of [L - 2, L - 1]) {
    if (k < 0) continue;
    const o = psaDecay(ours, k, fi, unbiased);
    if (!o) continue;
    const describe = (d: NonNullable<ReturnType<typeof psaDecay>>) =>
      `${d.falling ? "keeps falling like the unbiased methods'" : 'levels off (a bias floor)'}: ` +
      `${num(d.from)} at M=1 → ${num(d.to)} at M=${d.M}, ×${num(d.ratio)}` +
      ` (1/√M: ×${num(1 / Math.sqrt(d.M))}${d.unbiased.map((u) => `, ${u.label} ×${num(u.ratio)}`).join('')})`;
    let line = `${layerName(k, L)}: PSA's relative RMSE ${describe(o)}`;
    const t = theirs ? psaDecay(theirs, k, fi, unbiased) : undefined;
    if (t)
      line +=
        t.falling === o.falling ? `; ${who}: ${describe(t)}` : `; DIFFERS from ${who}: authors' PSA ${describe(t)}`;
    lines.push(line + '.');
  }

  // how close the numbers are (for a qualitative comparison: how different the two trainings came out)
  if (reference) {
    let cos = { v: -1, at: '' };
    let rmse = { v: -1, at: '' };
    for (const [label, layers] of Object.entries(reference.deviations)) {
      layers.forEach((d, k) => {
        if (d.maxCosDeviation > cos.v)
          cos = { v: d.maxCosDeviation, at: `${label}, ${layerName(k, L)}, M=${d.atMCos}` };
        if (d.maxRmseRelDeviation > rmse.v)
          rmse = { v: d.maxRmseRelDeviation, at: `${label}, ${layerName(k, L)}, M=${d.atMRmse}` };
      });
    }
    if (cos.v >= 0) {
      const what =
        reference.kind === 'quantitative'
          ? 'same parameters: the difference is Monte-Carlo and digitisation error'
          : 'a different training run: read it as a picture to compare, not a match';
      lines.push(
        `largest deviation from ${who} curves (${what}): cosine ${num(cos.v)} (${cos.at}); ` +
          `relative RMSE ${(100 * rmse.v).toFixed(1)}% (${rmse.at}).`,
      );
    }
  }
  return lines;
}
