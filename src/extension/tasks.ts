// Training runs as VS Code Tasks: type `sbn` (checked through package.json's taskDefinitions), run with a
// CustomExecution whose pseudoterminal shows the same progress lines as `sbn train --no-progress`, so runs
// can be bound to keys, chained and found under Run Task.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BackendPreference, TrainOverrides } from '../protocol';
import type { RunManager } from './runManager';
import { loadModelFile } from '../engine/spec/parse';
import { canTrain } from '../engine/spec/model';
import { diagnosticsIntervalSetting, MODEL_FILE_GLOB, runsRootFor } from './modelFiles';

export interface SbnTaskDefinition extends vscode.TaskDefinition {
  type: 'sbn';
  model: string;
  estimator?: string;
  epochs?: number;
  lr?: number | 'search';
  seed?: number;
  backend?: BackendPreference;
}

class TrainingTerminal implements vscode.Pseudoterminal {
  private readonly written = new vscode.EventEmitter<string>();
  private readonly closed = new vscode.EventEmitter<number>();
  readonly onDidWrite = this.written.event;
  readonly onDidClose = this.closed.event;
  private stop: (() => void) | undefined;

  constructor(
    private readonly runs: RunManager,
    private readonly def: SbnTaskDefinition,
    private readonly folder: vscode.WorkspaceFolder | undefined,
  ) {}

  private line(text: string): void {
    this.written.fire(`${text.replace(/\n/g, '\r\n')}\r\n`);
  }

  open(): void {
    this.run().catch((e: unknown) => {
      this.line(`sbn: ${e instanceof Error ? e.message : String(e)}`);
      this.closed.fire(1);
    });
  }

  private async run(): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      this.line('sbn: training needs a trusted workspace (Restricted Mode only validates model files).');
      this.closed.fire(2);
      return;
    }
    const file = path.resolve(this.folder?.uri.fsPath ?? '', this.def.model);
    let text: string;
    try {
      text = new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.file(file)));
    } catch {
      this.line(`sbn: ${this.def.model}: file not found (task "model" is relative to the workspace folder)`);
      this.closed.fire(2);
      return;
    }
    const overrides: TrainOverrides = {
      estimator: this.def.estimator,
      epochs: this.def.epochs,
      lr: this.def.lr,
      seed: this.def.seed,
    };
    const job = this.runs.start(
      {
        type: 'train',
        modelFile: file,
        modelText: text,
        overrides,
        runsRoot: runsRootFor(vscode.Uri.file(file)),
        diagnosticsInterval: diagnosticsIntervalSetting(vscode.Uri.file(file)),
        backend: this.def.backend ?? vscode.workspace.getConfiguration('sbn').get<BackendPreference>('backend', 'auto'),
        startedBy: `VS Code task: ${JSON.stringify(this.def)}`,
      },
      `task ${this.def.model}`,
    );
    this.stop = () => job.stop();
    let logEvery = 10;
    const sub = this.runs.onDidChange(({ job: j, event }) => {
      if (j.id !== job.id || !event) return;
      switch (event.type) {
        case 'started':
          this.line(`sbn: ${event.description} (backend ${event.backend})`);
          if (event.runDir) this.line(`sbn: run ${event.runDir}`);
          break;
        case 'step':
          logEvery = Math.max(1, Math.round(event.stepsPerEpoch / 10));
          if (event.step % logEvery < 1 || event.step === event.totalSteps)
            this.line(
              `sbn: step ${event.step}/${event.totalSteps} epoch ${event.epoch.toFixed(2)} ` +
                `loss ${event.loss.toFixed(4)} ${event.samplesPerSecond.toFixed(0)} samples/s`,
            );
          break;
        case 'eval':
          this.line(
            `sbn: eval ${event.split} epoch ${event.epoch.toFixed(2)}: u_loss ${event.u_loss.toFixed(4)} ` +
              `acc1 ${(100 * event.acc1).toFixed(2)}% acc_e ${(100 * event.acc_e).toFixed(2)}%`,
          );
          break;
        case 'message':
          this.line(`sbn: ${event.text}`);
          break;
        default:
          break;
      }
    });
    const end = await job.finished;
    sub.dispose();
    if (end.type === 'error') this.line(`sbn: ${end.message}`);
    else this.line(`sbn: ${end.status}${end.message ? `: ${end.message}` : ''}${end.runDir ? ` — ${end.runDir}` : ''}`);
    this.closed.fire(end.type === 'error' ? (end.userError ? 2 : 1) : end.status === 'diverged' ? 1 : 0);
  }

  handleInput(data: string): void {
    if (data === '\x03') {
      this.line('^C stopping after this step…');
      this.stop?.();
    }
  }

  /** Called by VS Code when the user closes the terminal: stop the run (it checkpoints). */
  close(): void {
    this.stop?.();
  }
}

function taskFor(runs: RunManager, def: SbnTaskDefinition, folder: vscode.WorkspaceFolder | undefined): vscode.Task {
  const task = new vscode.Task(
    def,
    folder ?? vscode.TaskScope.Workspace,
    `train ${def.model}${def.estimator ? ` (${def.estimator})` : ''}`,
    'sbn',
    new vscode.CustomExecution(() => Promise.resolve(new TrainingTerminal(runs, def, folder))),
  );
  task.group = vscode.TaskGroup.Build;
  task.detail = 'Train an SBN model file with SBN Studio';
  return task;
}

function trainableFile(uri: vscode.Uri): boolean {
  const parsed = loadModelFile(uri.fsPath);
  return canTrain(parsed.ok ? parsed.model : undefined);
}

export function registerTasks(runs: RunManager): vscode.Disposable {
  return vscode.tasks.registerTaskProvider('sbn', {
    async provideTasks() {
      const files = await vscode.workspace.findFiles(MODEL_FILE_GLOB, '**/{node_modules,runs}/**', 200);
      // a task only for the files that can be trained (a gradient-evaluation file has no `train` section)
      return files.filter(trainableFile).map((f) => {
        const folder = vscode.workspace.getWorkspaceFolder(f);
        const model = folder ? path.relative(folder.uri.fsPath, f.fsPath) : f.fsPath;
        return taskFor(runs, { type: 'sbn', model }, folder);
      });
    },
    resolveTask(task) {
      const def = task.definition as SbnTaskDefinition;
      if (def.type !== 'sbn' || typeof def.model !== 'string') return undefined;
      const folder = typeof task.scope === 'object' ? task.scope : vscode.workspace.workspaceFolders?.[0];
      return taskFor(runs, def, folder);
    },
  });
}
