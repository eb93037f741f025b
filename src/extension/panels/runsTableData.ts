// The Runs table's data (runsTablePanel.ts): one row per run folder with its status, estimator, tags, every
// hyper-parameter of config.json that differs between the runs shown, the best and final value of each evaluation
// metric, and its training time. No vscode import: test/unit/runsTable.test.ts checks it on run folders it writes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  EVAL_SPLITS,
  METRICS_FILE,
  CONFIG_FILE,
  configFacts,
  effectiveMetrics,
  readConfig,
  readMetrics,
  runLabel,
  type MetricsRecord,
  type RunInfo,
} from '../../engine/runs';
import type { RunsTableColumn, RunsTableRow, RunsTableValue, RunsTableView } from '../../webviewProtocol';

/** A hyper-parameter's value as the table shows it: a number, a text (booleans and lists as JSON), or null. */
export type ConfigLeaf = string | number | null;

/**
 * config.json as `path → value`: objects and lists of objects are followed (`layers.0.units`), a list of plain
 * values is one value (`[784,100]`).
 */
export function flattenConfig(
  v: unknown,
  prefix = '',
  out: Record<string, ConfigLeaf> = {},
): Record<string, ConfigLeaf> {
  const at = (k: string) => (prefix ? `${prefix}.${k}` : k);
  if (Array.isArray(v)) {
    if (v.some((x) => typeof x === 'object' && x !== null)) v.forEach((x, i) => flattenConfig(x, at(String(i)), out));
    else if (prefix) out[prefix] = JSON.stringify(v);
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) flattenConfig(x, at(k), out);
  } else if (prefix) {
    out[prefix] =
      typeof v === 'number'
        ? Number.isFinite(v)
          ? v
          : null
        : typeof v === 'string'
          ? v
          : v === undefined
            ? null
            : JSON.stringify(v);
  }
  return out;
}

/** The configuration paths whose values are not the same in every run (missing in some counts as differing). */
export function differingKeys(configs: readonly Record<string, ConfigLeaf>[]): string[] {
  if (configs.length < 2) return [];
  const keys = new Set(configs.flatMap((c) => Object.keys(c)));
  return [...keys]
    .filter((k) => {
      const first = JSON.stringify(configs[0][k] ?? null) + String(k in configs[0]);
      return configs.some((c) => JSON.stringify(c[k] ?? null) + String(k in c) !== first);
    })
    .sort();
}

/** Evaluation metrics the table shows, and which way is better. */
export const TABLE_METRICS = [
  { metric: 'acc_e', label: 'acc_e', better: 'max' },
  { metric: 'acc1', label: 'acc1', better: 'max' },
  { metric: 'u_loss', label: 'u_loss', better: 'min' },
] as const;

/** What the table takes from metrics.jsonl. */
export interface MetricFacts {
  /** `<split>.<metric>` → best over the run and last value. */
  evals: Record<string, { best: number | null; final: number | null }>;
  /** The last training objective (step records' `loss`). */
  finalLoss: number | null;
  steps: number | null;
  epoch: number | null;
  /** Seconds of training wall time (summed over every process that wrote the run). */
  elapsed: number | null;
}

/** The table's facts from a run's records (a resumed run's abandoned records left out first). */
export function metricFacts(records: readonly MetricsRecord[]): MetricFacts {
  const facts: MetricFacts = { evals: {}, finalLoss: null, steps: null, epoch: null, elapsed: null };
  for (const r of effectiveMetrics(records.slice())) {
    facts.steps = r.step;
    facts.elapsed = r.elapsed;
    if ('epoch' in r && typeof r.epoch === 'number') facts.epoch = r.epoch;
    if (r.kind === 'step') facts.finalLoss = r.loss;
    if (r.kind !== 'eval') continue;
    for (const m of TABLE_METRICS) {
      const v = r[m.metric];
      const key = `${r.split}.${m.metric}`;
      const f = (facts.evals[key] ??= { best: null, final: null });
      f.final = v;
      if (v !== null && (f.best === null || (m.better === 'max' ? v > f.best : v < f.best))) f.best = v;
    }
  }
  return facts;
}

/** One run as the table reads it. */
export interface RunsTableSource {
  info: RunInfo;
  /** The sweep the run belongs to (its folder's name), if any. */
  sweep?: string;
  config: Record<string, ConfigLeaf>;
  metrics: MetricFacts;
  /** What could not be read (config.json, metrics.jsonl). */
  problems: string[];
}

/** Hyper-parameter columns shown at first (the rest are one click away in the column chooser). */
const SHOWN_HYPERPARAMETERS = 8;
/** Paths that have a column of their own. */
const OWN_COLUMNS = new Set(['train.estimator', 'model.name']);

/** The table for these runs: its columns (computed from what the runs hold) and one row per run. */
export function runsTableView(sources: readonly RunsTableSource[]): RunsTableView {
  const hp = differingKeys(sources.map((s) => s.config)).filter((k) => !OWN_COLUMNS.has(k));
  const columns: RunsTableColumn[] = [
    { id: 'name', label: 'Name', kind: 'text', section: 'run', shown: true },
    { id: 'status', label: 'Status', kind: 'status', section: 'run', shown: true },
    { id: 'estimator', label: 'Estimator', kind: 'text', section: 'run', shown: true },
    { id: 'tags', label: 'Tags', kind: 'tags', section: 'run', shown: true },
  ];
  if (sources.some((s) => s.sweep))
    columns.push({ id: 'sweep', label: 'Sweep', kind: 'text', section: 'run', shown: true });
  columns.push(
    { id: 'model', label: 'Model', kind: 'text', section: 'run', shown: false },
    { id: 'created', label: 'Created', kind: 'time', section: 'run', shown: true },
    {
      id: 'duration',
      label: 'Duration',
      kind: 'duration',
      section: 'run',
      shown: true,
      description: 'training wall time, summed over every process that wrote the run',
    },
    { id: 'steps', label: 'Steps', kind: 'number', section: 'run', shown: false },
    { id: 'epoch', label: 'Epoch', kind: 'number', section: 'run', shown: true },
    { id: 'notes', label: 'Notes', kind: 'text', section: 'run', shown: false },
    ...hp.map((k, i): RunsTableColumn => ({
      id: `hp:${k}`,
      label: k,
      kind: sources.every((s) => typeof s.config[k] === 'number' || s.config[k] === undefined) ? 'number' : 'text',
      section: 'hyperparameter',
      shown: i < SHOWN_HYPERPARAMETERS,
      description: `config.json ${k}: differs between the runs shown`,
    })),
  );
  // metric columns: only those some run has a value for
  const shownMetrics = new Set(['validation.acc_e.best', 'validation.acc_e.final', 'validation.u_loss.final']);
  for (const split of EVAL_SPLITS)
    for (const m of TABLE_METRICS)
      for (const which of ['best', 'final'] as const) {
        const key = `${split}.${m.metric}`;
        if (!sources.some((s) => s.metrics.evals[key]?.[which] != null)) continue;
        columns.push({
          id: `metric:${key}.${which}`,
          label: `${which} ${split} ${m.label}`,
          kind: 'number',
          section: 'metric',
          shown: shownMetrics.has(`${key}.${which}`),
          better: m.better,
          description:
            which === 'best'
              ? `the ${m.better === 'max' ? 'highest' : 'lowest'} ${m.label} of the ${split} evaluations`
              : `${m.label} of the last ${split} evaluation`,
        });
      }
  if (sources.some((s) => s.metrics.finalLoss !== null))
    columns.push({
      id: 'metric:objective.final',
      label: 'final objective',
      kind: 'number',
      section: 'metric',
      shown: true,
      better: 'min',
      description: "the estimator's training objective at the last log point",
    });

  const rows = sources.map((s): RunsTableRow => {
    const { info, metrics } = s;
    const values: Record<string, RunsTableValue> = {
      status: info.status ?? 'unknown',
      estimator: info.estimator ?? null,
      tags: info.meta?.tags ?? [],
      sweep: s.sweep ?? null,
      model: typeof s.config['model.name'] === 'string' ? s.config['model.name'] : null,
      created: info.created ? Date.parse(info.created) : null,
      duration: metrics.elapsed,
      steps: metrics.steps,
      epoch: metrics.epoch,
      notes: info.meta?.notes ?? '',
      'metric:objective.final': metrics.finalLoss,
    };
    for (const k of hp) values[`hp:${k}`] = s.config[k] ?? null;
    for (const [key, f] of Object.entries(metrics.evals)) {
      values[`metric:${key}.best`] = f.best;
      values[`metric:${key}.final`] = f.final;
    }
    const problems = [
      ...s.problems,
      ...(info.reason ? [info.reason] : []),
      ...(info.metaProblem ? [info.metaProblem] : []),
    ];
    return {
      runDir: info.dir,
      label: runLabel(info),
      folder: path.basename(info.dir),
      status: info.status ?? 'unknown',
      notes: info.meta?.notes ?? '',
      values,
      ...(problems.length ? { problem: problems.join('; ') } : {}),
    };
  });
  const tags = [...new Set(rows.flatMap((r) => r.values.tags as string[]))].sort((a, b) => a.localeCompare(b));
  return { columns, rows, tags };
}

function stamp(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'none';
  }
}

/**
 * Reads runs for the table, keeping each run's config and metric facts until its config.json or metrics.jsonl
 * changes (size or modification time): a refresh rereads only the runs that moved.
 */
export class RunsTableReader {
  private readonly cache = new Map<
    string,
    { stamp: string; config: Record<string, ConfigLeaf>; metrics: MetricFacts; problems: string[] }
  >();

  source(info: RunInfo, sweep?: string): RunsTableSource {
    const key = path.resolve(info.dir);
    const now = `${stamp(path.join(info.dir, CONFIG_FILE))}|${stamp(path.join(info.dir, METRICS_FILE))}`;
    let hit = this.cache.get(key);
    if (!hit || hit.stamp !== now) {
      const problems: string[] = [];
      let config: Record<string, ConfigLeaf> = {};
      let metrics = metricFacts([]);
      try {
        const raw = readConfig(info.dir);
        config = flattenConfig(raw);
        // older configurations kept the estimator at the top level: one authority for where it is (configFacts)
        const estimator = configFacts(raw).train?.estimator;
        if (estimator !== undefined) config['train.estimator'] = estimator;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') problems.push((e as Error).message);
      }
      try {
        metrics = metricFacts(readMetrics(info.dir, { tolerant: true }).records);
      } catch (e) {
        problems.push((e as Error).message);
      }
      hit = { stamp: now, config, metrics, problems };
      this.cache.set(key, hit);
    }
    return { info, ...(sweep ? { sweep } : {}), config: hit.config, metrics: hit.metrics, problems: hit.problems };
  }

  /** Forget runs not in `dirs` (deleted, or no longer shown). */
  keepOnly(dirs: readonly string[]): void {
    const keep = new Set(dirs.map((d) => path.resolve(d)));
    for (const k of [...this.cache.keys()]) if (!keep.has(k)) this.cache.delete(k);
  }
}
