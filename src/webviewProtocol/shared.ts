// What every SBN webview page and its host share: the kinds of panel, a run's status, the handshake (`ready`), page
// errors, the export requests and their answer, and the `rendered` report. Free of Node, vscode and engine imports
// (the webview scripts import it) — except the types of the run folder's records (src/engine/runs/records.ts, which
// imports nothing), so that what the panels receive is what metrics.jsonl holds.
//
// The host owns the data (docs/testing.md, "Webview behaviour the panels rely on": a hidden webview without
// retainContextWhenHidden loses messages and reloads on reveal). A webview says `ready` whenever its page (re)loads or
// becomes visible; the host answers with everything that panel shows (a `snapshot`, or the family's whole-state
// message), then streams updates.
import type { RunStatus as RecordedStatus } from '../engine/runs/records';

/** A run's status.json `status`, or `unknown` when it cannot be read. */
export type RunStatus = RecordedStatus | 'unknown';

/** `activeRun`: the sidebar view (src/extension/panels/activeRunView.ts); `compare`: the Compare Runs panel. */
/** `report`: an experiment report (src/extension/panels/reportPanel.ts). */
/** `runsTable`: the Runs table (src/extension/panels/runsTablePanel.ts). */
/** `estimatorComparison`, `runEvaluation`: the result panels (src/extension/panels/resultPanels.ts). */
export type PanelKind =
  | 'dashboard'
  | 'diagnostics'
  | 'layers'
  | 'activeRun'
  | 'compare'
  | 'preview'
  | 'environment'
  | 'report'
  | 'sweep'
  | 'runsTable'
  | 'estimatorComparison'
  | 'runEvaluation';

/** Host → webview, any page: the outcome of an export the page asked for. */
export type SharedHostMessage = { type: 'exported'; ok: boolean; file?: string; message?: string };

/** Webview → host, any page. */
export type SharedWebviewMessage =
  /** The page (re)loaded or became visible: send a snapshot. */
  | { type: 'ready' }
  /**
   * Save the charts as an image (`dataUrl`: image/png; `svg`: an SVG document built from the drawn data), or the
   * panel's series as CSV or JSON (those the host writes: it has the full resolution).
   */
  | { type: 'export'; format: 'png'; dataUrl: string; name: string }
  | { type: 'export'; format: 'svg'; svg: string; name: string }
  | { type: 'export'; format: 'csv' | 'json'; name: string }
  /** What the page drew after a message (for tests and the panel-state command): points per series. */
  | { type: 'rendered'; points: Record<string, number>; charts: number; extras?: Record<string, number> }
  /** A page error, forwarded to the extension's log. */
  | { type: 'error'; message: string }
  /**
   * The page's files that did not load at try `attempt` of `attempts` (src/panelLoadGuard.ts); `final`: no retry is
   * left and the page offers "Reload panel". No files named: the script loaded but did not start.
   */
  | { type: 'loadProblem'; resources: string[]; attempt: number; attempts: number; final: boolean }
  /** They loaded at try `attempt`. */
  | { type: 'loadRecovered'; attempt: number }
  /** "Reload panel": the host renders the page anew. */
  | { type: 'reloadPage' };
