// The Compare Runs panel (src/extension/panels/comparePanel.ts): everything it shows, sent whole (throttled).
import type { RunStatus } from './shared';
import type { SeriesPayload } from './series';

/** One run of the Compare Runs panel; its series are `<index>/<key>` (index into `runs`, key as in SERIES). */
export interface CompareRun {
  runDir: string;
  name: string;
  estimator?: string;
  status: RunStatus;
  /** Best validation acc_e, final validation u_loss (the table). */
  bestValAccE?: number | null;
  lastValULoss?: number | null;
  epochs?: number;
}

/** Host → Compare Runs: the runs and their series (x of every series is the epoch). */
export type CompareHostMessage = { type: 'compare'; runs: CompareRun[]; series: Record<string, SeriesPayload> };
