// An experiment report's data as the extension reads it from a workspace (SBN: Open Experiment Report): the result
// JSON that `sbn experiment gradacc | train` writes beside report.html (gradacc.json, train.json), checked field by
// field before anything is shown. The extension never shows the report.html file itself: a file in a cloned
// repository is untrusted, and only this data, drawn by the extension's own page (webview/report.ts), reaches the
// webview. No vscode or Node imports: the unit tests run it as is.
import type { GradaccExperiment, TrainSuiteReport } from '../engine/experiments/types';
import { LR_CRITERIA } from '../engine/runs/records';

export type ExperimentData = GradaccExperiment | TrainSuiteReport;

/** The result files a report folder may hold, by format (src/report/index.ts jsonName writes them). */
export const REPORT_JSON_NAMES = ['gradacc.json', 'train.json'] as const;

export type ParsedReport = { ok: true; data: ExperimentData } | { ok: false; message: string };

/** A field that is not what the report page needs: its path (e.g. `methods[2].label`) and what was expected. */
class BadField extends Error {}

type Json = unknown;

function at(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

function describe(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.length > 40 ? 'a long string' : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return `an ${typeof v}`;
}

function fail(path: string, expected: string, got: Json): never {
  throw new BadField(`${path}: expected ${expected}, got ${describe(got)}`);
}

function object(v: Json, path: string): Record<string, Json> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path || 'the file', 'an object', v);
  return v as Record<string, Json>;
}

function str(o: Record<string, Json>, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string') fail(at(path, key), 'a string', v);
  return v;
}

function num(o: Record<string, Json>, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(at(path, key), 'a number', v);
  return v;
}

function numOrNull(o: Record<string, Json>, key: string, path: string): void {
  if (o[key] !== null) num(o, key, path);
}

function oneOf<T extends string>(o: Record<string, Json>, key: string, path: string, values: readonly T[]): T {
  const v = o[key];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
    fail(at(path, key), `one of ${values.join(', ')}`, v);
  return v as T;
}

function array(o: Record<string, Json>, key: string, path: string): Json[] {
  const v = o[key];
  if (!Array.isArray(v)) fail(at(path, key), 'an array', v);
  return v;
}

/** Numbers, where JSON writes NaN and ±∞ as null (a diverged run's curve). */
function numbers(o: Record<string, Json>, key: string, path: string, nullable = true): void {
  array(o, key, path).forEach((v, i) => {
    if (v === null && nullable) return;
    if (typeof v !== 'number' || !Number.isFinite(v))
      fail(at(at(path, key), i), nullable ? 'a number or null' : 'a number', v);
  });
}

function strings(o: Record<string, Json>, key: string, path: string): void {
  array(o, key, path).forEach((v, i) => {
    if (typeof v !== 'string') fail(at(at(path, key), i), 'a string', v);
  });
}

function environment(v: Json, path: string): void {
  const e = object(v, path);
  for (const k of ['created', 'backend', 'kernels', 'cpu', 'node', 'platform', 'command']) str(e, k, path);
  num(e, 'cpus', path);
}

function version1(o: Record<string, Json>): void {
  if (o.version !== 1) fail('version', '1 (this version of SBN Studio reads report version 1)', o.version);
}

function gradacc(o: Record<string, Json>): GradaccExperiment {
  version1(o);
  environment(o.environment, 'environment');
  num(o, 'draws', '');
  num(o, 'seed', '');
  numbers(o, 'M', '', false);
  array(o, 'checkpoints', '').forEach((cv, ci) => {
    const path = `checkpoints[${ci}]`;
    const c = object(cv, path);
    str(c, 'id', path);
    str(c, 'title', path);
    num(c, 'epoch', path);
    oneOf(c, 'source', path, ['authors', 'recreated']);
    const rp = at(path, 'result');
    const r = object(c.result, rp);
    str(r, 'model', rp);
    for (const k of ['draws', 'seed', 'exactLoss']) num(r, k, rp);
    numbers(r, 'M', rp, false);
    array(r, 'exactNorms', rp).forEach((nv, i) => {
      const p = at(at(rp, 'exactNorms'), i);
      const n = object(nv, p);
      str(n, 'layer', p);
      num(n, 'norm', p);
    });
    let layerCount: number | undefined;
    array(r, 'estimators', rp).forEach((ev, ei) => {
      const p = at(at(rp, 'estimators'), ei);
      const e = object(ev, p);
      str(e, 'label', p);
      str(e, 'estimator', p);
      const layers = array(e, 'layers', p);
      if (layerCount !== undefined && layers.length !== layerCount)
        fail(at(p, 'layers'), `${layerCount} layers (as the first estimator)`, layers);
      layerCount = layers.length;
      layers.forEach((lv, li) => {
        const lp = at(at(p, 'layers'), li);
        const l = object(lv, lp);
        str(l, 'layer', lp);
        for (const k of ['cos', 'cosQ15', 'cosQ85', 'rmse']) numbers(l, k, lp);
      });
    });
    if (c.reference !== undefined) {
      const fp = at(path, 'reference');
      const ref = object(c.reference, fp);
      str(ref, 'checkpoint', fp);
      oneOf(ref, 'kind', fp, ['quantitative', 'qualitative']);
      for (const [label, curves] of Object.entries(object(ref.curves, at(fp, 'curves')))) {
        const cp = at(at(fp, 'curves'), label);
        if (!Array.isArray(curves)) fail(cp, 'an array', curves);
        curves.forEach((cv2, k) => {
          const curve = object(cv2, at(cp, k));
          numbers(curve, 'cos', at(cp, k));
          numbers(curve, 'rmse', at(cp, k));
        });
      }
      for (const [label, devs] of Object.entries(object(ref.deviations, at(fp, 'deviations')))) {
        const dp = at(at(fp, 'deviations'), label);
        if (!Array.isArray(devs)) fail(dp, 'an array', devs);
        devs.forEach((dv, k) => {
          const d = object(dv, at(dp, k));
          for (const key of ['maxCosDeviation', 'maxRmseRelDeviation', 'atMCos', 'atMRmse']) num(d, key, at(dp, k));
        });
      }
    }
    strings(c, 'findings', path);
  });
  if (o.training !== undefined) {
    const t = object(o.training, 'training');
    for (const k of ['epochs', 'lr', 'momentum', 'batchSize', 'seed', 'seconds']) num(t, k, 'training');
    numbers(t, 'loss', 'training');
    for (const [epoch, v] of Object.entries(object(t.exactLoss, 'training.exactLoss'))) {
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(`training.exactLoss.${epoch}`, 'a number', v);
    }
  }
  return o as unknown as GradaccExperiment;
}

const METHOD_STATUSES = ['pending', 'running', 'finished', 'stopped', 'crashed', 'diverged'] as const;

function train(o: Record<string, Json>): TrainSuiteReport {
  version1(o);
  for (const k of ['suite', 'title', 'description', 'model']) str(o, k, '');
  environment(o.environment, 'environment');
  array(o, 'methods', '').forEach((mv, mi) => {
    const path = `methods[${mi}]`;
    const m = object(mv, path);
    str(m, 'method', path);
    str(m, 'label', path);
    oneOf(m, 'status', path, METHOD_STATUSES);
    if (m.runDir !== null) str(m, 'runDir', path);
    if (m.authors !== undefined && typeof m.authors !== 'boolean')
      fail(at(path, 'authors'), 'true or false', m.authors);
    if (m.lrCriterion !== undefined) oneOf(m, 'lrCriterion', path, LR_CRITERIA);
    numOrNull(m, 'lr', path);
    num(m, 'epochs', path);
    numOrNull(m, 'secondsPerEpoch', path);
    array(m, 'lrTrials', path).forEach((tv, ti) => {
      const p = at(at(path, 'lrTrials'), ti);
      const t = object(tv, p);
      numOrNull(t, 'lr', p);
      numOrNull(t, 'objective', p);
      if (typeof t.diverged !== 'boolean') fail(at(p, 'diverged'), 'true or false', t.diverged);
    });
    const cp = at(path, 'curves');
    const curves = object(m.curves, cp);
    for (const split of ['train', 'validation']) {
      const sp = at(cp, split);
      const s = object(curves[split], sp);
      for (const k of ['epoch', 'u_loss', 'acc1', 'acc_e']) numbers(s, k, sp);
    }
    const op = at(cp, 'objective');
    const objective = object(curves.objective, op);
    numbers(objective, 'epoch', op);
    numbers(objective, 'value', op);
    if (m.test !== null) {
      const tp = at(path, 'test');
      const t = object(m.test, tp);
      str(t, 'split', tp);
      numbers(t, 'samples', tp, false);
      numbers(t, 'accuracy', tp);
    }
    if (m.message !== undefined) str(m, 'message', path);
    if (m.seeds !== undefined)
      array(m, 'seeds', path).forEach((rv, ri) => {
        const rp = at(at(path, 'seeds'), ri);
        const r = object(rv, rp);
        num(r, 'seed', rp);
        if (r.runDir !== null) str(r, 'runDir', rp);
        oneOf(r, 'status', rp, METHOD_STATUSES);
        const fp = at(rp, 'final');
        const final = object(r.final, fp);
        for (const k of Object.keys(final)) numOrNull(final, k, fp);
      });
    if (m.spread !== undefined) {
      const sp = at(path, 'spread');
      const spread = object(m.spread, sp);
      for (const [k, v] of Object.entries(spread)) {
        const kp = at(sp, k);
        const s = object(v, kp);
        num(s, 'n', kp);
        numOrNull(s, 'mean', kp);
        numOrNull(s, 'sd', kp);
        if (s.ci95 !== null) numbers(s, 'ci95', kp, false);
      }
    }
    if (m.bands !== undefined) {
      const bp = at(path, 'bands');
      const bands = object(m.bands, bp);
      for (const [k, v] of Object.entries(bands)) {
        const kp = at(bp, k);
        const b = object(v, kp);
        numbers(b, 'x', kp, false);
        for (const key of ['mean', 'lower', 'upper']) numbers(b, key, kp);
        numbers(b, 'n', kp, false);
        const length = (b.x as Json[]).length;
        for (const key of ['mean', 'lower', 'upper', 'n'])
          if ((b[key] as Json[]).length !== length) fail(at(kp, key), `${length} values (one per x)`, b[key]);
      }
    }
  });
  return o as unknown as TrainSuiteReport;
}

/**
 * The report data in a result file's text, checked: every field the report page reads has the type it expects
 * (strings stay strings — the page shows them as text, never as markup). `file` names the file in the message.
 */
export function parseReportData(text: string, file: string): ParsedReport {
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return {
      ok: false,
      message: `${file}: not an SBN experiment report: the file is not valid JSON (${(e as Error).message})`,
    };
  }
  try {
    const o = object(json, '');
    const format = o.format;
    if (format === 'sbn-experiment-gradacc') return { ok: true, data: gradacc(o) };
    if (format === 'sbn-experiment-train') return { ok: true, data: train(o) };
    fail(
      'format',
      '"sbn-experiment-gradacc" or "sbn-experiment-train" (the gradacc.json or train.json that sbn experiment writes)',
      format,
    );
  } catch (e) {
    if (e instanceof BadField)
      return { ok: false, message: `${file}: not a valid SBN experiment report: ${e.message}` };
    throw e;
  }
}

/** The panel's title for a report. */
export function reportTitle(data: ExperimentData): string {
  return data.format === 'sbn-experiment-gradacc'
    ? 'Experiment 1 — gradient accuracy (SBN Studio)'
    : `Experiment 2 — ${data.title} (SBN Studio)`;
}
