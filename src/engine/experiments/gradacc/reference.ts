// The authors' digitised curves of Experiment 1 (reference/authors-psa-neurips2020/gradacc_curves.json): their
// values at our M and how far ours deviate from them.
import { PAPER_M, type GradientAccuracyResult } from '../../gradients/accuracy';
import type { CurveDeviation, ReferenceCurve } from '../types';

/** Draws behind the authors' curves: their trial counts are ⌊20000/M⌋. */
export const AUTHORS_DRAWS = 20000;

/** Our labels → the method names of the authors' figure. */
export const AUTHORS_METHOD: Record<string, string> = {
  reinforce: 'REINFORCE',
  'concrete(tau=0.1)': 'Concrete(t=0.1)',
  'concrete(tau=1)': 'Concrete(t=1)',
  tanh: 'tanh',
  dste: 'ST',
  psa: 'PSA',
  arm: 'ARM',
};

/** gradacc_curves.json: `curves["<checkpoint>/<cos|rmse>/layer<k>"][authorsMethod]` → values over `M`. */
export interface AuthorsCurvesFile {
  M: number[];
  curves: Record<string, Record<string, number[]>>;
}

export interface ReferenceCurves {
  checkpoint: string;
  M: number[];
  /** The authors' curve of one of our labels (undefined when their figure has no such method). */
  get(metric: 'cos' | 'rmse', layer: number, label: string): number[] | undefined;
}

export function referenceCurves(doc: AuthorsCurvesFile, checkpoint: string): ReferenceCurves {
  return {
    checkpoint,
    M: doc.M,
    get: (metric, layer, label) => {
      const method = AUTHORS_METHOD[label];
      return method ? doc.curves[`${checkpoint}/${metric}/layer${layer}`]?.[method] : undefined;
    },
  };
}

/** The authors' value of one curve at M, null where their M list lacks it. */
export function referenceAt(
  ref: ReferenceCurves,
  metric: 'cos' | 'rmse',
  layer: number,
  label: string,
  M: number,
): number | null {
  const values = ref.get(metric, layer, label);
  const i = ref.M.indexOf(M);
  return values && i >= 0 ? values[i] : null;
}

/**
 * The authors' curves at our M and the largest deviations of ours from them, per label their figure has and
 * per layer.
 */
export function compareWithReference(
  result: GradientAccuracyResult,
  ref: ReferenceCurves,
): {
  curves: Record<string, ReferenceCurve[]>;
  deviations: Record<string, CurveDeviation[]>;
} {
  const curves: Record<string, ReferenceCurve[]> = {};
  const deviations: Record<string, CurveDeviation[]> = {};
  for (const e of result.estimators) {
    if (!ref.get('cos', 0, e.label)) continue;
    curves[e.label] = [];
    deviations[e.label] = [];
    e.layers.forEach((l, k) => {
      const cos = result.M.map((M) => referenceAt(ref, 'cos', k, e.label, M));
      const rmse = result.M.map((M) => referenceAt(ref, 'rmse', k, e.label, M));
      const d: CurveDeviation = {
        maxCosDeviation: 0,
        maxRmseRelDeviation: 0,
        atMCos: result.M[0],
        atMRmse: result.M[0],
      };
      result.M.forEach((M, i) => {
        const c = cos[i];
        const r = rmse[i];
        if (c !== null && Math.abs(l.cos[i] - c) > d.maxCosDeviation) {
          d.maxCosDeviation = Math.abs(l.cos[i] - c);
          d.atMCos = M;
        }
        if (r !== null && Math.abs(l.rmse[i] / r - 1) > d.maxRmseRelDeviation) {
          d.maxRmseRelDeviation = Math.abs(l.rmse[i] / r - 1);
          d.atMRmse = M;
        }
      });
      curves[e.label].push({ cos, rmse });
      deviations[e.label].push(d);
    });
  }
  return { curves, deviations };
}

/** The paper's values of M that leave at least 2 trials of `draws` (M = 1 always). */
export function paperMFor(draws: number): number[] {
  return PAPER_M.filter((m) => Math.floor(draws / m) >= 2 || m === 1);
}
