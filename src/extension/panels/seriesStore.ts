// The host side of the panels' data: per run, every chart series built from its metrics records, downsampled for
// the webviews, and streamed as snapshot + deltas (src/webviewProtocol/). One module per concern, under series/:
//
//  - downsample.ts: `minMaxDownsample` / `DownsampledSeries`, min-max downsampling to at most `maxPoints` points,
//    kept up to date incrementally as a live series grows.
//  - runSeries.ts: `RunSeries`, records (metrics.jsonl) → series, diagnostics, histograms and header facts.
//  - subscriber.ts: `SeriesSubscriber`, what one panel has been sent; `sendRunUpdate`, a run page's next messages.
//  - throttle.ts: `Throttle`, at most one flush per interval (≤ 10 messages/s).
//  - liveRun.ts: `LiveRun` / `SeriesStore`, the run folder side (tails metrics.jsonl while panels are open).
//  - export.ts: the raw series as CSV or JSON.
// No vscode import: the unit tests use all of it.
export { bucketSize, minMaxDownsample, DownsampledSeries } from './series/downsample';
export { rebin, toDiagnosticsPass, RunSeries, type RunFacts } from './series/runSeries';
export { SeriesSubscriber, sendRunUpdate, type SendCounters } from './series/subscriber';
export { Throttle, type TimerApi } from './series/throttle';
export { LiveRun, SeriesStore, type LiveJobInfo } from './series/liveRun';
export { seriesCsv, seriesJson, parseSeriesJson } from './series/export';
