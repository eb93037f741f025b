// `sbn grad`: many draws of one estimator on a model, parameters and data; one JSON object on stdout.
import { startBackend } from '../backend';
import { gradientDraws } from '../../engine/gradients/draws';
import { exactCost } from '../../engine/estimators/exactCost';
import { disposeNetwork } from '../../engine/model/network';
import { asCliError, CliError } from '../errors';
import {
  loadData,
  loadModel,
  loadParams,
  parseBaseline,
  parseEstimatorName,
  parsePositiveInt,
  parsePositiveNumber,
  parseSeed,
  MAX_GUMBEL_RAO_K,
} from '../inputs';
import { out } from '../io';
import { log } from '../log';

export interface GradOptions {
  params: string;
  data: string;
  estimator: string;
  draws: string;
  seed: string;
  tau: string;
  k: string;
  baseline: string;
  backend?: string;
}

export async function gradCommand(modelFile: string, o: GradOptions): Promise<void> {
  const estimator = parseEstimatorName(o.estimator);
  const draws = parsePositiveInt(o.draws, '--draws');
  const seed = parseSeed(o.seed);
  const tau = parsePositiveNumber(o.tau, '--tau');
  const baseline = parseBaseline(o.baseline);
  const k = parsePositiveInt(o.k, '--k', MAX_GUMBEL_RAO_K);
  const spec = loadModel(modelFile);
  const data = loadData(o.data, spec);
  const refusal = estimator === 'exact' ? exactCost(spec, data.X.length).refusal : undefined;
  if (refusal) throw new CliError(`${modelFile}: layers: ${refusal}`);
  const backend = await startBackend(o.backend);
  const net = loadParams(o.params, spec);
  try {
    const started = Date.now();
    const summary = gradientDraws(net, data, estimator, { draws, seed, estimatorOptions: { tau, baseline, k } });
    log(`${estimator}: ${draws} draws in ${((Date.now() - started) / 1000).toFixed(2)} s`);
    const layers = summary.layers.map((l) => ({ name: l.name, mean: Array.from(l.mean), std: Array.from(l.std) }));
    for (const l of layers) {
      if (![...l.mean, ...l.std].every(Number.isFinite)) {
        throw new CliError(
          `${estimator} produced a non-finite gradient in layer ${l.name} (check the parameters' magnitude)`,
          1,
        );
      }
    }
    if (!Number.isFinite(summary.loss)) throw new CliError(`${estimator} produced a non-finite loss`, 1);
    out(JSON.stringify({ estimator, draws, backend: backend.name, loss: summary.loss, layers }) + '\n');
  } catch (e) {
    asCliError(e, modelFile);
  } finally {
    disposeNetwork(net);
  }
}
