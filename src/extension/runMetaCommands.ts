// Rename Run, Edit Run Tags, Edit Run Notes (the Runs view's context menu, the Runs table's buttons): a run's
// display name, tags and notes in its meta.json (src/engine/runs/meta.ts, docs/run-format.md), as `sbn run set`
// writes them. Argument: a Runs-view item or a run folder; a second argument (the new value as the input box takes
// it) skips the input box (tests, callers that asked already). The Runs view and the panels follow meta.json.
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  applyRunMetaChange,
  displayNameProblem,
  parseTagList,
  readManifest,
  readRunMeta,
  RUN_META_LIMITS,
  updateRunMeta,
  type RunMeta,
  type RunMetaChange,
} from '../engine/runs';

/** The run folder of a command argument: a Runs-view item (`info.dir`), a path or a Uri. */
function runDirOf(arg: unknown): string | undefined {
  if (typeof arg === 'string' && arg) return path.resolve(arg);
  if (arg instanceof vscode.Uri) return arg.fsPath;
  const dir = (arg as { info?: { dir?: unknown } } | undefined)?.info?.dir;
  return typeof dir === 'string' ? dir : undefined;
}

// Notes are edited in a one-line input box: a line break is written `\n` there (and `\\` a backslash).
const notesToLine = (notes: string) => notes.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const lineToNotes = (line: string) => line.replace(/\\(n|\\)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));

interface MetaEdit {
  title: string;
  prompt: string;
  value(meta: RunMeta): string;
  /** What is wrong with the text typed (shown as the user types), or null. */
  check(text: string, meta: RunMeta): string | null;
  change(text: string): RunMetaChange;
}

const EDITS: Record<'sbn.renameRun' | 'sbn.editRunTags' | 'sbn.editRunNotes', MetaEdit> = {
  'sbn.renameRun': {
    title: 'Rename run',
    prompt: 'Display name shown in the Runs view and the panels (empty: the run folder’s name again)',
    value: (m) => m.displayName ?? '',
    check: (text) => (text.trim() === '' ? null : displayNameProblem(text.trim())),
    change: (text) => ({ displayName: text.trim() === '' ? null : text }),
  },
  'sbn.editRunTags': {
    title: 'Edit run tags',
    prompt: 'Tags, separated by commas or spaces (e.g. baseline, lr-search)',
    value: (m) => m.tags.join(', '),
    check: (text, meta) => {
      try {
        applyRunMetaChange(meta, { tags: parseTagList(text) });
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    },
    change: (text) => ({ tags: parseTagList(text) }),
  },
  'sbn.editRunNotes': {
    title: 'Edit run notes',
    prompt: 'Notes on this run (write \\n for a line break)',
    value: (m) => notesToLine(m.notes),
    check: (text) =>
      lineToNotes(text).length > RUN_META_LIMITS.notes
        ? `notes have at most ${RUN_META_LIMITS.notes} characters`
        : null,
    change: (text) => ({ notes: lineToNotes(text) }),
  },
};

export function registerRunMetaCommands(context: vscode.ExtensionContext, deps: { refresh(): void }): void {
  for (const [id, edit] of Object.entries(EDITS)) {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (arg: unknown, given?: unknown): Promise<RunMeta | undefined> => {
        const dir = runDirOf(arg);
        if (!dir) {
          void vscode.window.showInformationMessage(`${edit.title}: choose a run in the Runs view.`);
          return undefined;
        }
        let meta: RunMeta;
        let name: string;
        try {
          name = readManifest(dir).name;
          meta = readRunMeta(dir);
        } catch (e) {
          void vscode.window.showErrorMessage((e as Error).message);
          return undefined;
        }
        const text =
          typeof given === 'string'
            ? given
            : await vscode.window.showInputBox({
                title: `${edit.title}: ${meta.displayName ?? name}`,
                prompt: edit.prompt,
                value: edit.value(meta),
                validateInput: (t) => edit.check(t, meta),
              });
        if (text === undefined) return undefined;
        const problem = edit.check(text, meta);
        if (problem) {
          void vscode.window.showErrorMessage(`${edit.title}: ${problem}`);
          return undefined;
        }
        try {
          const next = updateRunMeta(dir, edit.change(text));
          deps.refresh();
          return next;
        } catch (e) {
          void vscode.window.showErrorMessage(`${edit.title}: ${(e as Error).message}`);
          return undefined;
        }
      }),
    );
  }
}
