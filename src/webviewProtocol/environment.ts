// SBN: Show Environment (src/extension/panels/environmentPanel.ts): the report, or that it is being computed, or why
// it could not be.
import type { EnvironmentReport } from '../environmentReport';

/** What the environment panel shows. */
export interface EnvironmentViewState {
  status: 'computing' | 'done' | 'error';
  report?: EnvironmentReport;
  message?: string;
}

/** Host → the environment panel. */
export type EnvironmentHostMessage = { type: 'environment'; state: EnvironmentViewState };

/** Environment panel buttons: compute the report again; copy it as JSON (the host writes the clipboard). */
export type EnvironmentWebviewMessage = { type: 'environmentAction'; action: 'refresh' | 'copyJson' };
