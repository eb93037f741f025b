// SBN: Export Run… — a run in formats other tools read (the engine's exports, as `sbn export` writes them): its
// TensorBoard event files, its parameters as safetensors, or the trained SBN as an ONNX model.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ExportError } from '../engine/export/errors';
import { DEFAULT_ONNX_SAMPLES, exportOnnx, type OnnxMode } from '../engine/export/onnx';
import { exportSafetensors } from '../engine/export/safetensors';
import { exportTensorBoard } from '../engine/export/tensorboard';
import type { RunInfo } from '../engine/runs';
import { notificationText } from './untrustedText';
import { confirmExport } from './exportNotice';

export const EXPORT_FORMATS = [
  'tensorboard',
  'safetensors',
  'onnx-mean-field',
  'onnx-sample',
  'onnx-ensemble',
] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Samples averaged by the ONNX ensemble the command writes: `sbn export onnx --mode ensemble`'s default. */
const ENSEMBLE_SAMPLES = DEFAULT_ONNX_SAMPLES;

const FORMAT_ITEMS: Array<vscode.QuickPickItem & { format: ExportFormat }> = [
  {
    format: 'tensorboard',
    label: 'TensorBoard event files',
    description: "rewrite the run's tensorboard/ from metrics.jsonl",
  },
  {
    format: 'safetensors',
    label: 'safetensors',
    description: 'the parameters, for PyTorch and numpy, with the model file as metadata',
  },
  { format: 'onnx-mean-field', label: 'ONNX, mean-field', description: 'deterministic: the units pass on their means' },
  { format: 'onnx-sample', label: 'ONNX, one sample', description: 'one stochastic pass; the noise is an input' },
  {
    format: 'onnx-ensemble',
    label: `ONNX, ensemble of ${ENSEMBLE_SAMPLES} samples`,
    description: 'the mean predictive distribution, as sbn eval computes it; the noise is an input',
  },
];

/** For tests and other callers: the format and the file, without asking. */
export interface ExportRunOptions {
  format?: ExportFormat;
  out?: string;
}

/**
 * Ask for the format and (except for TensorBoard, written into the run folder) the file, then export. Returns the
 * path written (the run's tensorboard/ folder for TensorBoard), or undefined when cancelled or refused.
 */
export async function exportRunCommand(
  pickRun: () => Promise<RunInfo | undefined>,
  options: ExportRunOptions = {},
): Promise<string | undefined> {
  const run = await pickRun();
  if (!run) return undefined;
  const format =
    options.format ??
    (await vscode.window.showQuickPick(FORMAT_ITEMS, { placeHolder: `Export ${run.name} as` }))?.format;
  if (!format) return undefined;
  let out = options.out;
  if (format !== 'tensorboard' && out === undefined) {
    const ext = format === 'safetensors' ? 'safetensors' : 'onnx';
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(
        path.join(run.dir, `${run.name}${format.startsWith('onnx-') ? `-${format.slice(5)}` : ''}.${ext}`),
      ),
      filters: { [ext === 'onnx' ? 'ONNX model' : 'safetensors']: [ext] },
    });
    if (!target) return undefined;
    out = target.fsPath;
  }
  try {
    let written: string;
    let what: string;
    if (format === 'tensorboard') {
      const r = exportTensorBoard(run.dir);
      written = path.join(run.dir, 'tensorboard');
      what = `${r.records} metrics records as TensorBoard events`;
    } else if (format === 'safetensors') {
      const r = exportSafetensors(run.dir, out!);
      written = r.file;
      what = `${r.tensors.length} tensors of step ${r.step}`;
    } else {
      const mode = format.slice('onnx-'.length) as OnnxMode;
      const r = exportOnnx(run.dir, out!, mode, ENSEMBLE_SAMPLES);
      written = r.file;
      what = `ONNX model (${mode}) of step ${r.step}`;
    }
    void confirmExport(vscode.Uri.file(written), `${run.name}: ${what}`);
    return written;
  } catch (e) {
    if (!(e instanceof ExportError)) throw e;
    void vscode.window.showErrorMessage(notificationText(`Cannot export ${run.name}: ${e.message}`));
    return undefined;
  }
}
