// What TensorBoard shows of a run: the records of metrics.jsonl as TensorBoard events. One mapping, used both
// while a run trains (RunStore writes each record's event as it appends the record) and by
// `sbn export tensorboard` for runs made before; the tags are listed in docs/run-format.md ("tensorboard/").
import type { Histogram, MetricsRecord } from '../records';
import type { TbEvent, TbHistogram, TbValue } from './events';

/** Our 32 equal-width bins over [min, max] as TensorBoard buckets; null when the bounds were not finite. */
export function tbHistogram(h: Histogram): TbHistogram | null {
  if (h.min === null || h.max === null) return null;
  const n = h.counts.length;
  const width = (h.max - h.min) / n;
  const bucketLimits = h.counts.map((_, i) => (i === n - 1 ? h.max! : h.min! + (i + 1) * width));
  // the record keeps only the bins: the sums are those of the bin centres
  let num = 0;
  let sum = 0;
  let sumSquares = 0;
  h.counts.forEach((c, i) => {
    const centre = h.min! + (i + 0.5) * width;
    num += c;
    sum += c * centre;
    sumSquares += c * centre * centre;
  });
  return { min: h.min, max: h.max, num, sum, sumSquares, bucketLimits, buckets: [...h.counts] };
}

class Values {
  readonly list: TbValue[] = [];
  /** A measured value; null and non-finite ones (JSON's stand-in for NaN and ∞) are left out. */
  scalar(tag: string, v: number | null | undefined): void {
    if (typeof v === 'number' && Number.isFinite(v)) this.list.push({ tag, scalar: v });
  }
  histogram(tag: string, h: Histogram | undefined): void {
    const t = h && tbHistogram(h);
    if (t) this.list.push({ tag, histogram: t });
  }
}

/**
 * Which TensorBoard run (a folder under the run's `tensorboard/`) an event belongs to: '' for the training itself,
 * `lr_search` for the trials of a learning-rate search.
 */
export type TbStream = '' | 'lr_search';
export const MAIN_STREAM: TbStream = '';
export const LR_SEARCH_STREAM: TbStream = 'lr_search';

/**
 * The TensorBoard events of one metrics record, with the stream each goes to (none for kinds with nothing to plot:
 * warnings, divergence).
 */
export function metricsRecordEvents(r: MetricsRecord): Array<{ stream: TbStream; event: TbEvent }> {
  const wallTime = Date.parse(r.time) / 1000;
  const v = new Values();
  let step = r.step;
  let stream: TbStream = MAIN_STREAM;
  switch (r.kind) {
    case 'step':
      v.scalar('train/objective', r.loss);
      v.scalar('train/lr', r.lr);
      v.scalar('train/samples_per_second', r.samplesPerSecond);
      break;
    case 'eval':
      v.scalar(`${r.split}/u_loss`, r.u_loss);
      v.scalar(`${r.split}/acc1`, r.acc1);
      v.scalar(`${r.split}/acc_e`, r.acc_e);
      v.scalar(`${r.split}/entropy`, r.entropy);
      break;
    case 'epoch':
      v.scalar('epoch/objective', r.loss);
      v.scalar('epoch/seconds', r.seconds);
      break;
    case 'lr-trial':
      // every trial runs before step 0: the trial number is the step axis of the search, in a TensorBoard run of
      // its own (a resume's restart marker must not drop trials as if they were training steps)
      step = r.trial;
      stream = LR_SEARCH_STREAM;
      v.scalar('lr_search/log10lr', r.log10lr);
      v.scalar('lr_search/objective', r.objective);
      break;
    case 'lr-chosen':
      v.scalar('lr_search/chosen_lr', r.lr);
      break;
    case 'layerStats':
      for (const l of r.layers) {
        const at = `layers/${l.name}`;
        v.scalar(`${at}/weight_norm`, l.weightNorm);
        v.scalar(`${at}/grad_norm`, l.gradNorm);
        v.scalar(`${at}/firing_rate`, l.firingRate);
        v.scalar(`${at}/entropy`, l.entropy);
        v.scalar(`${at}/pre_mean`, l.preMean);
        v.scalar(`${at}/pre_std`, l.preStd);
        v.scalar(`${at}/saturated`, l.saturated);
        v.histogram(`${at}/weights`, l.weightHist);
        v.histogram(`${at}/pre_activations`, l.preHist);
        v.histogram(`${at}/firing_rates`, l.firingHist);
      }
      break;
    case 'diagnostics':
      for (const e of r.estimators) {
        for (const l of e.layers) {
          const at = `diagnostics/${l.name}/${e.estimator}`;
          r.M.forEach((m, i) => {
            v.scalar(`${at}/cos_M${m}`, l.cos[i]);
            v.scalar(`${at}/rmse_M${m}`, l.rmse[i]);
          });
          v.scalar(`${at}/variance`, l.variance);
          v.scalar(`${at}/snr`, l.snr);
          v.scalar(`${at}/bias`, l.bias);
          v.scalar(`${at}/bias_squared`, l.biasSquared);
        }
      }
      break;
    case 'auto':
      r.layers.forEach((layer, li) =>
        r.candidates.forEach((c, ci) => v.scalar(`auto/${layer}/mse/${c}`, r.mse[li]?.[ci])),
      );
      break;
    case 'resume':
      // the records after step S are recomputed: TensorBoard drops what it has from step S + 1 on
      return [{ stream: MAIN_STREAM, event: { wallTime, step: r.step + 1, values: [], restart: true } }];
    case 'diverged':
    case 'warning':
      return [];
  }
  return v.list.length ? [{ stream, event: { wallTime, step, values: v.list } }] : [];
}
