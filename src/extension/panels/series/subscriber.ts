// What one panel has been sent: `snapshot()` and `delta()` reproduce the store's view exactly; `sendRunUpdate`
// picks the next messages for a page that follows a run.
import {
  panelWants,
  type HostToWebview,
  type PanelExtras,
  type PanelKind,
  type RunState,
  type SeriesDelta,
  type SeriesPayload,
} from '../../../webviewProtocol';
import type { LiveRun } from './liveRun';
import type { RunSeries } from './runSeries';

/** What one webview has been sent; `snapshot()` resets it, `delta()` sends what changed since. */
export class SeriesSubscriber {
  private sent = new Map<string, { version: number; stable: number; n: number }>();
  private extrasVersion = -1;
  private run: RunSeries;

  /** `source` gives the run's current RunSeries (a LiveRun replaces it when metrics.jsonl is replaced). */
  constructor(
    private readonly source: () => RunSeries,
    readonly panel: PanelKind,
  ) {
    this.run = source();
  }

  /** True when the source was replaced since the last snapshot: send a snapshot, not a delta. */
  get stale(): boolean {
    return this.source() !== this.run;
  }

  snapshot(): { series: Record<string, SeriesPayload>; extras: PanelExtras } {
    this.run = this.source();
    this.sent.clear();
    const series: Record<string, SeriesPayload> = {};
    for (const [k, s] of this.run.series) {
      if (!panelWants(this.panel, k)) continue;
      series[k] = s.view();
      this.sent.set(k, { version: s.version, stable: s.stableLength, n: s.length });
    }
    this.extrasVersion = this.run.extrasVersion;
    return { series, extras: this.run.extras(this.panel) };
  }

  /** Changes since the last snapshot or delta; null when there are none. */
  delta(): { series: Record<string, SeriesDelta>; extras?: PanelExtras } | null {
    if (this.stale) return null;
    const series: Record<string, SeriesDelta> = {};
    let any = false;
    for (const [k, s] of this.run.series) {
      if (!panelWants(this.panel, k)) continue;
      const was = this.sent.get(k);
      if (was && was.version === s.version && was.n === s.length) continue;
      const from = was && was.version === s.version ? was.stable : 0;
      series[k] = { from, ...s.viewFrom(from) };
      this.sent.set(k, { version: s.version, stable: s.stableLength, n: s.length });
      any = true;
    }
    let extras: PanelExtras | undefined;
    if (this.run.extrasVersion !== this.extrasVersion) {
      this.extrasVersion = this.run.extrasVersion;
      if (this.panel !== 'dashboard') {
        extras = this.run.extras(this.panel);
        any = true;
      }
    }
    return any ? { series, ...(extras ? { extras } : {}) } : null;
  }
}

/** What a run page has been sent (PanelState counters, for sbn.panelState). */
export interface SendCounters {
  snapshots: number;
  deltas: number;
  runStates: number;
}

/**
 * The next messages for a page that follows a run: the full snapshot when it needs one (`snapshot`: first time, after
 * a lost message or a hidden spell; or when the subscription went stale), else the new points and, if it changed,
 * the run state. `lastRunState` is the JSON of the run state the page has; the one it has afterwards comes back.
 */
export function sendRunUpdate(o: {
  panel: PanelKind;
  live: LiveRun;
  sub: SeriesSubscriber;
  snapshot: boolean;
  lastRunState: string;
  post: (message: HostToWebview) => void;
  counters: SendCounters;
}): { run: RunState; lastRunState: string } {
  const run = o.live.state();
  const runJson = JSON.stringify(run);
  if (o.snapshot || o.sub.stale) {
    const { series, extras } = o.sub.snapshot();
    o.post({ type: 'snapshot', panel: o.panel, run, series, extras, maxPoints: o.live.series.maxPoints });
    o.counters.snapshots++;
    return { run, lastRunState: runJson };
  }
  const d = o.sub.delta();
  if (d) {
    o.post({ type: 'delta', ...d });
    o.counters.deltas++;
  }
  if (runJson !== o.lastRunState) {
    o.post({ type: 'runState', run });
    o.counters.runStates++;
  }
  return { run, lastRunState: runJson };
}
