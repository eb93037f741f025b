// The confirmation every export shows: where it wrote, with an Open action (panel exports and SBN: Export Run…).
import * as vscode from 'vscode';
import { notificationText } from './untrustedText';

/** The action of an export's confirmation. */
export const OPEN_ACTION = 'Open';

/** What VS Code shows as an editor (images and text); anything else (ONNX, safetensors, folders) is revealed. */
const VIEWABLE = /\.(png|svg|csv|json|jsonl|md|txt)$/i;

/**
 * "<what> written to <path>" with Open: opens the file in VS Code (images and text), or reveals it in the Explorer
 * (inside the workspace) or the system's file manager (outside it, and for folders and binary files).
 */
export async function confirmExport(target: vscode.Uri, what: string): Promise<void> {
  const where = vscode.workspace.asRelativePath(target);
  const choice = await vscode.window.showInformationMessage(
    notificationText(`${what} written to ${where}.`),
    OPEN_ACTION,
  );
  if (choice !== OPEN_ACTION) return;
  if (VIEWABLE.test(target.fsPath)) await vscode.commands.executeCommand('vscode.open', target);
  else if (vscode.workspace.getWorkspaceFolder(target))
    await vscode.commands.executeCommand('revealInExplorer', target);
  else await vscode.commands.executeCommand('revealFileInOS', target);
}
