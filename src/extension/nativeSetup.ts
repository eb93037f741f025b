// SBN: Set Up Native Backend — builds the tfjs-node binding and the PSA kernels into the extension's global storage
// (src/engine/native/setup.ts does the work), with a cancellable progress notification and the whole log in the
// SBN Studio output channel. Workers forked after a set-up get SBN_NATIVE_DIR and load it (no reload needed).
// When a run trains on wasm and nothing is set up, the set-up is offered once (dismissable for good).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { NATIVE_DIR_ENV, SETUP_LOG_FILE, type NativeManifest } from '../engine/native/paths';
import { setupLocation } from '../engine/native/locate';
import {
  findNativeSources,
  givenLibtensorflow,
  SETUP_STEPS,
  SetupCancelled,
  SetupError,
  setupNativeBackend,
} from '../engine/native/setup';
import type { RunManager } from './runManager';

/** globalState key: the user chose "Don't Ask Again" on the set-up offer. */
const DONT_OFFER_KEY = 'sbn.nativeSetup.dontOffer';

/** The set-up folder in this extension's global storage. */
export function nativeSetupDir(context: vscode.ExtensionContext): string {
  return path.join(context.globalStorageUri.fsPath, `native-${process.platform}-${process.arch}`);
}

/**
 * Environment additions for a worker: SBN_NATIVE_DIR names the global-storage set-up folder, so workers load that
 * set-up once it is complete (checked at each load), else a checkout's node_modules when the extension runs from
 * one — never the CLI's set-up in the user cache dir, which this window did not make.
 */
export function nativeWorkerEnv(context: vscode.ExtensionContext): NodeJS.ProcessEnv {
  return { [NATIVE_DIR_ENV]: nativeSetupDir(context) };
}

export interface SetupCommandOptions {
  /** A libtensorflow folder (else the setting sbn.libtensorflowPath, else $SBN_LIBTENSORFLOW, else the pip wheel). */
  libtensorflow?: string;
  gpu?: boolean;
  force?: boolean;
}

function summary(m: NativeManifest): string {
  const devices = m.check.devices.map((d) => d.type).join(', ') || 'no devices listed';
  const k = m.check.kernels;
  return (
    `tensorflow (libtensorflow ${m.libtensorflow.version}${m.libtensorflow.gpu ? ', GPU build' : ''}; ${devices}), ` +
    `PSA kernels ${k ? `native (${k.isa}, ${k.threads} thread${k.threads === 1 ? '' : 's'})` : 'not built'}`
  );
}

export function registerNativeSetup(
  context: vscode.ExtensionContext,
  deps: { runs: RunManager; log: vscode.LogOutputChannel },
): void {
  const { log } = deps;
  let running: Promise<NativeManifest | undefined> | undefined;

  const setUp = (options: SetupCommandOptions = {}): Promise<NativeManifest | undefined> => {
    if (running) {
      void vscode.window.showInformationMessage(vscode.l10n.t('The native backend is already being set up.'));
      return running;
    }
    const dir = nativeSetupDir(context);
    const sources = findNativeSources(path.join(context.extensionPath, 'dist'));
    const setting = vscode.workspace.getConfiguration('sbn').get<string>('libtensorflowPath', '');
    const libtensorflow = givenLibtensorflow([
      { label: 'libtensorflow', dir: options.libtensorflow },
      { label: 'sbn.libtensorflowPath', dir: setting },
    ]);
    const using = libtensorflow ? ` with ${libtensorflow.label} ${libtensorflow.dir}` : '';
    log.info(`native set-up into ${dir}${using}${options.gpu ? ' (GPU)' : ''}`);
    running = Promise.resolve(
      vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: vscode.l10n.t('SBN: Setting up the native backend'),
          cancellable: true,
        },
        async (progress, token) => {
          const controller = new AbortController();
          token.onCancellationRequested(() => controller.abort());
          try {
            if (!sources)
              throw new SetupError(
                `the extension carries no native sources (${path.join(context.extensionPath, 'dist', 'native-src')})`,
                'sources',
              );
            const manifest = await setupNativeBackend({
              dir,
              sources,
              libtensorflow,
              gpu: options.gpu,
              force: options.force,
              signal: controller.signal,
              reporter: {
                step: (s) => progress.report({ message: SETUP_STEPS[s] }),
                log: (line) => log.info(`[set-up] ${line}`),
              },
            });
            log.info(`native backend set up in ${dir}: ${summary(manifest)}`);
            void vscode.window.showInformationMessage(
              vscode.l10n.t('Native backend set up: {0}. New training runs use it.', summary(manifest)),
            );
            return manifest;
          } catch (e) {
            if (e instanceof SetupCancelled) {
              log.warn('native set-up cancelled');
              void vscode.window.showInformationMessage(vscode.l10n.t('Native backend set-up cancelled.'));
              return undefined;
            }
            const message = e instanceof SetupError ? e.message : `unexpected error: ${(e as Error).message}`;
            log.error(`native set-up failed: ${message} (log: ${path.join(dir, SETUP_LOG_FILE)})`);
            const showEnv = vscode.l10n.t('Show Environment');
            const showLog = vscode.l10n.t('Show Log');
            void vscode.window
              .showErrorMessage(vscode.l10n.t('Cannot set up the native backend: {0}', message), showEnv, showLog)
              .then((choice) => {
                if (choice === showEnv) void vscode.commands.executeCommand('sbn.showEnvironment');
                else if (choice === showLog) log.show();
              });
            return undefined;
          }
        },
      ),
    ).finally(() => {
      running = undefined;
    });
    return running;
  };

  let offered = false;
  const offer = async () => {
    offered = true;
    const setUpNow = vscode.l10n.t('Set Up');
    const notNow = vscode.l10n.t('Not Now');
    const never = vscode.l10n.t("Don't Ask Again");
    const choice = await vscode.window.showInformationMessage(
      vscode.l10n.t(
        'Training runs on WebAssembly here. Set up the native TensorFlow backend ' +
          '(several times faster; needs Python 3 with pip, a C++ compiler and Node.js)?',
      ),
      setUpNow,
      notNow,
      never,
    );
    if (choice === setUpNow) await setUp();
    else if (choice === never) await context.globalState.update(DONT_OFFER_KEY, true);
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('sbn.setupNativeBackend', (options?: SetupCommandOptions) => setUp(options ?? {})),
    deps.runs.onDidChange(({ event }) => {
      if (event?.type !== 'started' || event.backend !== 'wasm' || offered || running) return;
      if (context.globalState.get<boolean>(DONT_OFFER_KEY) || setupLocation(nativeSetupDir(context)).location) return;
      void offer();
    }),
  );
}
