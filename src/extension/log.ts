// The "SBN Studio" log channel.
import * as vscode from 'vscode';

export function createLog(): vscode.LogOutputChannel {
  return vscode.window.createOutputChannel('SBN Studio', { log: true });
}
