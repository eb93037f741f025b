// Finding model files and the runs folder of a workspace.
import * as path from 'node:path';
import * as vscode from 'vscode';

export const MODEL_FILE_GLOB = '**/*.sbn.{json,yaml,yml}';
export const MODEL_FILE_PATTERN = /\.sbn\.(json|ya?ml)$/i;

export function isModelFile(uri: vscode.Uri | undefined): uri is vscode.Uri {
  return !!uri && MODEL_FILE_PATTERN.test(uri.fsPath);
}

/** The runs folder of a workspace folder (setting `sbn.runsFolder`, relative to the folder). */
export function runsRootOf(folder: vscode.WorkspaceFolder): string {
  const setting = vscode.workspace.getConfiguration('sbn', folder.uri).get<string>('runsFolder', 'runs');
  return path.resolve(folder.uri.fsPath, setting);
}

export function allRunsRoots(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).map(runsRootOf);
}

/** The runs folder for a model file: that of its workspace folder, or `runs/` beside the file. */
export function runsRootFor(modelFile: vscode.Uri): string {
  const folder = vscode.workspace.getWorkspaceFolder(modelFile);
  return folder ? runsRootOf(folder) : path.join(path.dirname(modelFile.fsPath), 'runs');
}

/** The model file a command is about: its argument, the active editor, or one the user picks. */
export async function pickModelFile(arg: unknown): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri && isModelFile(arg)) return arg;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (isModelFile(active)) return active;
  const files = await vscode.workspace.findFiles(MODEL_FILE_GLOB, '**/{node_modules,runs}/**', 200);
  if (files.length === 0) {
    const choice = await vscode.window.showInformationMessage(
      'No model files (*.sbn.yaml, *.sbn.json) in this workspace.',
      'New Model File',
    );
    if (choice) await vscode.commands.executeCommand('sbn.newModelFile');
    return undefined;
  }
  if (files.length === 1) return files[0];
  const item = await vscode.window.showQuickPick(
    files.map((f) => ({ label: path.basename(f.fsPath), description: vscode.workspace.asRelativePath(f), uri: f })),
    { placeHolder: 'Model file' },
  );
  return item?.uri;
}

/** The document's current text if it is open (unsaved edits included), else the file on disk. */
export async function modelText(uri: vscode.Uri): Promise<string> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return open.getText();
  return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
}

/** Setting sbn.diagnostics.interval: gradient diagnostics for model files without a `diagnostics` section (0: off). */
export function diagnosticsIntervalSetting(uri?: vscode.Uri): number {
  const v = vscode.workspace.getConfiguration('sbn', uri).get<number>('diagnostics.interval', 0);
  return Number.isInteger(v) && v > 0 ? v : 0;
}
