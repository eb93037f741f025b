// Experiment 1 end to end (docs/math.md §3): the gradient accuracy of the paper's seven estimators (and those that
// came after it) on the authors' checkpoints and on our re-creation of them, compared with the authors' published
// curves, with findings.
//
// Finished work is kept on disk under the output folder so that a rerun only computes what is missing: the
// re-created checkpoints (recreation.ts) and `results/<checkpoint id>.json` (one gradient-accuracy result, keyed by
// everything it depends on).
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { disposeNetwork, networkFromValues, type LayerValues, type Network } from '../../model/network';
import type { Dataset } from '../../gradients/draws';
import { gradientAccuracy, type EstimatorEntry, type GradientAccuracyResult } from '../../gradients/accuracy';
import { readToy2d, type Split } from '../../data';
import type { ExperimentEnvironment, GradaccCheckpoint, GradaccExperiment } from '../types';
import { GRADACC_MODEL } from './model';
import { compareWithReference, paperMFor, type ReferenceCurves } from './reference';
import { finishedTraining, oursCheckpointFile, trainCheckpoints, trainingSettings } from './recreation';
import { gradaccFindings } from './findings';
import { readJson, writeJson } from './files';

interface ResultKey {
  model: string;
  draws: number;
  seed: number;
  M: number[];
  estimators: EstimatorEntry[];
  /** sha256 of the parameter values (a retrained checkpoint invalidates its result) */
  params: string;
  data: string;
}

interface ResultFile {
  format: 'sbn-gradacc-result';
  version: 1;
  key: ResultKey;
  result: GradientAccuracyResult;
}

function sha256(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

export function resultFile(outDir: string, id: string): string {
  return path.join(outDir, 'results', `${id}.json`);
}

function toyRows(split: Split): Dataset {
  const d = split.x.length / split.n;
  return {
    X: Array.from({ length: split.n }, (_, n) => Array.from(split.x.subarray(n * d, (n + 1) * d))),
    Y: Array.from(split.y),
  };
}

export interface AuthorsData {
  /** Parameters of the authors' chk-1 and chk-100 (params-file layout). */
  checkpoints: { 'chk-1': LayerValues[]; 'chk-100': LayerValues[] };
  /** Their digitised curves of chk-100 and chk-2000. */
  curves: { 'chk-100': ReferenceCurves; 'chk-2000': ReferenceCurves };
}

export interface GradaccOptions {
  outDir: string;
  draws: number;
  seed: number;
  epochs: number;
  /** The paper's seven and those since (the CLI's PAPER_ESTIMATORS and SINCE_PAPER_ESTIMATORS). */
  estimators: EstimatorEntry[];
  environment: ExperimentEnvironment;
  /** Without it, only our re-created checkpoints are evaluated and nothing is compared. */
  authors?: AuthorsData;
  log?: (line: string) => void;
  onProgress?: (checkpoint: string, label: string, done: number, total: number) => void;
}

export interface GradaccRun {
  experiment: GradaccExperiment;
  /** False when the checkpoints of an earlier finished training were reused. */
  trained: boolean;
  /** Checkpoint ids whose gradient accuracy was computed now, and those read from results/. */
  computed: string[];
  reused: string[];
}

interface Planned {
  id: string;
  title: string;
  source: 'authors' | 'recreated';
  epoch: number;
  values: LayerValues[];
  reference?: { ref: ReferenceCurves; kind: 'quantitative' | 'qualitative' };
}

export async function runGradaccExperiment(o: GradaccOptions): Promise<GradaccRun> {
  const log = o.log ?? (() => undefined);
  const spec = GRADACC_MODEL;
  const raw = readToy2d().train;
  const split: Split = { x: Float32Array.from(raw.x), y: raw.y, n: raw.n };
  const data = toyRows(split);
  const M = paperMFor(o.draws);

  const settings = trainingSettings(spec, o.seed, o.epochs);
  let outcome = finishedTraining(o.outDir, settings);
  if (outcome) {
    const folder = path.dirname(oursCheckpointFile(o.outDir, o.epochs));
    log(`training: reusing the finished training in ${folder} (same settings)`);
  } else {
    log(
      `training: REINFORCE, ${o.epochs} epochs of ${Math.ceil(split.n / settings.batchSize)} steps ` +
        `(lr ${settings.lr}, momentum ${settings.momentum}, batch ${settings.batchSize}, seed ${o.seed})`,
    );
    outcome = await trainCheckpoints(spec, split, data, settings, o.outDir, log);
    log(`training: ${outcome.training.seconds.toFixed(1)} s`);
  }

  const planned: Planned[] = [];
  if (o.authors) {
    planned.push({
      id: 'authors-chk-1',
      title: "Authors' chk-1 (their REINFORCE training, 1 epoch)",
      source: 'authors',
      epoch: 1,
      values: o.authors.checkpoints['chk-1'],
    });
    planned.push({
      id: 'authors-chk-100',
      title: "Authors' chk-100 (their REINFORCE training, 100 epochs)",
      source: 'authors',
      epoch: 100,
      values: o.authors.checkpoints['chk-100'],
      reference: { ref: o.authors.curves['chk-100'], kind: 'quantitative' },
    });
  }
  for (const [epoch, values] of outcome.checkpoints) {
    const curves =
      o.authors && epoch === 100
        ? o.authors.curves['chk-100']
        : o.authors && epoch === 2000
          ? o.authors.curves['chk-2000']
          : undefined;
    planned.push({
      id: `ours-chk-${epoch}`,
      title: `Re-created chk-${epoch} (our REINFORCE training, ${epoch} epoch${epoch === 1 ? '' : 's'})`,
      source: 'recreated',
      epoch,
      values,
      reference: curves ? { ref: curves, kind: 'qualitative' } : undefined,
    });
  }

  const computed: string[] = [];
  const reused: string[] = [];
  const checkpoints: GradaccCheckpoint[] = [];
  for (const p of planned) {
    const key: ResultKey = {
      model: spec.name,
      draws: o.draws,
      seed: o.seed,
      M,
      estimators: o.estimators,
      params: sha256(p.values),
      data: sha256(data),
    };
    const file = resultFile(o.outDir, p.id);
    const cached = readJson<ResultFile>(file);
    let computedResult: GradientAccuracyResult;
    if (cached?.format === 'sbn-gradacc-result' && JSON.stringify(cached.key) === JSON.stringify(key)) {
      computedResult = cached.result;
      reused.push(p.id);
      log(`${p.id}: reusing ${file}`);
    } else {
      const net: Network = networkFromValues(spec, p.values);
      try {
        computedResult = gradientAccuracy(net, data, o.estimators, {
          draws: o.draws,
          seed: o.seed,
          M,
          onProgress: (label, done, total) => o.onProgress?.(p.id, label, done, total),
        });
      } finally {
        disposeNetwork(net);
      }
      writeJson(file, {
        format: 'sbn-gradacc-result',
        version: 1,
        key,
        result: computedResult,
      } satisfies ResultFile);
      computed.push(p.id);
      log(`${p.id}: ${computedResult.estimators.reduce((s, e) => s + e.seconds, 0).toFixed(1)} s, written to ${file}`);
    }
    const exactLoss = computedResult.exactLoss;
    // the toy model of Experiment 1 is always enumerated; the guard narrows the type
    if (exactLoss === null) throw new Error(`${p.id}: Experiment 1 is compared with the exact gradient`);
    const result = { ...computedResult, exactLoss };
    let reference: GradaccCheckpoint['reference'];
    if (p.reference) {
      const { curves, deviations } = compareWithReference(result, p.reference.ref);
      reference = { checkpoint: p.reference.ref.checkpoint, kind: p.reference.kind, curves, deviations };
    }
    checkpoints.push({
      id: p.id,
      title: p.title,
      source: p.source,
      epoch: p.epoch,
      result,
      reference,
      findings: gradaccFindings(result, reference),
    });
  }

  return {
    experiment: {
      format: 'sbn-experiment-gradacc',
      version: 1,
      environment: o.environment,
      draws: o.draws,
      seed: o.seed,
      M,
      checkpoints,
      training: outcome.training,
    },
    trained: outcome.trained,
    computed,
    reused,
  };
}
