// The authors' digitised gradient-accuracy curves (../shared/psa-gradeval/gradacc_curves.json): reading and
// checking the file. Matching their method names to our labels is the engine's (src/engine/experiments/gradacc.ts).
import * as fs from 'node:fs';
import { referenceCurves, type AuthorsCurvesFile, type ReferenceCurves } from '../engine/experiments/gradacc';
import { CliError, fieldError } from './errors';

export { AUTHORS_METHOD, type ReferenceCurves } from '../engine/experiments/gradacc';

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
  const known = [...new Set(Object.keys(doc.curves).map((k) => k.split('/')[0]))];
  if (!known.includes(checkpoint)) throw fieldError(file, 'curves', `no curves for checkpoint "${checkpoint}" (available: ${known.join(', ')})`);
  return referenceCurves(doc as AuthorsCurvesFile, checkpoint);
}
