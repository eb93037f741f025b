// The Compare Runs panel's data (comparePanel.ts): the `compare` message for a list of followed runs. No vscode
// import: test/unit/webviewCsp.test.ts builds the page's input with it.
import { COMPARE_SERIES, SERIES, type CompareRun, type HostToWebview, type SeriesPayload } from '../../webviewProtocol';
import type { RunState } from '../../webviewProtocol';
import type { RunSeries } from './seriesStore';

/** What compareMessage needs of a LiveRun (a LiveRun is one). */
export interface CompareSource {
  series: RunSeries;
  state(): RunState;
}

/**
 * The compare message for these runs (pure: no vscode; x of every series in epochs when the run's step rate per epoch
 * is known).
 */
export function compareMessage(lives: readonly CompareSource[]): Extract<HostToWebview, { type: 'compare' }> {
  const runs: CompareRun[] = [];
  const series: Record<string, SeriesPayload> = {};
  lives.forEach((live, i) => {
    const st = live.state();
    const rs = live.series;
    const spe = rs.facts.stepsPerEpoch;
    for (const key of COMPARE_SERIES) {
      const ds = rs.series.get(key);
      if (!ds || ds.length === 0) continue;
      const v = ds.view();
      series[`${i}/${key}`] = { x: spe ? v.x.map((s) => Math.round((s / spe) * 1e4) / 1e4) : v.x, y: v.y };
    }
    const acc = rs.series.get(SERIES.evalKey('validation', 'acc_e'))?.raw.y ?? [];
    let best: number | null = null;
    for (const a of acc) if (a !== null && (best === null || a > best)) best = a;
    runs.push({
      runDir: st.runDir,
      name: st.name,
      estimator: st.estimator,
      status: st.status,
      epochs: st.epochs,
      bestValAccE: best,
      lastValULoss: st.lastEval?.validation?.u_loss ?? null,
    });
  });
  return { type: 'compare', runs, series };
}
