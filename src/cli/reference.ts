// The authors' digitised gradient-accuracy curves (../shared/psa-gradeval/gradacc_curves.json): reading
// them and matching their method names to our estimator labels.
import * as fs from 'node:fs';
import { CliError, fieldError } from './errors';

export interface ReferenceCurves {
  checkpoint: string;
  M: number[];
  /** curves[`cos|rmse`][layerIndex][authorsMethod] → values over M */
  get(metric: 'cos' | 'rmse', layer: number, label: string): number[] | undefined;
}

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

export function loadReferenceCurves(arg: string): ReferenceCurves {
  const hash = arg.lastIndexOf('#');
  if (hash <= 0) throw new CliError(`--reference: expected <curves.json>#<checkpoint>, e.g. gradacc_curves.json#chk-100, got "${arg}"`);
  const file = arg.slice(0, hash);
  const checkpoint = arg.slice(hash + 1);
  let doc: { M?: unknown; curves?: Record<string, Record<string, number[]>> };
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw fieldError(file, '', (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(doc.M) || typeof doc.curves !== 'object' || doc.curves === null) {
    throw fieldError(file, '', 'expected {"M": [...], "curves": {"<checkpoint>/<cos|rmse>/layer<k>": {method: [...]}}}');
  }
  const curves = doc.curves;
  const known = [...new Set(Object.keys(curves).map((k) => k.split('/')[0]))];
  if (!known.includes(checkpoint)) throw fieldError(file, 'curves', `no curves for checkpoint "${checkpoint}" (available: ${known.join(', ')})`);
  return {
    checkpoint,
    M: doc.M as number[],
    get: (metric, layer, label) => {
      const method = AUTHORS_METHOD[label];
      return method ? curves[`${checkpoint}/${metric}/layer${layer}`]?.[method] : undefined;
    },
  };
}
