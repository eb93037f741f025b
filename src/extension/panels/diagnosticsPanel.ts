// GradientDiagnosticsPanel: one per run — the `diagnostics` records (the paper's Figure-1 quantities while
// training): per layer, relative RMSE and cosine similarity to the reference gradient against the number of
// samples M for each estimator at the latest pass, their evolution over training, and a table of the latest values
// (webview/diagnostics.ts draws it; runPanel.ts feeds it).
import type { PanelDescriptor } from './runPanel';

export const GradientDiagnosticsPanel: PanelDescriptor = {
  kind: 'diagnostics',
  viewType: 'sbn.diagnostics',
  title: (name) => `Gradients · ${name}`,
  script: 'diagnostics',
};
