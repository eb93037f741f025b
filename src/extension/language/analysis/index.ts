// Editor analysis of a model file (*.sbn.json / *.sbn.yaml), independent of vscode so that node:test can run it:
// the parser's problems, with the same messages and fixes in both formats (in JSON not the syntax ones: VS Code's
// JSON language service reports those; the schema it gets, jsonEditorSchema.ts, reports nothing of its own),
// problems that depend on this machine (data sets that are not installed, data paths that do not exist), notes
// (exact enumeration impossible), quick fixes, the layer geometry that hovers and code lenses show, and the schema's
// descriptions of the keys written (fields). Paths are resolved relative to the model file and only probed for
// existence, never read. analyzeModel never throws. One module per part: parserProblems (with the quick fixes),
// data, exact, geometry, fields; context holds what they share.
import { modelFileFormat, parseModelText, type ModelFileFormat } from '../../../engine/spec/parse';
import { readJson } from '../../../engine/spec/readJson';
import { readYaml } from '../../../engine/spec/readYaml';
import type { ReadResult } from '../../../engine/spec/sourceMap';
import { locate, startOfFile, type Context } from './context';
import { checkData, checkDataFit } from './data';
import { checkExact } from './exact';
import { fieldsOf } from './fields';
import { geometryOf } from './geometry';
import { LineMap } from './lineMap';
import { fromSpecError } from './parserProblems';
import type { AnalysisEnv, ModelAnalysis, Problem } from './types';

export type * from './types';
export { parsePath } from './context';
export { count } from './geometry';
export { nearestInRange, nearestKernel } from './parserProblems';

export function analyzeModel(text: string, fileName: string, env: AnalysisEnv): ModelAnalysis {
  let format: ModelFileFormat = 'yaml';
  try {
    const src = typeof text === 'string' ? text : String(text);
    const file = typeof fileName === 'string' ? fileName : '';
    format = modelFileFormat(file, src);
    return analyze(src, file, format, env);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    const message = `SBN Studio could not check this file (internal error: ${reason})`;
    return {
      format,
      problems: [{ range: startOfFile(), severity: 'error', message, code: 'internal', path: '' }],
      deferred: [],
    };
  }
}

function analyze(raw: string, file: string, format: ModelFileFormat, env: AnalysisEnv): ModelAnalysis {
  // A BOM becomes a space: the parser would drop it and shift every offset on line 0 by one.
  const text = raw.replace(/^\uFEFF/, ' ');
  const lines = new LineMap(text);
  const parsed = parseModelText(text, file);
  let read: ReadResult | undefined;
  try {
    read = text.trim() === '' ? undefined : format === 'json' ? readJson(text) : readYaml(text);
  } catch {
    read = undefined; // parseModelText has reported it
  }
  const ctx: Context = {
    text,
    file,
    format,
    lines,
    env,
    value: read && read.syntaxErrors.length === 0 ? read.value : undefined,
    map: read?.map,
  };

  const problems: Problem[] = [];
  const deferred: Problem[] = [];
  for (const e of parsed.ok ? [] : parsed.errors) {
    const problem = fromSpecError(e, ctx);
    if (format === 'json' && e.kind === 'syntax') deferred.push(problem);
    else problems.push(problem);
  }

  const analysis: ModelAnalysis = { format, problems, deferred };
  if (parsed.ok) analysis.model = parsed.model;
  if (ctx.value !== undefined && ctx.map) {
    problems.push(...checkData(ctx));
    Object.assign(analysis, geometryOf(ctx, parsed.ok ? parsed.model : undefined));
    analysis.fields = fieldsOf(ctx);
    const name = locate(ctx, ['name']);
    if (name) analysis.nameRange = name;
    if (parsed.ok)
      problems.push(...checkDataFit(ctx, parsed.model), ...checkExact(ctx, parsed.model, analysis.layers ?? []));
  }
  problems.sort(byPosition);
  deferred.sort(byPosition);
  return analysis;
}

function byPosition(a: Problem, b: Problem): number {
  return a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character;
}
