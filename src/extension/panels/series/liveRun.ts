// The run folder side: `LiveRun` tails metrics.jsonl (`tailMetrics`) on a timer while panels are open, faster while
// the run is running; `SeriesStore` shares one LiveRun between the panels of the same run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  backendSummary,
  describeMetricsProblem,
  describeUnknownKind,
  readConfig,
  readEnvironment,
  readManifest,
  readStatus,
  tailMetrics,
  configFacts,
  environmentFacts,
  META_FILE,
  readRunMeta,
  runLabel,
} from '../../../engine/runs';
import type { RunState, RunStatus } from '../../../webviewProtocol';
import { RunSeries } from './runSeries';
import { etaSeconds, runStep } from '../../../engine/runs/progress';

/** What the window knows of a run besides its folder (a RunManager job training it). */
export interface LiveJobInfo {
  backend?: string;
  estimator?: string;
  totalSteps?: number;
  canStop: boolean;
}

/** One run folder followed for its panels: metrics tailed from a byte offset, status re-read on each poll. */
export class LiveRun {
  series: RunSeries;
  private offset = 0;
  /** Line number of the line at `offset`. */
  private line = 1;
  /** Unknown record kinds already reported (once each). */
  private readonly unknownKinds = new Set<string>();
  private listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private nudgeTimer: NodeJS.Timeout | undefined;
  private lastPoll = 0;
  private statusCache: { status: RunStatus; detail?: string; step?: number } = { status: 'unknown' };
  private config: { estimator?: string; epochs?: number; model?: string; constantLr?: number } = {};
  private backend: string | undefined;
  private backendFacts: { detail?: string; kernels?: string } = {};
  private name: string;
  /** meta.json: the display name shown instead of `name`, and the tags; `metaStamp` tells when it changed. */
  private meta: { displayName?: string; tags: string[] } = { tags: [] };
  private metaStamp = '';
  job: LiveJobInfo | undefined;
  refs = 0;
  /** The problem met by the latest poll, if any. */
  lastError: string | undefined;

  /**
   * `report` receives each problem once, as one line naming the file and line: a corrupt record (skipped), records
   * of a kind this version does not know (skipped; reported once per kind), a failed read.
   */
  constructor(
    readonly runDir: string,
    maxPoints: number,
    private readonly pollMs = 500,
    private readonly report: (problem: string) => void = () => {},
  ) {
    this.series = new RunSeries(maxPoints);
    this.name = path.basename(runDir);
    this.readStatic();
    this.poll();
  }

  private readStatic(): void {
    try {
      this.name = readManifest(this.runDir).name;
    } catch {
      /* not (yet) a complete run */
    }
    try {
      const c = configFacts(readConfig(this.runDir));
      this.config = {
        estimator: c.train?.estimator,
        epochs: c.train?.epochs,
        model: c.model?.name,
        constantLr: c.train?.constantLr,
      };
    } catch {
      /* written just after run.json */
    }
    try {
      const env = environmentFacts(readEnvironment(this.runDir));
      if (env.backend !== undefined) this.backend = env.backend;
      this.backendFacts = { detail: backendSummary(env), kernels: env.kernels };
    } catch {
      /* idem */
    }
  }

  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    this.schedule();
    return {
      dispose: () => {
        this.listeners.delete(listener);
      },
    };
  }

  private fire(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Read what was appended since the last poll; returns true (and notifies) when anything changed. */
  poll(): boolean {
    this.lastPoll = Date.now();
    let changed = false;
    try {
      const t = tailMetrics(this.runDir, this.offset, this.line);
      if (t.reset) {
        // The file was replaced: start over.
        this.series = new RunSeries(this.series.maxPoints);
        this.unknownKinds.clear();
        changed = true;
      }
      this.offset = t.next;
      this.line = t.nextLine;
      if (t.records.length) {
        this.series.ingest(t.records);
        changed = true;
      }
      const problems = t.corrupt.map((c) => describeMetricsProblem(this.runDir, c));
      for (const u of t.unknownKinds) {
        if (this.unknownKinds.has(u.kind)) continue;
        this.unknownKinds.add(u.kind);
        problems.push(describeUnknownKind(this.runDir, u));
      }
      this.lastError = problems.length ? problems.join('; ') : undefined;
      for (const p of problems) this.report(p);
    } catch (e) {
      if (this.lastError !== (e as Error).message) this.report((e as Error).message);
      this.lastError = (e as Error).message;
    }
    if (this.readMeta()) changed = true;
    let status: { status: RunStatus; detail?: string; step?: number };
    try {
      const s = readStatus(this.runDir);
      status = { status: s.status, detail: s.detail, step: s.step };
    } catch {
      status = { status: 'unknown' };
    }
    if (
      status.status !== this.statusCache.status ||
      status.detail !== this.statusCache.detail ||
      status.step !== this.statusCache.step
    ) {
      if (this.config.estimator === undefined || this.backend === undefined || this.backendFacts.detail === undefined)
        this.readStatic();
      this.statusCache = status;
      changed = true;
    }
    if (changed) this.fire();
    return changed;
  }

  /** Reread meta.json when it changed (renamed, tagged: by the Runs view or `sbn run set`); true when it did. */
  private readMeta(): boolean {
    let stamp = 'none';
    try {
      const st = fs.statSync(path.join(this.runDir, META_FILE));
      // an atomic replace makes a new file: its inode tells two quick edits of the same size apart
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      /* no meta.json: no display name, no tags */
    }
    if (stamp === this.metaStamp) return false;
    this.metaStamp = stamp;
    try {
      this.meta = readRunMeta(this.runDir);
    } catch (e) {
      this.meta = { tags: [] };
      this.report((e as Error).message);
    }
    return true;
  }

  private schedule(): void {
    if (this.timer || this.listeners.size === 0) return;
    const running = this.statusCache.status === 'running' || this.job?.canStop;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.poll();
        this.schedule();
      },
      running ? this.pollMs : this.pollMs * 4,
    );
    this.timer.unref?.();
  }

  /**
   * A worker event said something was written, or the job's state changed: poll now (at most every 100 ms) and
   * notify the listeners even when the folder did not change (the run state may have).
   */
  nudge(): void {
    const wait = this.lastPoll + 100 - Date.now();
    if (wait > 0) {
      this.nudgeTimer ??= setTimeout(() => {
        this.nudgeTimer = undefined;
        this.nudge();
      }, wait);
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.poll()) this.fire();
    this.schedule();
  }

  state(): RunState {
    const f = this.series.facts;
    const status = this.statusCache.status;
    const step = runStep(f.step, status, this.statusCache.step);
    const stepsPerEpoch = f.stepsPerEpoch;
    const totalSteps =
      this.job?.totalSteps ??
      (this.config.epochs && stepsPerEpoch ? Math.round(this.config.epochs * stepsPerEpoch) : undefined);
    const live = status === 'running' || !!this.job?.canStop;
    const eta = live ? etaSeconds(totalSteps, step, f.stepsPerSecond) : undefined;
    return {
      runDir: this.runDir,
      name: runLabel({ name: this.name, meta: this.meta }),
      ...(this.meta.tags.length ? { tags: this.meta.tags } : {}),
      status,
      statusDetail: this.statusCache.detail ?? f.diverged,
      model: this.config.model,
      estimator: this.job?.estimator ?? this.config.estimator,
      backend: this.job?.backend ?? this.backend,
      backendDetail: this.backendFacts.detail,
      kernels: this.backendFacts.kernels,
      epoch: f.epoch,
      epochs: this.config.epochs,
      ...(this.config.constantLr !== undefined ? { constantLr: this.config.constantLr } : {}),
      step,
      totalSteps,
      stepsPerSecond: f.stepsPerSecond,
      etaSeconds: eta,
      elapsed: f.elapsed,
      canStop: !!this.job?.canStop && status === 'running',
      lastEval: { ...f.lastEval },
    };
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.nudgeTimer) clearTimeout(this.nudgeTimer);
    this.timer = undefined;
    this.nudgeTimer = undefined;
    this.listeners.clear();
  }
}

/** The LiveRuns of every open panel, shared by the panels of the same run (reference-counted). */
export class SeriesStore {
  private readonly runs = new Map<string, LiveRun>();

  /** `report` receives the problems met reading the runs' folders (see LiveRun). */
  constructor(
    private readonly maxPoints: () => number,
    private readonly pollMs = 500,
    private readonly report?: (problem: string) => void,
  ) {}

  acquire(runDir: string): LiveRun {
    const key = path.resolve(runDir);
    let run = this.runs.get(key);
    if (!run) {
      run = new LiveRun(key, this.maxPoints(), this.pollMs, this.report);
      this.runs.set(key, run);
    }
    run.refs++;
    return run;
  }

  release(run: LiveRun): void {
    if (--run.refs > 0) return;
    run.dispose();
    this.runs.delete(run.runDir);
  }

  get(runDir: string): LiveRun | undefined {
    return this.runs.get(path.resolve(runDir));
  }

  /** `sbn.maxPointsPerSeries` changed: re-bucket every open series (subscribers then re-send them whole). */
  setMaxPoints(maxPoints: number): void {
    for (const r of this.runs.values()) {
      r.series.setMaxPoints(maxPoints);
      r.nudge();
    }
  }

  dispose(): void {
    for (const r of this.runs.values()) r.dispose();
    this.runs.clear();
  }
}
