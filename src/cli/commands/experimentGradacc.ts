// `sbn experiment gradacc`: the paper's Experiment 1 end to end (docs/math.md §3) — the authors' checkpoints, our
// re-created ones, the paper's seven estimators and the seven that came after it on each, the comparison with the
// authors' curves and the findings.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { networkValues, disposeNetwork, type LayerValues } from '../../engine/model/network';
import { MAX_STORED_VALUES } from '../../engine/gradients/accuracy';
import {
  GRADACC_MODEL,
  GRADACC_PARAMETERS,
  runGradaccExperiment,
  type AuthorsData,
  type GradaccRun,
  type ReferenceCurves,
} from '../../engine/experiments/gradacc';
import type { GradaccCheckpoint } from '../../engine/experiments/types';
import { writeExperimentReport } from '../../report';
import { startBackend } from '../backend';
import { CliError } from '../errors';
import { experimentEnvironment } from '../experiment';
import { loadParams, parseEstimatorList, parsePositiveInt, parseSeed } from '../inputs';
import { out } from '../io';
import { log } from '../log';
import { prepareOutputFolder } from '../outputs';
import {
  AUTHORS_CHECKPOINTS_FILE as CHECKPOINTS_FILE,
  AUTHORS_CURVES_FILE as CURVES_FILE,
  authorsReferenceDir,
  loadReferenceCurves,
} from '../reference';
import { formatTable, PAPER_ESTIMATORS, SINCE_PAPER_ESTIMATORS } from './gradeval';

export interface ExperimentGradaccOptions {
  out: string;
  draws: string;
  seed: string;
  epochs: string;
  authors?: string;
  png: boolean;
  backend?: string;
}

/** The authors' folder to use: --authors (both files required) or the package's own copy, if complete. */
function authorsDir(flag: string | undefined): string | undefined {
  if (flag !== undefined) {
    if (!fs.statSync(flag, { throwIfNoEntry: false })?.isDirectory())
      throw new CliError(`--authors: ${flag}: folder not found`);
    for (const name of [CHECKPOINTS_FILE, CURVES_FILE]) {
      const file = path.join(flag, name);
      if (!fs.existsSync(file))
        throw new CliError(
          `--authors: ${file}: file not found (the folder must hold ${CHECKPOINTS_FILE} and ${CURVES_FILE})`,
        );
    }
    return flag;
  }
  const dir = authorsReferenceDir();
  const missing = [CHECKPOINTS_FILE, CURVES_FILE].filter((name) => !fs.existsSync(path.join(dir, name)));
  if (missing.length === 0) return dir;
  log(
    `the authors' data is not at ${dir} (${missing.join(', ')} missing): ` +
      'skipping their checkpoints and every comparison with their curves (give --authors <dir>)',
  );
  return undefined;
}

function loadAuthors(dir: string): AuthorsData {
  const checkpoints = path.join(dir, CHECKPOINTS_FILE);
  const curves = path.join(dir, CURVES_FILE);
  const params = (key: string): LayerValues[] => {
    const net = loadParams(`${checkpoints}#${key}`, GRADACC_MODEL);
    try {
      return networkValues(net);
    } finally {
      disposeNetwork(net);
    }
  };
  return {
    checkpoints: { 'chk-1': params('chk-1'), 'chk-100': params('chk-100') },
    curves: {
      'chk-100': loadReferenceCurves(`${curves}#chk-100`),
      'chk-2000': loadReferenceCurves(`${curves}#chk-2000`),
    },
  };
}

function layerTitle(k: number, layers: number): string {
  return k === layers - 1 ? 'output' : `hidden ${k + 1}`;
}

function pct(v: number): string {
  return `${(100 * v).toFixed(1)}%`;
}

/** Per estimator and layer, the largest deviations from the authors' curves (same parameters). */
export function formatDeviations(c: GradaccCheckpoint): string {
  if (!c.reference) return '';
  const lines = [
    `Deviation of ${c.id} from the authors' ${c.reference.checkpoint} curves (${c.reference.kind}): ` +
      'largest |cos ours − cos authors| and |rmse ours / rmse authors − 1| over M, and where',
  ];
  const labelWidth = Math.max(10, ...Object.keys(c.reference.deviations).map((l) => l.length)) + 1;
  lines.push(
    [
      'estimator'.padEnd(labelWidth),
      'layer'.padEnd(9),
      'max |Δcos|'.padStart(11),
      'at M'.padStart(6),
      'max |Δrmse|'.padStart(12),
      'at M'.padStart(6),
    ].join(' '),
  );
  for (const [label, layers] of Object.entries(c.reference.deviations)) {
    layers.forEach((d, k) => {
      lines.push(
        [
          label.padEnd(labelWidth),
          layerTitle(k, layers.length).padEnd(9),
          d.maxCosDeviation.toFixed(4).padStart(11),
          String(d.atMCos).padStart(6),
          pct(d.maxRmseRelDeviation).padStart(12),
          String(d.atMRmse).padStart(6),
        ].join(' '),
      );
    });
  }
  return lines.join('\n') + '\n';
}

export async function experimentGradaccCommand(o: ExperimentGradaccOptions): Promise<void> {
  const draws = parsePositiveInt(o.draws, '--draws');
  const seed = parseSeed(o.seed);
  const epochs = parsePositiveInt(o.epochs, '--epochs');
  if (draws * GRADACC_PARAMETERS > MAX_STORED_VALUES) {
    throw new CliError(
      `--draws: ${draws} draws × ${GRADACC_PARAMETERS} parameters exceeds the ` +
        `${MAX_STORED_VALUES.toExponential(0)} stored values of the protocol; use fewer draws`,
    );
  }
  const estimators = parseEstimatorList(`${PAPER_ESTIMATORS},${SINCE_PAPER_ESTIMATORS}`);
  const dir = authorsDir(o.authors);
  prepareOutputFolder(o.out, '--out');
  const backend = await startBackend(o.backend);
  const authors = dir === undefined ? undefined : loadAuthors(dir);

  // On a terminal the progress counter rewrites one line, which a log line first ends.
  let progressOpen = false;
  let lastLabel = '';
  const endProgress = () => {
    if (progressOpen) process.stderr.write('\n');
    progressOpen = false;
  };
  let run: GradaccRun;
  try {
    run = await runGradaccExperiment({
      outDir: o.out,
      draws,
      seed,
      epochs,
      estimators,
      authors,
      environment: experimentEnvironment(backend),
      log: (line) => {
        endProgress();
        log(line);
      },
      onProgress: (checkpoint, label, done, total) => {
        const what = `${checkpoint}: ${label}`;
        if (process.stderr.isTTY) {
          process.stderr.write(`\rsbn: ${what}: ${done}/${total} draws\x1b[K`);
          progressOpen = true;
        } else if (what !== lastLabel) {
          log(`${what}: ${total} draws`);
        }
        lastLabel = what;
      },
    });
  } catch (e) {
    if (e instanceof RangeError) throw new CliError(e.message);
    throw e;
  } finally {
    endProgress();
  }

  const { experiment } = run;
  const refOf = (c: GradaccCheckpoint): ReferenceCurves | undefined =>
    c.reference && authors ? authors.curves[c.reference.checkpoint as 'chk-100' | 'chk-2000'] : undefined;
  for (const c of experiment.checkpoints) {
    out(`\n== ${c.id}: ${c.title}\n`);
    out(formatTable(c.result, backend.name, refOf(c)));
  }
  const quantitative = experiment.checkpoints.filter((c) => c.reference?.kind === 'quantitative');
  for (const c of quantitative) out(`\n${formatDeviations(c)}`);
  out('\nFindings (computed from the numbers above)\n');
  for (const c of experiment.checkpoints) {
    out(`\n${c.id}${c.reference ? ` (against the authors' ${c.reference.checkpoint}, ${c.reference.kind})` : ''}:\n`);
    for (const f of c.findings) out(`- ${f}\n`);
  }

  const training = experiment.training;
  if (training) {
    const exact = Object.entries(training.exactLoss)
      .map(([e, v]) => `epoch ${e} ${v.toFixed(6)}`)
      .join(', ');
    log(
      `training ${run.trained ? 'ran' : 'reused'}: ${training.epochs} epochs in ${training.seconds.toFixed(1)} s; ` +
        `exact expected loss ${exact}`,
    );
  }
  if (run.reused.length) log(`results reused: ${run.reused.join(', ')}`);
  const report = await writeExperimentReport(o.out, experiment, { png: o.png });
  log(`results written to ${report.json}`);
  if (report.html) log(`report: ${report.html}`);
  for (const png of report.pngs) log(`figure: ${png}`);
  for (const note of report.notes) log(note);
}
