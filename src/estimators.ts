// The gradient estimators: the one list of their names, display labels, families, bias and chart colour. Everything
// else derives from it — the engine's registry (src/engine/estimators), the model-file checks (src/engine/spec), the
// CLI's validation and help, the extension's commands, the panels' and reports' colours and labels (webview/*.ts);
// schemas/sbn-model.schema.json and package.json's taskDefinitions repeat the names as JSON and
// test/unit/estimatorNames.test.ts fails when they differ. Plain data, no imports: the engine, the extension host and
// the webview bundles all import it.

export const ESTIMATOR_NAMES = [
  'exact',
  'psa',
  'dste',
  'hard-st',
  'reinforce',
  'arm',
  'concrete',
  'tanh',
  'adf',
  'local-reparam',
  'disarm',
  'muprop',
  'local-expectation',
  'gumbel-st',
  'gumbel-rao',
  'reinmax',
] as const;
export type EstimatorName = (typeof ESTIMATOR_NAMES)[number];
/** What a model trains with: every estimator but exact enumeration. */
export type TrainingEstimatorName = Exclude<EstimatorName, 'exact'>;

/** A colour of VS Code's chart palette (`--vscode-charts-<name>`, with fallbacks outside VS Code). */
export type ChartColor =
  | 'blue'
  | 'orange'
  | 'green'
  | 'purple'
  | 'red'
  | 'yellow'
  | 'cyan'
  | 'brown'
  | 'pink'
  | 'gray'
  | 'olive'
  | 'teal'
  | 'indigo'
  | 'gold'
  | 'magenta'
  | 'salmon'
  | 'foreground';

export interface EstimatorInfo {
  /** As model files, tasks and the CLI spell it. */
  name: EstimatorName;
  /** In charts, tables and reports (the paper's names). */
  label: string;
  family:
    | 'exact'
    | 'path-sample-analytic'
    | 'local-expectation'
    | 'straight-through'
    | 'score-function'
    | 'relaxation'
    | 'moment-propagation';
  /** Unbiased for the gradient of the expected loss (exact, and the score-function estimators). */
  unbiased: boolean;
  /**
   * The same in every panel and report; the authors' colours where their figures have the method (docs/math.md
   * §3.6).
   */
  color: ChartColor;
}

export const ESTIMATORS: Record<EstimatorName, EstimatorInfo> = {
  exact: { name: 'exact', label: 'exact', family: 'exact', unbiased: true, color: 'foreground' },
  psa: { name: 'psa', label: 'PSA', family: 'path-sample-analytic', unbiased: false, color: 'purple' },
  dste: { name: 'dste', label: 'ST (DSTE)', family: 'straight-through', unbiased: false, color: 'red' },
  'hard-st': { name: 'hard-st', label: 'Hard ST', family: 'straight-through', unbiased: false, color: 'gray' },
  reinforce: { name: 'reinforce', label: 'REINFORCE', family: 'score-function', unbiased: true, color: 'orange' },
  arm: { name: 'arm', label: 'ARM', family: 'score-function', unbiased: true, color: 'brown' },
  concrete: { name: 'concrete', label: 'Concrete', family: 'relaxation', unbiased: false, color: 'green' },
  tanh: { name: 'tanh', label: 'tanh', family: 'relaxation', unbiased: false, color: 'blue' },
  adf: { name: 'adf', label: 'ADF', family: 'moment-propagation', unbiased: false, color: 'yellow' },
  'local-reparam': {
    name: 'local-reparam',
    label: 'LocalReparam',
    family: 'moment-propagation',
    unbiased: false,
    color: 'pink',
  },
  disarm: { name: 'disarm', label: 'DisARM', family: 'score-function', unbiased: true, color: 'olive' },
  muprop: { name: 'muprop', label: 'MuProp', family: 'score-function', unbiased: true, color: 'teal' },
  'local-expectation': {
    name: 'local-expectation',
    label: 'Local expectation',
    family: 'local-expectation',
    unbiased: true,
    color: 'indigo',
  },
  'gumbel-st': { name: 'gumbel-st', label: 'ST Gumbel', family: 'straight-through', unbiased: false, color: 'gold' },
  'gumbel-rao': {
    name: 'gumbel-rao',
    label: 'Gumbel-Rao',
    family: 'straight-through',
    unbiased: false,
    color: 'magenta',
  },
  reinmax: { name: 'reinmax', label: 'ReinMax', family: 'straight-through', unbiased: false, color: 'salmon' },
};

export const TRAINING_ESTIMATORS: readonly TrainingEstimatorName[] = ESTIMATOR_NAMES.filter(
  (n): n is TrainingEstimatorName => n !== 'exact',
);

/**
 * What `train.estimator` may name (model files, `sbn train --estimator`, the `sbn` task): a training estimator, or
 * `auto`, which chooses among them per layer from the gradient diagnostics (docs/math.md §3.9).
 */
export const TRAIN_ESTIMATOR_CHOICES: readonly (TrainingEstimatorName | 'auto')[] = [...TRAINING_ESTIMATORS, 'auto'];

/**
 * The estimators a single-sample gradient comparison draws (SBN: Compare Estimators): every sampling estimator — not
 * exact enumeration (the reference) nor the deterministic moment-propagation ones, nor local expectation, which costs
 * about one downstream pass per hidden unit per draw (hundreds of draws of it would take minutes on an MLP).
 */
export const SAMPLING_ESTIMATORS: readonly TrainingEstimatorName[] = TRAINING_ESTIMATORS.filter(
  (n) => ESTIMATORS[n].family !== 'moment-propagation' && ESTIMATORS[n].family !== 'local-expectation',
);

export function isEstimatorName(name: string): name is EstimatorName {
  return (ESTIMATOR_NAMES as readonly string[]).includes(name);
}

/** "a, b, c or d" */
export function estimatorList(names: readonly string[] = ESTIMATOR_NAMES, last = 'or'): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} ${last} ${names[names.length - 1]}`;
}

/** Concrete τ=0.1 against τ=1 in the same figure: the smaller temperature gets its own colour. */
const VARIANT_COLORS: Record<string, ChartColor> = { 'concrete(tau=0.1)': 'cyan' };

/**
 * Label and colour of a series key: an estimator name, or a variant written `name(param=value)` as the
 * gradient-accuracy experiment labels them (`concrete(tau=0.1)` → "Concrete τ=0.1"). Unknown keys keep their text, in
 * the foreground colour.
 */
export function estimatorStyle(key: string): { label: string; color: ChartColor } {
  const m = /^([a-z-]+)(?:\((\w+)=([^)]*)\))?$/.exec(key);
  const info = m && isEstimatorName(m[1]) ? ESTIMATORS[m[1]] : undefined;
  if (!m || !info) return { label: key, color: 'foreground' };
  if (m[2] === undefined) return { label: info.label, color: info.color };
  const param = m[2] === 'tau' ? 'τ' : m[2];
  return { label: `${info.label} ${param}=${m[3]}`, color: VARIANT_COLORS[key] ?? info.color };
}
