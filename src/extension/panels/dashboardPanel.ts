// TrainingDashboardPanel: one per run — loss, accuracy, learning rate, step rate and predictive entropy over
// training steps, live while the run trains (webview/dashboard.ts draws it; runPanel.ts feeds it).
import type { PanelDescriptor } from './runPanel';

export const TrainingDashboardPanel: PanelDescriptor = {
  kind: 'dashboard',
  viewType: 'sbn.dashboard',
  title: (name) => `Training · ${name}`,
  script: 'dashboard',
};
