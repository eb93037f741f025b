// The model-file language features in VS Code: diagnostics (collection "sbn", debounced by sbn.validation.delay),
// hovers, code lenses (Train, Compare estimators, totals) and quick fixes, for *.sbn.json / *.sbn.yaml / *.sbn.yml,
// and schema completions for the YAML ones. Everything here only adapts the vscode-free cores (analysis/,
// hover.ts, codeLens.ts, yamlCompletion.ts). In Restricted Mode all of
// it works; data paths outside the workspace folders are then not probed, and the Train/Compare lenses are hidden.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import * as vscode from 'vscode';
import { locateDataset, type StoredDatasetName } from '../../engine/data/store';
import { analyzeModel, type AnalysisEnv, type ModelAnalysis, type Problem, type Range } from './analysis';
import { codeLenses } from './codeLens';
import { hoverInfoAt } from './hover';
import { yamlCompletions } from './yamlCompletion';
import { ValidationTimer } from './validationTimer';

/** The documents these features apply to. */
export const MODEL_FILE_SELECTOR: vscode.DocumentSelector = [{ pattern: '**/*.sbn.{json,yaml,yml}' }];
const MODEL_FILE_NAME = /\.sbn\.(json|ya?ml)$/;
/** YAML model files: VS Code completes the JSON ones from the schema itself (jsonValidation). */
const YAML_MODEL_FILE_SELECTOR: vscode.DocumentSelector = [{ pattern: '**/*.sbn.{yaml,yml}' }];
/** Red Hat's YAML extension completes YAML model files from the same schema (yamlValidation); then we stand down. */
const YAML_LANGUAGE_SERVER = 'redhat.vscode-yaml';

export interface LanguageFeatureOptions {
  log(message: string): void;
}

/** A model file on disk (or unsaved): not a git or diff view of one, whose problems would show twice. */
export function isModelDocument(doc: vscode.TextDocument): boolean {
  return (
    (doc.uri.scheme === 'file' || doc.uri.scheme === 'untitled') &&
    (MODEL_FILE_NAME.test(doc.fileName) || MODEL_FILE_NAME.test(doc.uri.path))
  );
}

function toRange(r: Range): vscode.Range {
  return new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
}

const SEVERITY: Record<Problem['severity'], vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  information: vscode.DiagnosticSeverity.Information,
};

function toDiagnostic(p: Problem): vscode.Diagnostic {
  const d = new vscode.Diagnostic(toRange(p.range), p.message, SEVERITY[p.severity]);
  d.source = 'sbn';
  d.code = p.code;
  return d;
}

/** `child` is `folder` or lies inside it. */
function isInside(folder: string, child: string): boolean {
  const rel = nodePath.relative(folder, child);
  return rel === '' || (!rel.startsWith('..') && !nodePath.isAbsolute(rel));
}

/** Whether a stored data set is where the trainer looks; a store that cannot be searched counts as not there. */
function isLocated(name: StoredDatasetName): boolean {
  try {
    return locateDataset(name) !== undefined;
  } catch {
    return false;
  }
}

/** The machine as the analysis sees it: existence checks only; Restricted Mode keeps them inside the workspace. */
function machineEnv(): AnalysisEnv {
  // existence checks of a few folders, cached for 5 s (a download that just finished shows soon)
  const cache = new Map<StoredDatasetName, { at: number; available: boolean }>();
  const available = (name: StoredDatasetName) => {
    const now = Date.now();
    let hit = cache.get(name);
    if (!hit || now - hit.at > 5000) {
      hit = { at: now, available: isLocated(name) };
      cache.set(name, hit);
    }
    return hit.available;
  };
  return {
    fileExists: (p) => {
      try {
        return fs.existsSync(p);
      } catch {
        return false;
      }
    },
    fashionMnistAvailable: () => available('fashion-mnist'),
    mnistAvailable: () => available('mnist'),
    cifar10Available: () => available('cifar10'),
    mayProbe: (p) =>
      vscode.workspace.isTrusted ||
      (vscode.workspace.workspaceFolders ?? []).some((f) => f.uri.scheme === 'file' && isInside(f.uri.fsPath, p)),
  };
}

/**
 * Registers diagnostics, hover, code lenses and quick fixes for model files. Everything registered is added to
 * context.subscriptions; the returned disposable undoes it as well.
 */
export function registerLanguageFeatures(
  context: vscode.ExtensionContext,
  options: LanguageFeatureOptions,
): vscode.Disposable {
  const env = machineEnv();
  const diagnostics = vscode.languages.createDiagnosticCollection('sbn');
  const cache = new Map<string, { version: number; analysis: ModelAnalysis }>();
  const timer = new ValidationTimer((doc) => validate(doc));
  const lensesChanged = new vscode.EventEmitter<void>();

  const analysisOf = (doc: vscode.TextDocument): ModelAnalysis => {
    const key = doc.uri.toString();
    const cached = cache.get(key);
    if (cached && cached.version === doc.version) return cached.analysis;
    const analysis = analyzeModel(doc.getText(), doc.uri.scheme === 'file' ? doc.uri.fsPath : doc.fileName, env);
    for (const p of analysis.problems) if (p.code === 'internal') options.log(`${doc.uri.fsPath}: ${p.message}`);
    cache.set(key, { version: doc.version, analysis });
    return analysis;
  };

  const validate = (doc: vscode.TextDocument): void => {
    if (doc.isClosed || !isModelDocument(doc)) return;
    diagnostics.set(doc.uri, analysisOf(doc).problems.map(toDiagnostic));
    lensesChanged.fire();
  };

  const schedule = (doc: vscode.TextDocument, immediately = false): void => {
    if (isModelDocument(doc)) timer.schedule(doc, immediately);
  };

  const revalidateAll = (): void => {
    cache.clear();
    for (const doc of vscode.workspace.textDocuments) schedule(doc, true);
    lensesChanged.fire();
  };

  const disposables: vscode.Disposable[] = [
    diagnostics,
    lensesChanged,
    vscode.workspace.onDidOpenTextDocument((doc) => schedule(doc, true)),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.contentChanges.length > 0) schedule(e.document);
    }),
    vscode.workspace.onDidCloseTextDocument((doc) => {
      timer.cancel(doc);
      cache.delete(doc.uri.toString());
      diagnostics.delete(doc.uri);
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(revalidateAll),
    vscode.workspace.onDidChangeWorkspaceFolders(revalidateAll),

    vscode.languages.registerHoverProvider(MODEL_FILE_SELECTOR, {
      provideHover(doc, position) {
        const info = hoverInfoAt(analysisOf(doc), position.line, position.character);
        return info && new vscode.Hover(new vscode.MarkdownString(info.markdown), toRange(info.range));
      },
    }),

    vscode.languages.registerCompletionItemProvider(
      YAML_MODEL_FILE_SELECTOR,
      {
        provideCompletionItems(doc, position) {
          if (!isModelDocument(doc) || vscode.extensions.getExtension(YAML_LANGUAGE_SERVER)) return [];
          return yamlCompletions(doc.getText(), position).map((e) => {
            const item = new vscode.CompletionItem(
              e.label,
              e.kind === 'property' ? vscode.CompletionItemKind.Property : vscode.CompletionItemKind.EnumMember,
            );
            item.insertText = e.snippet ? new vscode.SnippetString(e.insertText) : e.insertText;
            item.range = toRange(e.range);
            item.detail = e.detail;
            if (e.documentation) item.documentation = new vscode.MarkdownString(e.documentation);
            item.sortText = e.sortText;
            return item;
          });
        },
      },
      ' ',
    ),

    vscode.languages.registerCodeLensProvider(MODEL_FILE_SELECTOR, {
      onDidChangeCodeLenses: lensesChanged.event,
      provideCodeLenses(doc) {
        if (!isModelDocument(doc)) return [];
        return codeLenses(analysisOf(doc), { commands: vscode.workspace.isTrusted }).map(
          (l) =>
            new vscode.CodeLens(toRange(l.range), {
              title: l.title,
              command: l.command ?? '',
              arguments: l.command ? [doc.uri] : undefined,
              tooltip: l.tooltip,
            }),
        );
      },
    }),

    vscode.languages.registerCodeActionsProvider(
      MODEL_FILE_SELECTOR,
      {
        provideCodeActions(doc, range, ctx) {
          if (ctx.only && !vscode.CodeActionKind.QuickFix.intersects(ctx.only)) return [];
          const analysis = analysisOf(doc);
          const actions: vscode.CodeAction[] = [];
          // JSON syntax problems are reported by VS Code's JSON language service; their fixes are ours.
          for (const p of [...analysis.problems, ...analysis.deferred]) {
            if (!p.fix) continue;
            const at = toRange(p.range);
            if (!at.intersection(range)) continue;
            const action = new vscode.CodeAction(p.fix.title, vscode.CodeActionKind.QuickFix);
            action.edit = new vscode.WorkspaceEdit();
            for (const e of p.fix.edits) action.edit.replace(doc.uri, toRange(e.range), e.newText);
            action.diagnostics = ctx.diagnostics.filter(
              (d) => d.range.isEqual(at) && (d.source !== 'sbn' || d.message === p.message),
            );
            action.isPreferred = true;
            actions.push(action);
          }
          return actions;
        },
      },
      { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] },
    ),
  ];

  const all = new vscode.Disposable(() => {
    timer.dispose();
    cache.clear();
    for (const d of disposables) d.dispose();
  });
  context.subscriptions.push(all);

  for (const doc of vscode.workspace.textDocuments) schedule(doc, true);
  return all;
}
