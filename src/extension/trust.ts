// Workspace trust: in Restricted Mode validation, hovers and past runs work; anything that runs code on the
// model's data (training, evaluation, comparisons) asks for trust first and says why.
import * as vscode from 'vscode';

export async function requireTrust(action: string): Promise<boolean> {
  if (vscode.workspace.isTrusted) return true;
  const choice = await vscode.window.showWarningMessage(
    `${action} needs a trusted workspace: it runs TensorFlow on data files that the model file names. ` +
      'In Restricted Mode SBN Studio only validates model files and shows past runs.',
    'Manage Workspace Trust',
  );
  if (choice) await vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}
