// The extension's side of the machine's environment: its data-set store (global storage, handed to the workers
// through $SBN_DATA_DIR), the download of a missing built-in data set before a run (a cancellable progress
// notification), and how "cannot" messages point to SBN: Show Environment.
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  DATA_DIR_ENV,
  DATA_MIRROR_ENV,
  DATASET_CATALOG,
  FetchError,
  dataStoreDirs,
  fetchDataset,
  fetchErrorAdvice,
  isStoredDataset,
  locateDataset,
  type StoredDatasetName,
} from '../engine/data';
import { ENVIRONMENT_HINT, phraseEnvironmentHint } from '../engine/environmentHint';

/** How the extension phrases the engine's pointer to the environment report. */
export const EXTENSION_ENVIRONMENT_HINT = 'run "SBN: Show Environment" for details';
export const SHOW_ENVIRONMENT = 'Show Environment';

/** An engine or worker message for the user: its pointer to the environment report names our command. */
export function extensionMessage(message: string): string {
  return phraseEnvironmentHint(message, EXTENSION_ENVIRONMENT_HINT);
}

/** Whether a message carries the pointer (then the notification offers the Show Environment button). */
export function pointsToEnvironment(message: string): boolean {
  return message.includes(ENVIRONMENT_HINT) || message.includes(EXTENSION_ENVIRONMENT_HINT);
}

/** Shows an error; its Show Environment button (when the message points there) opens the report. */
export async function showErrorWithEnvironment(message: string, ...items: string[]): Promise<string | undefined> {
  const extra = pointsToEnvironment(message) ? [SHOW_ENVIRONMENT] : [];
  const choice = await vscode.window.showErrorMessage(extensionMessage(message), ...items, ...extra);
  if (choice === SHOW_ENVIRONMENT) await vscode.commands.executeCommand('sbn.showEnvironment');
  return choice;
}

/**
 * The store the extension downloads into: $SBN_DATA_DIR when the user set it, else `datasets/` in the extension's
 * global storage. It is put into this process's $SBN_DATA_DIR so that the model-file diagnostics and every worker
 * (forked with this environment) look there first; the per-user store of `sbn data fetch` is searched after it.
 */
export function configureDataStore(context: vscode.ExtensionContext): string {
  if (!process.env[DATA_DIR_ENV]) process.env[DATA_DIR_ENV] = path.join(context.globalStorageUri.fsPath, 'datasets');
  return dataStoreDirs()[0];
}

/** The mirror to download from: the setting sbn.dataMirror, else $SBN_DATA_MIRROR, else each data set's own host. */
function mirror(): string | undefined {
  return (
    vscode.workspace.getConfiguration('sbn').get<string>('dataMirror', '').trim() ||
    process.env[DATA_MIRROR_ENV] ||
    undefined
  );
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/**
 * Downloads a built-in data set into the store, with a cancellable progress notification. Resolves true when it is
 * there; false after a failure (shown, with what to do) or a cancel.
 */
export async function downloadDataset(name: StoredDatasetName, log: vscode.LogOutputChannel): Promise<boolean> {
  const store = dataStoreDirs()[0];
  const title = DATASET_CATALOG[name].title;
  log.info(`downloading ${name} into ${store}${mirror() ? ` from ${mirror()}` : ''}`);
  try {
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Downloading ${title}`, cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        let shown = 0;
        await fetchDataset(name, {
          dir: store,
          mirror: mirror(),
          signal: abort.signal,
          onProgress: (p) => {
            // one bar over all files: each file is an equal share
            const fraction =
              p.phase === 'download' && p.total
                ? (p.index - 1 + p.received / p.total) / p.files
                : (p.index - 1) / p.files;
            const done =
              p.phase === 'download'
                ? `${mib(p.received)}${p.total ? ` of ${mib(p.total)}` : ''}`
                : p.phase === 'verify'
                  ? 'checking'
                  : 'extracting';
            const message = `${p.file} (${p.index}/${p.files}): ${done}`;
            progress.report({ message, increment: Math.max(0, 100 * fraction - shown) });
            shown = Math.max(shown, 100 * fraction);
          },
        });
      },
    );
  } catch (e) {
    if (e instanceof FetchError) {
      log.error(e.message);
      if (!e.cancelled)
        void vscode.window
          .showErrorMessage(fetchErrorAdvice(e, 'the setting sbn.dataMirror'), 'Open Settings')
          .then((c) => {
            if (c) void vscode.commands.executeCommand('workbench.action.openSettings', 'sbn.dataMirror');
          });
      return false;
    }
    throw e;
  }
  log.info(`${name} is in ${store}`);
  return true;
}

/**
 * Before a run of a model file: when its built-in data set (no data.path) is nowhere the engine looks, offer to
 * download it. Resolves true when the run can start.
 */
export async function ensureDataset(
  data: { dataset?: unknown; path?: unknown } | undefined,
  log: vscode.LogOutputChannel,
): Promise<boolean> {
  const name = data?.dataset;
  if (typeof name !== 'string' || !isStoredDataset(name) || data?.path !== undefined || locateDataset(name))
    return true;
  const download = 'Download';
  const choice = await vscode.window.showWarningMessage(
    `${DATASET_CATALOG[name].title} is not on this machine. ` +
      `Download it into SBN Studio's storage (${dataStoreDirs()[0]})?`,
    download,
    SHOW_ENVIRONMENT,
  );
  if (choice === SHOW_ENVIRONMENT) await vscode.commands.executeCommand('sbn.showEnvironment');
  if (choice !== download) return false;
  return downloadDataset(name, log);
}
