// Validation as you type, for model files (register.ts) and sweep files (sweepFiles.ts) alike: a document is checked
// once typing has paused for sbn.validation.delay milliseconds, a newer change replacing the pending check.
import * as vscode from 'vscode';

/** sbn.validation.delay when the setting gives no usable number (package.json's default). */
const DEFAULT_DELAY_MS = 300;

export class ValidationTimer implements vscode.Disposable {
  private readonly pending = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly validate: (doc: vscode.TextDocument) => void) {}

  /** Check `doc` after the configured pause; at once when `immediately` or when the pause is 0. */
  schedule(doc: vscode.TextDocument, immediately = false): void {
    this.cancel(doc);
    const configured = vscode.workspace
      .getConfiguration('sbn', doc.uri)
      .get<number>('validation.delay', DEFAULT_DELAY_MS);
    const delay = immediately ? 0 : Math.max(0, Number.isFinite(configured) ? configured : DEFAULT_DELAY_MS);
    if (delay === 0) {
      this.validate(doc);
      return;
    }
    const key = doc.uri.toString();
    this.pending.set(
      key,
      setTimeout(() => {
        this.pending.delete(key);
        this.validate(doc);
      }, delay),
    );
  }

  /** Drop `doc`'s pending check, if any. */
  cancel(doc: vscode.TextDocument): void {
    const key = doc.uri.toString();
    const timer = this.pending.get(key);
    if (timer !== undefined) clearTimeout(timer);
    this.pending.delete(key);
  }

  dispose(): void {
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }
}
