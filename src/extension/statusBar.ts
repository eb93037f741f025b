// The status-bar item of the active training run: step, loss and ETA; click shows the log.
import * as vscode from 'vscode';
import type { Job } from './runManager';
import { etaSeconds, stepRate } from '../engine/runs/progress';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.round((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * "step 120/860 · loss 0.4132 · ETA 2m05s" from the last step events of a job: the ETA at the job's step rate (the
 * steps this process trained, not a resumed run's earlier ones), computed as the panels compute theirs.
 */
export function progressText(job: Pick<Job, 'lastStep' | 'stepTimes'>): string {
  const s = job.lastStep;
  if (!s) return 'starting…';
  const eta = etaSeconds(s.totalSteps, s.step, stepRate(job.stepTimes));
  return `step ${s.step}/${s.totalSteps} · loss ${s.loss.toFixed(4)} · ETA ${formatDuration(eta ?? NaN)}`;
}

export class TrainingStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('sbn.training', vscode.StatusBarAlignment.Left, 10);

  constructor() {
    this.item.name = 'SBN Studio training';
    this.item.command = 'sbn.showLog';
  }

  update(jobs: Job[]): void {
    const training = jobs.filter((j) => j.kind === 'train' || j.kind === 'resume');
    if (training.length === 0) {
      this.item.hide();
      void vscode.commands.executeCommand('setContext', 'sbn.trainingActive', false);
      return;
    }
    const job = training[training.length - 1];
    const others = training.length > 1 ? ` (+${training.length - 1})` : '';
    this.item.text = `$(sync~spin) SBN ${job.estimator ?? ''} ${progressText(job)}${others}`;
    this.item.tooltip = `${job.label}${job.runDir ? `\n${job.runDir}` : ''}\nClick to show the SBN Studio log`;
    this.item.show();
    void vscode.commands.executeCommand('setContext', 'sbn.trainingActive', true);
  }

  dispose(): void {
    this.item.dispose();
  }
}
