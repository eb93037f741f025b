// The authors' reference data (reference/authors-psa-neurips2020/ in the package: their checkpoints and their
// digitised gradient-accuracy curves): where it is, and reading and checking the curves file. Matching their
// method names to our labels is the engine's (src/engine/experiments/gradacc.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { referenceCurves, type AuthorsCurvesFile, type ReferenceCurves } from '../engine/experiments/gradacc';
import { CliError, fieldError } from './errors';

export { AUTHORS_METHOD, type ReferenceCurves } from '../engine/experiments/gradacc';

/** The folder of the authors' data, relative to the package root; its README says where every number comes from. */
export const AUTHORS_REFERENCE_DIR = path.join('reference', 'authors-psa-neurips2020');
export const AUTHORS_CHECKPOINTS_FILE = 'gradeval_checkpoints.json';
export const AUTHORS_CURVES_FILE = 'gradacc_curves.json';

/**
 * The authors' data folder of this installation: resolved from where this code runs (dist/, dist/test/unit/,
 * src/cli/), never from the working directory, so `sbn` finds it from any folder.
 */
export function authorsReferenceDir(): string {
  let dir = __dirname;
  for (let up = 0; up < 5; up++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, AUTHORS_REFERENCE_DIR);
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return path.resolve(__dirname, '..', AUTHORS_REFERENCE_DIR);
}

export function loadReferenceCurves(arg: string): ReferenceCurves {
  const hash = arg.lastIndexOf('#');
  if (hash <= 0)
    throw new CliError(
      `--reference: expected <curves.json>#<checkpoint>, e.g. gradacc_curves.json#chk-100, got "${arg}"`,
    );
  const file = arg.slice(0, hash);
  const checkpoint = arg.slice(hash + 1);
  let doc: { M?: unknown; curves?: Record<string, Record<string, number[]>> };
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof doc;
  } catch (e) {
    throw fieldError(
      file,
      '',
      (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read JSON (${(e as Error).message})`,
    );
  }
  if (!Array.isArray(doc.M) || typeof doc.curves !== 'object' || doc.curves === null) {
    throw fieldError(
      file,
      '',
      'expected {"M": [...], "curves": {"<checkpoint>/<cos|rmse>/layer<k>": {method: [...]}}}',
    );
  }
  const known = [...new Set(Object.keys(doc.curves).map((k) => k.split('/')[0]))];
  if (!known.includes(checkpoint))
    throw fieldError(file, 'curves', `no curves for checkpoint "${checkpoint}" (available: ${known.join(', ')})`);
  return referenceCurves(doc as AuthorsCurvesFile, checkpoint);
}
