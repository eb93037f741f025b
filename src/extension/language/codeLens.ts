// Code lenses of a model file, from its analysis (no vscode): ▶ Train, Compare estimators and the model's totals,
// on the line of the top-level `name` (line 0 when there is none).
import { canTrain } from '../../engine/spec/model';
import { count, type ModelAnalysis, type Range } from './analysis';

export type LensCommand = 'sbn.trainModel' | 'sbn.compareEstimators';

export interface LensSpec {
  range: Range;
  title: string;
  /** Absent: the lens is a label (the totals). The command's argument is the document's uri. */
  command?: LensCommand;
  tooltip?: string;
}

export const TRAIN_TITLE = '▶ Train';
export const COMPARE_TITLE = 'Compare estimators';

export function totalsTitle(params: number, binaryUnits: number): string {
  return `${count(params)} params · ${count(binaryUnits)} binary units`;
}

/**
 * The lenses of a model file. `commands: false` (Restricted Mode, where training is not allowed) leaves out Train
 * and Compare estimators, and Train is offered only to a file with a `train` section (canTrain); the totals appear
 * when every layer can be inferred.
 */
export function codeLenses(analysis: ModelAnalysis, options: { commands?: boolean } = {}): LensSpec[] {
  const line = analysis.nameRange?.start.line ?? 0;
  const range: Range = { start: { line, character: 0 }, end: { line, character: 0 } };
  const lenses: LensSpec[] = [];
  if (options.commands ?? true) {
    if (canTrain(analysis.model))
      lenses.push({
        range,
        title: TRAIN_TITLE,
        command: 'sbn.trainModel',
        tooltip: 'Train this model (SBN: Train Model)',
      });
    lenses.push({
      range,
      title: COMPARE_TITLE,
      command: 'sbn.compareEstimators',
      tooltip: 'Compare the gradient estimators on this model',
    });
  }
  const t = analysis.totals;
  if (t) {
    lenses.push({
      range,
      title: totalsTitle(t.params, t.binaryUnits),
      tooltip:
        `${t.hiddenLayers} hidden layer${t.hiddenLayers === 1 ? '' : 's'}, ` +
        `[${t.inShape.join(', ')}] → [${t.outShape.join(', ')}]`,
    });
  }
  return lenses;
}
