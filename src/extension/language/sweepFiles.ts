// Sweep files (*.sbn-sweep.yaml / .yml / .json) in VS Code: diagnostics as you type with the engine's own messages
// (parseSweepText: the sweep file's keys, and every grid and override value checked against the model file it
// names, an unsaved model file's text included), debounced by sbn.validation.delay as model files are, and the
// ▶ Run Sweep code lens (hidden in Restricted Mode, where nothing may train). The JSON Schema
// (schemas/sbn-sweep.schema.json) is wired through the manifest's jsonValidation / yamlValidation for completion.
import * as vscode from 'vscode';
import { expandSweep, parseSweepText, SWEEP_FILE_PATTERN, type SweepParseResult } from '../../engine/sweeps';
import type { SpecError } from '../../engine/spec/types';
import { readTextFile } from '../../engine/files';
import { MAX_MODEL_FILE_BYTES } from '../../engine/spec/parse';
import { ValidationTimer } from './validationTimer';

export const SWEEP_FILE_SELECTOR: vscode.DocumentSelector = [{ pattern: '**/*.sbn-sweep.{json,yaml,yml}' }];
export const RUN_SWEEP_TITLE = '▶ Run Sweep';

/** A sweep file on disk or unsaved (not a git or diff view of one). */
export function isSweepDocument(doc: vscode.TextDocument): boolean {
  return (
    (doc.uri.scheme === 'file' || doc.uri.scheme === 'untitled') &&
    (SWEEP_FILE_PATTERN.test(doc.fileName) || SWEEP_FILE_PATTERN.test(doc.uri.path))
  );
}

/** The model file's text as the editor has it (unsaved changes included), else undefined: read from disk. */
function openModelText(modelPath: string): string | undefined {
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === modelPath);
  return doc?.getText();
}

/** Parses a sweep document as `sbn sweep` would, reading its model file from the editor when it is open. */
export function parseSweepDocument(doc: vscode.TextDocument): SweepParseResult {
  const file = doc.uri.scheme === 'file' ? doc.uri.fsPath : doc.fileName;
  return parseSweepText(doc.getText(), file, {
    readModel: (modelPath) => openModelText(modelPath) ?? readTextFile(modelPath, MAX_MODEL_FILE_BYTES),
  });
}

export function sweepDiagnostic(e: SpecError): vscode.Diagnostic {
  const line = Math.max(0, (e.line ?? 1) - 1);
  const col = Math.max(0, (e.column ?? 1) - 1);
  const endLine = e.endLine !== undefined ? Math.max(line, e.endLine - 1) : line;
  const endCol = e.endColumn !== undefined ? Math.max(0, e.endColumn - 1) : col;
  const range =
    endLine === line && endCol <= col
      ? new vscode.Range(line, col, line, Number.MAX_SAFE_INTEGER)
      : new vscode.Range(line, col, endLine, endCol);
  const d = new vscode.Diagnostic(
    range,
    e.path ? `${e.path}: ${e.message}` : e.message,
    vscode.DiagnosticSeverity.Error,
  );
  d.source = 'sbn';
  return d;
}

/** Diagnostics and the Run Sweep lens of sweep files; registered into context.subscriptions. */
export function registerSweepFileFeatures(context: vscode.ExtensionContext, log: (message: string) => void): void {
  const diagnostics = vscode.languages.createDiagnosticCollection('sbn-sweep');
  const results = new Map<string, { version: number; result: SweepParseResult }>();
  const timer = new ValidationTimer((doc) => validate(doc));
  const lensesChanged = new vscode.EventEmitter<void>();

  const resultOf = (doc: vscode.TextDocument): SweepParseResult => {
    const key = doc.uri.toString();
    const hit = results.get(key);
    if (hit && hit.version === doc.version) return hit.result;
    let result: SweepParseResult;
    try {
      result = parseSweepDocument(doc);
    } catch (e) {
      // a bug, not the user's: logged, and shown as one problem at the top of the file
      log(`${doc.uri.fsPath}: ${(e as Error).stack ?? String(e)}`);
      result = { ok: false, errors: [{ path: '', message: `internal error: ${(e as Error).message}` }] };
    }
    results.set(key, { version: doc.version, result });
    return result;
  };

  const validate = (doc: vscode.TextDocument): void => {
    if (doc.isClosed || !isSweepDocument(doc)) return;
    const r = resultOf(doc);
    diagnostics.set(doc.uri, r.ok ? [] : r.errors.map(sweepDiagnostic));
    lensesChanged.fire();
  };

  const schedule = (doc: vscode.TextDocument, immediately = false): void => {
    if (isSweepDocument(doc)) timer.schedule(doc, immediately);
  };

  /** A model file changed: the sweep files that read it are checked again. */
  const revalidateSweeps = (): void => {
    results.clear();
    for (const doc of vscode.workspace.textDocuments) if (isSweepDocument(doc)) schedule(doc);
  };

  context.subscriptions.push(
    diagnostics,
    lensesChanged,
    vscode.workspace.onDidOpenTextDocument((doc) => schedule(doc, true)),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.contentChanges.length === 0) return;
      if (isSweepDocument(e.document)) schedule(e.document);
      else if (/\.sbn\.(json|ya?ml)$/i.test(e.document.fileName)) revalidateSweeps();
    }),
    vscode.workspace.onDidSaveTextDocument((doc) => {
      if (/\.sbn\.(json|ya?ml)$/i.test(doc.fileName)) revalidateSweeps();
    }),
    vscode.workspace.onDidCloseTextDocument((doc) => {
      timer.cancel(doc);
      results.delete(doc.uri.toString());
      diagnostics.delete(doc.uri);
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => lensesChanged.fire()),
    vscode.languages.registerCodeLensProvider(SWEEP_FILE_SELECTOR, {
      onDidChangeCodeLenses: lensesChanged.event,
      provideCodeLenses(doc) {
        if (!isSweepDocument(doc)) return [];
        const top = new vscode.Range(0, 0, 0, 0);
        const lenses: vscode.CodeLens[] = [];
        if (vscode.workspace.isTrusted)
          lenses.push(
            new vscode.CodeLens(top, {
              title: RUN_SWEEP_TITLE,
              command: 'sbn.runSweep',
              arguments: [doc.uri],
              tooltip: 'Run this sweep in worker processes (SBN: Run Sweep…)',
            }),
          );
        const r = resultOf(doc);
        if (r.ok) {
          const runs = expandSweep(r.sweep).length;
          const points = runs / Math.max(1, r.sweep.seeds.length);
          lenses.push(
            new vscode.CodeLens(top, {
              title: `${runs} runs (${points} points × ${r.sweep.seeds.length} seeds)`,
              command: '',
            }),
          );
        } else {
          const n = r.errors.length;
          lenses.push(new vscode.CodeLens(top, { title: `${n} problem${n === 1 ? '' : 's'}`, command: '' }));
        }
        return lenses;
      },
    }),
    timer,
  );
  for (const doc of vscode.workspace.textDocuments) schedule(doc, true);
}
