// Hover text of a model file, from its analysis (no vscode): a layer's kind, input → output shape, parameters and
// binary units; the same for `output`; the model's totals on the top-level `name`; in YAML files also the schema's
// description of the key under the cursor.
import { count, type LayerInfo, type ModelAnalysis, type ModelTotals, type Position, type Range } from './analysis';
import { markdownText } from '../untrustedText';

function inside(range: Range, p: Position): boolean {
  const after = p.line > range.start.line || (p.line === range.start.line && p.character >= range.start.character);
  const before = p.line < range.end.line || (p.line === range.end.line && p.character <= range.end.character);
  return after && before;
}

const shape = (s: readonly number[]): string => `\`[${s.join(', ')}]\``;
const plural = (n: number, word: string): string => `${count(n)} ${word}${n === 1 ? '' : 's'}`;

/** Markdown for one layer. */
export function layerHover(layer: LayerInfo): string {
  const g = layer.geometry;
  // a layer's name comes from the model file: shown as typed, never as Markdown (links, remote images); the
  // description is ours (kind and numbers)
  const title = g.type === 'output' ? '**output**' : `**${markdownText(g.name)}** (layers[${g.index}])`;
  return [
    `${title} · ${layer.description}`,
    `${shape(g.inShape)} → ${shape(g.outShape)}`,
    `${plural(g.params, 'parameter')} · ${plural(g.binaryUnits, 'binary unit')}`,
  ].join('\n\n');
}

/** Markdown for the whole model. */
export function totalsHover(t: ModelTotals): string {
  return [
    `**${t.name ? markdownText(t.name) : 'model'}** · ${plural(t.hiddenLayers, 'hidden layer')}`,
    `${shape(t.inShape)} → ${shape(t.outShape)}`,
    `${plural(t.params, 'parameter')} · ${plural(t.binaryUnits, 'binary unit')}`,
  ].join('\n\n');
}

/** What our numbers say at a position: the model's totals on `name`, a layer's shapes and counts inside it. */
function shapesAt(analysis: ModelAnalysis, p: Position): { range: Range; markdown: string } | undefined {
  if (analysis.nameRange && analysis.totals && inside(analysis.nameRange, p)) {
    return { range: analysis.nameRange, markdown: totalsHover(analysis.totals) };
  }
  const layer = analysis.layers?.find((l) => inside(l.range, p));
  return layer && { range: layer.range, markdown: layerHover(layer) };
}

/**
 * The range the hover applies to and its markdown, or undefined where there is nothing to show. In YAML files the
 * key's schema description comes first; in JSON files VS Code's JSON service shows that same description itself.
 */
export function hoverInfoAt(
  analysis: ModelAnalysis,
  line: number,
  character: number,
): { range: Range; markdown: string } | undefined {
  const p = { line, character };
  const shapes = shapesAt(analysis, p);
  const field = analysis.format === 'yaml' ? analysis.fields?.filter((f) => inside(f.range, p)).at(-1) : undefined;
  if (!field) return shapes;
  if (!shapes) return field;
  return { range: field.range, markdown: `${field.markdown}\n\n---\n\n${shapes.markdown}` };
}

/** Markdown for the hover at a 0-based position, or undefined. */
export function hoverAt(analysis: ModelAnalysis, line: number, character: number): string | undefined {
  return hoverInfoAt(analysis, line, character)?.markdown;
}
