// Shared by the SBN webview scripts (dashboard, diagnostics, layer statistics, …), one module per concern under
// common/: the VS Code API handle (vscodeApi), the message loop (ready → snapshot → deltas), theme colours from VS
// Code's CSS variables (theme), formatting and DOM helpers (format), the run header (header), uPlot charts with a
// themed legend (chart), bar charts with intervals (bars), each estimator's colour and dash (estimatorStyle), the
// charts against M (mCharts), and PNG and SVG export of a panel's charts (export; CSV and JSON: the host writes those).
// Runs in the webview under a strict CSP: no inline styles in markup (element.style via CSSOM only), no eval, nothing
// from the network.
export * from './common/vscodeApi';
export * from './common/messageLoop';
export * from './common/theme';
export * from './common/format';
export * from './common/header';
export * from './common/chart';
export * from './common/export';
export * from './common/bars';
export * from './common/estimatorStyle';
export * from './common/mCharts';
