// The VS Code API handle (absent outside VS Code), the webview state, and page errors forwarded to the host.
import type { WebviewToHost } from '../../src/webviewProtocol';

interface VsCodeApi<S> {
  postMessage(message: WebviewToHost): void;
  getState(): S | undefined;
  setState(state: S): void;
}
declare const acquireVsCodeApi: (<S>() => VsCodeApi<S>) | undefined;

/** What every panel keeps in the webview state (restored after a reload; the serializer reads `runDir`). */
export interface BaseViewState {
  runDir?: string;
}

// Absent when a page runs outside VS Code (an experiment report opened in a browser, or rendered to PNG). A panel
// page's load guard (src/panelLoadGuard.ts) has acquired it already: a page may acquire it only once.
const guarded = (window as { sbnVsCodeApi?: VsCodeApi<Record<string, unknown>> }).sbnVsCodeApi;
const api =
  guarded ?? (typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi<Record<string, unknown>>() : undefined);
document.getElementById('loading')?.remove();

/** True inside a VS Code webview. */
export const inVsCode = api !== undefined;

export function post(message: WebviewToHost): void {
  api?.postMessage(message);
}

export function loadState<S extends BaseViewState>(defaults: S): S {
  return { ...defaults, ...(api?.getState() as Partial<S> | undefined) };
}

export function saveState<S extends BaseViewState>(state: S): void {
  api?.setState(state as unknown as Record<string, unknown>);
}

/** Show or hide the series `key` in a page's charts: its saved `hidden` list, saved. */
export function toggleHidden<S extends BaseViewState & { hidden: string[] }>(state: S, key: string): void {
  state.hidden = state.hidden.includes(key) ? state.hidden.filter((k) => k !== key) : [...state.hidden, key];
  saveState(state);
}

// Errors go to the extension's log (the webview's console is out of sight).
window.addEventListener('error', (e) => post({ type: 'error', message: `${e.message} (${e.filename}:${e.lineno})` }));
window.addEventListener('unhandledrejection', (e) => post({ type: 'error', message: String(e.reason) }));
