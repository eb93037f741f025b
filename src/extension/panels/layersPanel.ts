// LayerStatisticsPanel: one per run — the `layerStats` records: per-layer firing rate, entropy, pre-activation
// spread, saturation, weight and gradient norms over training, and pre-activation histograms over time as heatmaps
// (webview/layers.ts draws it; runPanel.ts feeds it).
import type { PanelDescriptor } from './runPanel';

export const LayerStatisticsPanel: PanelDescriptor = {
  kind: 'layers',
  viewType: 'sbn.layerStats',
  title: (name) => `Layers · ${name}`,
  script: 'layers',
};
