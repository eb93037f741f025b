// `sbn gradeval`: the paper's Experiment 1 (docs/math.md §3.3) on any model: against the exact gradient where
// enumeration fits, otherwise against the diagnostics reference (§3.8), whose standard error is reported per layer.
import * as path from 'node:path';
import { startBackend } from '../backend';
import { gradientAccuracy, type AccuracyReference, type GradientAccuracyResult } from '../../engine/gradients/accuracy';
import { compareWithReference, paperMFor, referenceAt } from '../../engine/experiments/gradacc';
import { disposeNetwork } from '../../engine/model/network';
import type { GradientAccuracyData } from '../../engine/experiments/types';
import { asCliError, CliError } from '../errors';
import {
  loadData,
  loadModel,
  loadParams,
  parseEstimatorList,
  parsePositiveInt,
  parsePositiveNumber,
  parseSeed,
} from '../inputs';
import { out } from '../io';
import { log } from '../log';
import { prepareOutputFile } from '../outputs';
import { loadReferenceCurves, type ReferenceCurves } from '../reference';
import { writeFileAtomic } from '../../engine/files';

export const PAPER_ESTIMATORS = 'reinforce,concrete:0.1,concrete:1,tanh,dste,psa,arm';
/** The estimators that came after the paper (docs/math.md §2.13–§2.19), each with its default option. */
export const SINCE_PAPER_ESTIMATORS = 'disarm,muprop,local-expectation,gumbel-st,gumbel-rao,reinmax,reinforce:input';

export interface GradevalOptions {
  params: string;
  data: string;
  estimators: string;
  draws: string;
  m?: string;
  seed: string;
  out?: string;
  reference?: string;
  referenceError: string;
  referenceDraws: string;
  backend?: string;
}

export async function gradevalCommand(modelFile: string, o: GradevalOptions): Promise<void> {
  const entries = parseEstimatorList(o.estimators);
  const draws = parsePositiveInt(o.draws, '--draws');
  const seed = parseSeed(o.seed);
  const M = o.m === undefined ? paperMFor(draws) : o.m.split(',').map((s) => parsePositiveInt(s.trim(), '--m'));
  const tooBig = M.find((m) => m > draws);
  if (tooBig !== undefined) throw new CliError(`--m: M = ${tooBig} is larger than --draws ${draws}`);
  const referenceError = parsePositiveNumber(o.referenceError, '--reference-error');
  const referenceDraws = parsePositiveInt(o.referenceDraws, '--reference-draws');
  if (referenceDraws < 2) throw new CliError(`--reference-draws: expected at least 2, got ${referenceDraws}`);
  const reference = o.reference ? loadReferenceCurves(o.reference) : undefined;
  const spec = loadModel(modelFile);
  const data = loadData(o.data, spec);
  const outFile =
    o.out ?? path.join('sbn-gradeval', `${spec.name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  prepareOutputFile(outFile, '--out');
  const backend = await startBackend(o.backend);
  const net = loadParams(o.params, spec);
  let result: GradientAccuracyResult;
  try {
    let lastLabel = '';
    result = gradientAccuracy(net, data, entries, {
      draws,
      seed,
      M,
      reference: { targetError: referenceError, maxDraws: referenceDraws },
      onProgress: (label, done, total) => {
        if (process.stderr.isTTY) process.stderr.write(`\rsbn: ${label}: ${done}/${total} draws`);
        else if (label !== lastLabel) log(`${label}: ${total} draws`);
        lastLabel = label;
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
  } catch (e) {
    asCliError(e, modelFile);
  } finally {
    disposeNetwork(net);
  }
  const json = {
    ...result,
    backend: backend.name,
    reference: reference ? attachReference(result, reference) : undefined,
  };
  writeFileAtomic(outFile, JSON.stringify(json, null, 1) + '\n');
  out(formatTable(result, backend.name, reference));
  const r = result.referenceGradient;
  if (r.kind !== 'exact') log(`reference (${r.kind}, ${r.draws} draws): ${r.seconds.toFixed(1)} s`);
  for (const e of result.estimators) log(`${e.label}: ${e.seconds.toFixed(1)} s`);
  log(`results written to ${outFile}`);
}

interface ReferenceComparison {
  checkpoint: string;
  /** Per estimator label and layer: the authors' values at our M and the largest absolute deviation. */
  estimators: Record<
    string,
    {
      layer: string;
      cos: (number | null)[];
      rmse: (number | null)[];
      maxCosDeviation: number;
      maxRmseRelDeviation: number;
    }[]
  >;
}

function attachReference(result: GradientAccuracyResult, ref: ReferenceCurves): ReferenceComparison {
  const { curves, deviations } = compareWithReference(result, ref);
  const estimators: ReferenceComparison['estimators'] = {};
  for (const [label, layers] of Object.entries(curves)) {
    const layerNames = result.estimators.find((e) => e.label === label)!.layers.map((l) => l.layer);
    estimators[label] = layers.map((c, k) => ({
      layer: layerNames[k],
      cos: c.cos,
      rmse: c.rmse,
      maxCosDeviation: deviations[label][k].maxCosDeviation,
      maxRmseRelDeviation: deviations[label][k].maxRmseRelDeviation,
    }));
  }
  return { checkpoint: ref.checkpoint, estimators };
}

function fmt(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(digits);
}

/** What formatTable shows: a gradeval result, or a checkpoint of Experiment 1 (always exact). */
type AccuracyTable = Omit<GradientAccuracyData, 'exactLoss'> & {
  exactLoss: number | null;
  referenceGradient?: AccuracyReference;
};

/** The reference line of the table: the exact loss, or which sampled reference with its error per layer. */
function referenceLine(result: AccuracyTable): string {
  const r = result.referenceGradient;
  if (result.exactLoss !== null || r === undefined || r.kind === 'exact')
    return `exact expected loss ${(result.exactLoss ?? NaN).toFixed(6)}; `;
  const what = r.kind === 'local-expectation' ? 'local expectation' : 'REINFORCE (leave-one-out)';
  const errors = result.exactNorms.map((n, k) => `${n.layer} ${fmt(r.relativeError[k])}`).join(', ');
  return (
    `reference: exact enumeration does not fit; the mean of ${r.draws} ${what} draws, ` +
    `relative standard error per layer ${errors}\n`
  );
}

export function formatTable(result: AccuracyTable, backend: string, reference?: ReferenceCurves): string {
  const shown = [1, 10, 100, 1000].filter((m) => result.M.includes(m));
  const idx = shown.map((m) => result.M.indexOf(m));
  const cell = (v: number, ref: number | null) => (ref === null ? fmt(v) : `${fmt(v)} (${fmt(ref)})`);
  const width = reference ? 15 : 7;
  const labelWidth = Math.max(10, ...result.estimators.map((e) => e.label.length)) + 1;
  const lines: string[] = [];
  lines.push(
    `Gradient accuracy (paper Experiment 1): model ${result.model}, ${result.draws} draws, ` +
      `seed ${result.seed}, backend ${backend}`,
  );
  const exact = result.exactLoss !== null;
  lines.push(
    referenceLine(result) +
      'cosine similarity (higher is better) and relative RMSE (lower is better) vs the ' +
      `${exact ? 'exact' : 'reference'} gradient, for averages of M draws`,
  );
  if (reference) lines.push(`in parentheses: the authors' published curves at ${reference.checkpoint}`);
  const layers = result.estimators[0]?.layers.map((l) => l.layer) ?? [];
  layers.forEach((layer, k) => {
    lines.push('');
    const head = shown.map((m) => `M=${m}`.padStart(width)).join(' ');
    lines.push(
      `${`layer ${layer}`.padEnd(labelWidth)} ${'cosine'.padEnd(shown.length * (width + 1) - 1)} | relative RMSE`,
    );
    lines.push(`${'estimator'.padEnd(labelWidth)} ${head} | ${head}`);
    for (const e of result.estimators) {
      const l = e.layers[k];
      const cos = idx
        .map((i, j) =>
          cell(l.cos[i], reference ? referenceAt(reference, 'cos', k, e.label, shown[j]) : null).padStart(width),
        )
        .join(' ');
      const rmse = idx
        .map((i, j) =>
          cell(l.rmse[i], reference ? referenceAt(reference, 'rmse', k, e.label, shown[j]) : null).padStart(width),
        )
        .join(' ');
      lines.push(`${e.label.padEnd(labelWidth)} ${cos} | ${rmse}`);
    }
  });
  return lines.join('\n') + '\n';
}
