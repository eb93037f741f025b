// Every message between the extension host and an SBN webview page: the shared ones and each panel family's.
import type { SharedHostMessage, SharedWebviewMessage } from './shared';
import type { RunHostMessage, RunWebviewMessage } from './run';
import type { CompareHostMessage } from './compare';
import type { PreviewHostMessage } from './preview';
import type { EnvironmentHostMessage, EnvironmentWebviewMessage } from './environment';
import type { ReportHostMessage } from './report';
import type { SweepHostMessage, SweepWebviewMessage } from './sweep';
import type { RunsTableHostMessage, RunsTableWebviewMessage } from './runsTable';
import type { ResultHostMessage, ResultWebviewMessage } from './results';

export type HostToWebview =
  | SharedHostMessage
  | RunHostMessage
  | CompareHostMessage
  | PreviewHostMessage
  | EnvironmentHostMessage
  | ReportHostMessage
  | SweepHostMessage
  | RunsTableHostMessage
  | ResultHostMessage;

/** Webview → host. */
export type WebviewToHost =
  | SharedWebviewMessage
  | RunWebviewMessage
  | EnvironmentWebviewMessage
  | SweepWebviewMessage
  | RunsTableWebviewMessage
  | ResultWebviewMessage;

export function isWebviewMessage(m: unknown): m is WebviewToHost {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
