// `estimator: auto` (docs/math.md §3.9): every diagnostics pass measures, per layer, each candidate's mean squared
// error against the reference for the training batch (squared bias + variance scaled to the batch) and its cost per
// step; each layer then trains with the candidate of least MSE × cost^costWeight, a new choice held for
// `stickyPasses` passes. A step runs each chosen candidate once (same noise stream, in candidate order) and takes
// each layer's gradient from its own choice.
import type { Network } from '../model/network';
import type { Rng } from '../rng';
import {
  createEstimator,
  type Batch,
  type Estimator,
  type EstimatorState,
  type GradientEstimate,
  type TrainingEstimatorName,
} from '../estimators';
import type { AutoSpec } from '../spec/types';
import type { DiagnosticsPlan, DiagnosticsRecord } from './monitor';

export const AUTO_DEFAULTS = {
  candidates: ['psa', 'dste', 'arm'] as TrainingEstimatorName[],
  costWeight: 1,
  stickyPasses: 3,
};

/** Steps between diagnostics passes of an auto run whose file sets no `diagnostics.interval`. */
export const AUTO_DIAGNOSTICS_INTERVAL = 100;

export type ResolvedAuto = Required<AutoSpec>;

export function resolveAuto(a: AutoSpec | undefined): ResolvedAuto {
  return {
    candidates: [...(a?.candidates ?? AUTO_DEFAULTS.candidates)],
    costWeight: a?.costWeight ?? AUTO_DEFAULTS.costWeight,
    stickyPasses: a?.stickyPasses ?? AUTO_DEFAULTS.stickyPasses,
  };
}

/** What one decision saw and chose: the fields of an `auto` record (src/engine/runs/records.ts). */
export interface AutoDecision {
  layers: string[];
  candidates: string[];
  /** Seconds per step of each candidate on the diagnostics batch, as used (measured at the run's first pass). */
  costs: number[];
  /** Per layer, per candidate: relative MSE (‖·‖² / ‖reference‖²) of one training step's gradient. */
  mse: (number | null)[][];
  /** Per layer: the candidate it trains with from now on. */
  choice: string[];
}

const REFERENCE_ESTIMATORS = ['local-expectation', 'reinforce-loo'] as const;

/**
 * Relative MSE of one step's gradient for a batch of `rows` examples, from a diagnostics layer entry measured on
 * `diagnosticRows` examples with `draws` draws: the squared bias (noise-corrected, at least 0) plus the variance of
 * one draw scaled from the diagnostics batch to the training batch (the noise of the examples is independent).
 */
export function stepMse(
  l: { rmse: (number | null)[]; bias: number | null; biasSquared?: number | null },
  draws: number,
  diagnosticRows: number,
  rows: number,
): number | null {
  const rmse1 = l.rmse[0];
  if (rmse1 === null || l.bias === null || !Number.isFinite(rmse1)) return null;
  // mean over draws of ‖g_d − ref‖² = ‖mean − ref‖² + (D − 1)/D · variance  (all relative to ‖ref‖²)
  const variance = (Math.max(0, rmse1 * rmse1 - l.bias * l.bias) * draws) / Math.max(1, draws - 1);
  const bias2 = Math.max(0, l.biasSquared ?? l.bias * l.bias);
  return bias2 + (variance * diagnosticRows) / rows;
}

export class AutoEstimator {
  readonly candidates: Estimator[];
  /** Per layer (hidden layers, then the output layer): index into candidates. */
  choice: number[];
  /** Per layer: passes left before its choice may change. */
  held: number[];
  costs: number[] | null = null;
  plan: DiagnosticsPlan | null = null;

  constructor(
    readonly auto: ResolvedAuto,
    layerCount: number,
  ) {
    // as the diagnostics measure them (REINFORCE with its leave-one-out baseline)
    this.candidates = auto.candidates.map((name) => createEstimator(name, { baseline: 'loo' }));
    this.choice = new Array<number>(layerCount).fill(0);
    this.held = new Array<number>(layerCount).fill(0);
  }

  get decided(): boolean {
    return this.costs !== null;
  }

  estimate(net: Network, batch: Batch, rng: Rng): GradientEstimate {
    const used = [...new Set(this.choice)].sort((a, b) => a - b);
    const estimates = new Map<number, GradientEstimate>();
    for (const c of used) estimates.set(c, this.candidates[c].estimate(net, batch, rng));
    const layers = this.choice.map((c, k) => estimates.get(c)!.layers[k]);
    const loss = estimates.get(this.choice[this.choice.length - 1])!.loss;
    // what no layer takes is not returned: free it now rather than at the caller's tidy
    for (const e of estimates.values()) {
      if (e.loss !== loss) e.loss.dispose();
      for (const l of e.layers)
        if (!layers.includes(l)) {
          l.weight.dispose();
          l.bias.dispose();
        }
    }
    return { loss, layers };
  }

  /** A new decision from a diagnostics pass whose estimators include every candidate. */
  update(r: DiagnosticsRecord, diagnosticRows: number, trainRows: number): AutoDecision {
    const entries = this.auto.candidates.map((name) => {
      const e = r.estimators.find((x) => x.estimator === name);
      if (!e) throw new Error(`estimator auto: the diagnostics pass did not measure candidate "${name}"`);
      return e;
    });
    if (this.costs === null) {
      this.costs = entries.map((e) => Math.max(e.secondsPerDraw, 1e-9));
      this.plan = {
        draws: r.draws,
        referenceDraws: r.referenceDraws,
        ...(r.referenceEstimator ? { referenceEstimator: r.referenceEstimator } : {}),
      };
    }
    const costs = this.costs;
    const mse = r.layers.map((_, k) => entries.map((e) => stepMse(e.layers[k], r.draws, diagnosticRows, trainRows)));
    mse.forEach((perCandidate, k) => {
      if (this.held[k] > 0) {
        this.held[k]--;
        return;
      }
      let best = this.choice[k];
      let bestScore = Infinity;
      perCandidate.forEach((m, c) => {
        if (m === null) return;
        const score = m * costs[c] ** this.auto.costWeight;
        if (score < bestScore) {
          bestScore = score;
          best = c;
        }
      });
      if (best !== this.choice[k]) {
        this.choice[k] = best;
        this.held[k] = this.auto.stickyPasses;
      }
    });
    return {
      layers: r.layers,
      candidates: this.auto.candidates,
      costs: [...costs],
      mse,
      choice: this.choice.map((c) => this.auto.candidates[c]),
    };
  }

  /** Choice, hold counters, the fixed plan and costs, and each candidate's own state, as flat JSON numbers. */
  state(): EstimatorState {
    const out: EstimatorState = { choice: [...this.choice], held: [...this.held] };
    if (this.costs && this.plan) {
      out.costs = [...this.costs];
      out.plan = [
        this.plan.draws,
        this.plan.referenceDraws,
        this.plan.referenceEstimator ? REFERENCE_ESTIMATORS.indexOf(this.plan.referenceEstimator) : -1,
      ];
    }
    this.candidates.forEach((e, c) => {
      for (const [key, v] of Object.entries(e.state?.() ?? {})) out[`${c}.${key}`] = v;
    });
    return out;
  }

  restore(s: EstimatorState): void {
    const nums = (v: number | number[] | undefined): number[] => (Array.isArray(v) ? v : []);
    if (Array.isArray(s.choice)) this.choice = [...s.choice];
    if (Array.isArray(s.held)) this.held = [...s.held];
    const plan = nums(s.plan);
    if (Array.isArray(s.costs) && plan.length === 3) {
      this.costs = [...s.costs];
      this.plan = {
        draws: plan[0],
        referenceDraws: plan[1],
        ...(plan[2] >= 0 ? { referenceEstimator: REFERENCE_ESTIMATORS[plan[2]] } : {}),
      };
    }
    this.candidates.forEach((e, c) => {
      const own: EstimatorState = {};
      for (const [key, v] of Object.entries(s)) if (key.startsWith(`${c}.`)) own[key.slice(`${c}.`.length)] = v;
      if (Object.keys(own).length > 0) e.restore?.(own);
    });
  }
}

/** The estimators a diagnostics pass of an auto run measures: every candidate, then the others asked for. */
export function withCandidates(estimators: readonly string[], auto: ResolvedAuto): TrainingEstimatorName[] {
  return [...new Set([...auto.candidates, ...(estimators as TrainingEstimatorName[])])];
}
