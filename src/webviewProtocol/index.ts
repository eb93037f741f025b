// The typed messages between the extension host and the SBN webview pages (src/extension/panels/ and webview/*.ts):
// shared.ts (handshake, errors, export, panel kinds), series.ts (series, deltas, series keys), one file per panel
// family (run pages, compare, preview, environment, report) and messages.ts (the unions of them all).
export * from './shared';
export * from './series';
export * from './run';
export * from './compare';
export * from './preview';
export * from './environment';
export * from './report';
export * from './sweep';
export * from './runsTable';
export * from './results';
export * from './messages';
