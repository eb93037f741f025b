// The host side of every SBN webview (run panels, Compare, Active Run view, Model Preview, Environment, Report): the
// handshake they share. The page says `ready` when it has loaded (again, after being hidden: no
// retainContextWhenHidden); only then, and only while it is visible, does the host post (VS Code drops messages to a
// page that is not there, which is counted as `lost` and asks for a fresh snapshot). The page reports `rendered` and
// `error` (kept, the last 20, for `sbn.panelState`). A subclass sends its own messages from `flush()` and handles
// the rest of its page's messages in `onPanelMessage()`. A page whose files did not load retries them by itself
// (src/panelLoadGuard.ts): the host logs what it reports, and renders the page anew when the user asks ("Reload
// panel").
import * as vscode from 'vscode';
import { isWebviewMessage, type HostToWebview, type PanelKind, type WebviewToHost } from '../../webviewProtocol';
import { Throttle } from './series/throttle';
import { makeNonce, panelHtml } from '../../html';

/** What a panel has done, for the `sbn.panelState` command (tests, troubleshooting). */
export interface PanelState {
  kind: PanelKind;
  runDir: string;
  title: string;
  visible: boolean;
  active: boolean;
  ready: boolean;
  snapshots: number;
  deltas: number;
  runStates: number;
  /** Messages VS Code refused (posted while the page was not there). */
  lost: number;
  /** The page's last report: points drawn per series. */
  rendered?: { points: Record<string, number>; charts: number; extras?: Record<string, number>; at: number };
  errors: string[];
  /** The page's last trouble loading its files (none: they loaded at the first try). */
  load?: PageLoadState;
}

/** What the page's load guard reported last. */
export interface PageLoadState {
  /** The files that did not load (none: the script loaded but did not start). */
  resources: string[];
  /** The try that failed, or the one that loaded them (`recovered`). */
  attempt: number;
  attempts: number;
  recovered: boolean;
  /** No retry was left: the page offers "Reload panel". */
  final: boolean;
  /** Times the user asked for the page anew. */
  reloads: number;
}

/** The counters a host keeps (the part of PanelState that is not read off the panel). */
export type HostStats = Omit<PanelState, 'kind' | 'runDir' | 'title' | 'visible' | 'active' | 'ready'>;

/** The page's errors kept for `sbn.panelState`. */
const MAX_ERRORS = 20;

export interface WebviewHostOptions<X extends object> {
  log: vscode.LogOutputChannel;
  /** How the host names itself in the log (`<label>: <page error>`). */
  label: () => string;
  /** Coalesce flushes to at most one per this many ms (none: every change flushes at once). */
  throttleMs?: number;
  /** Counters of this host beyond HostStats (e.g. jobs started). */
  extraStats?: X;
  /** Cut each page error to this many characters. */
  maxErrorChars?: number;
}

export abstract class WebviewHost<X extends object = Record<never, never>> implements vscode.Disposable {
  protected ready = false;
  /** The page must be sent the whole state at the next flush (it (re)loaded, showed again or lost a message). */
  protected needsSnapshot = true;
  protected disposed = false;
  protected readonly stats: HostStats & X;
  protected readonly throttle: Throttle | undefined;
  protected readonly disposables: vscode.Disposable[] = [];
  private readonly closed = new vscode.EventEmitter<void>();
  readonly onDidClose = this.closed.event;

  constructor(private readonly hostOptions: WebviewHostOptions<X>) {
    const extra = hostOptions.extraStats ?? ({} as X);
    this.stats = { snapshots: 0, deltas: 0, runStates: 0, lost: 0, errors: [], ...extra };
    const ms = hostOptions.throttleMs;
    this.throttle = ms === undefined ? undefined : new Throttle(() => this.flush(), ms);
  }

  /** The page's webview (none while a view is not resolved). */
  protected abstract get webview(): vscode.Webview | undefined;
  protected abstract get visible(): boolean;
  /** Send the page what it has not seen (the whole state when `needsSnapshot`). */
  protected abstract flush(): void;

  /** Something changed: flush now or, with a throttle, soon. */
  protected schedule(): void {
    if (this.throttle) this.throttle.schedule();
    else this.flush();
  }

  /** The page shows again: it gets a fresh snapshot. */
  protected onVisible(): void {
    this.needsSnapshot = true;
    this.schedule();
  }

  /** Whether a flush may post now; a hidden page is marked for a snapshot when it shows again. */
  protected canPost(): boolean {
    if (this.disposed || !this.ready || !this.webview) return false;
    if (!this.visible) {
      this.needsSnapshot = true;
      return false;
    }
    return true;
  }

  protected post(message: HostToWebview): void {
    const webview = this.webview;
    if (!webview) return;
    void webview.postMessage(message).then(
      (ok) => {
        if (!ok) {
          this.stats.lost++;
          this.needsSnapshot = true;
        }
      },
      () => {
        /* disposed meanwhile */
      },
    );
  }

  /** A message from the page: the handshake here, the rest in onPanelMessage. */
  protected onMessage(m: unknown): void {
    if (!isWebviewMessage(m)) return;
    const msg = m;
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        this.needsSnapshot = true;
        this.throttle?.dispose();
        this.flush();
        break;
      case 'rendered':
        this.stats.rendered = { points: msg.points, charts: msg.charts, extras: msg.extras, at: Date.now() };
        break;
      case 'loadProblem':
      case 'loadRecovered':
      case 'reloadPage':
        this.onLoadMessage(msg);
        break;
      case 'error': {
        const max = this.hostOptions.maxErrorChars;
        const text = max === undefined ? msg.message : String(msg.message).slice(0, max);
        this.stats.errors.push(text);
        if (this.stats.errors.length > MAX_ERRORS) this.stats.errors.shift();
        this.hostOptions.log.warn(`${this.hostOptions.label()}: ${text}`);
        break;
      }
      default:
        this.onPanelMessage?.(msg);
        break;
    }
  }

  /** The load guard's reports, logged; "Reload panel" renders the page anew. */
  private onLoadMessage(msg: Extract<WebviewToHost, { type: 'loadProblem' | 'loadRecovered' | 'reloadPage' }>): void {
    const log = this.hostOptions.log;
    const label = this.hostOptions.label();
    const load = (this.stats.load ??= {
      resources: [],
      attempt: 1,
      attempts: 1,
      recovered: false,
      final: false,
      reloads: 0,
    });
    if (msg.type === 'loadProblem') {
      const { resources, attempt, attempts, final } = msg;
      Object.assign(load, { resources, attempt, attempts, recovered: false, final });
      const files = msg.resources.length ? msg.resources.join(', ') : 'none missing, but the script did not start';
      if (msg.final)
        log.error(`${label}: the page's files did not load after ${msg.attempts} tries (${files}); it offers Reload`);
      else log.warn(`${label}: the page's files did not load (${files}), try ${msg.attempt} of ${msg.attempts}`);
    } else if (msg.type === 'loadRecovered') {
      Object.assign(load, { attempt: msg.attempt, recovered: true, final: false });
      log.info(`${label}: the page's files loaded at try ${msg.attempt}`);
    } else {
      load.reloads++;
      log.info(`${label}: Reload panel`);
      this.ready = false;
      this.needsSnapshot = true;
      this.renderPage();
    }
  }

  /** Put the page's HTML into the webview again (fresh nonce): "Reload panel". */
  protected abstract renderPage(): void;

  /** The page's own messages (stop, export, commands…); a page that sends none leaves it out. */
  protected onPanelMessage?(msg: WebviewToHost): void;

  /** The handshake's part of `sbn.panelState`: ready and the counters (a copy of the errors). */
  protected hostState(): { ready: boolean } & HostStats & X {
    const load = this.stats.load && { ...this.stats.load, resources: this.stats.load.resources.slice() };
    return { ready: this.ready, ...this.stats, errors: this.stats.errors.slice(), ...(load ? { load } : {}) };
  }

  /** Release what the subclass holds (runs, jobs, timers), once its listeners are gone. */
  protected release(): void {
    /* nothing by default */
  }

  /** Close the page itself (a panel), after onDidClose fired. */
  protected closeView(): void {
    /* nothing by default */
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.throttle?.dispose();
    for (const d of this.disposables) d.dispose();
    this.release();
    this.closed.fire();
    this.closed.dispose();
    this.closeView();
  }
}

export interface PanelPage {
  extensionUri: vscode.Uri;
  title: string;
  /** dist/webview/<script>.js */
  script: string;
  /** Style sheets before media/webview.css (dist/webview/<name>.css). */
  scriptStyles?: string[];
  loadingText?: string;
}

/** Load one of the extension's pages into a webview: only dist/webview and media are loadable, strict CSP. */
export function showExtensionPage(webview: vscode.Webview, page: PanelPage): void {
  const dist = vscode.Uri.joinPath(page.extensionUri, 'dist', 'webview');
  const media = vscode.Uri.joinPath(page.extensionUri, 'media');
  webview.options = { enableScripts: true, localResourceRoots: [dist, media] };
  const styles = [
    ...(page.scriptStyles ?? []).map((s) => vscode.Uri.joinPath(dist, `${s}.css`)),
    vscode.Uri.joinPath(media, 'webview.css'),
  ];
  webview.html = panelHtml({
    cspSource: webview.cspSource,
    nonce: makeNonce(),
    title: page.title,
    ...(page.loadingText ? { loadingText: page.loadingText } : {}),
    styles: styles.map((u) => webview.asWebviewUri(u).toString()),
    scripts: [webview.asWebviewUri(vscode.Uri.joinPath(dist, `${page.script}.js`)).toString()],
  });
}

/** A host whose page is a WebviewPanel: the extension's page under the strict CSP, closed with the panel. */
export abstract class WebviewPanelHost<X extends object = Record<never, never>> extends WebviewHost<X> {
  constructor(
    readonly panel: vscode.WebviewPanel,
    options: WebviewHostOptions<X>,
  ) {
    super(options);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      panel.onDidChangeViewState(() => {
        if (panel.visible) this.onVisible();
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  private page: PanelPage | undefined;

  /** Load the extension's page (dist/webview/<script>.js) under the strict CSP. */
  protected showPage(page: PanelPage): void {
    this.page = page;
    this.panel.iconPath = vscode.Uri.joinPath(page.extensionUri, 'media', 'sbn-activity.svg');
    showExtensionPage(this.panel.webview, page);
  }

  protected renderPage(): void {
    if (this.page && !this.disposed) showExtensionPage(this.panel.webview, this.page);
  }

  protected get webview(): vscode.Webview {
    return this.panel.webview;
  }

  protected get visible(): boolean {
    return this.panel.visible;
  }

  /** The panel's own part of `sbn.panelState`. */
  protected panelState(): Pick<PanelState, 'title' | 'visible' | 'active'> {
    return { title: this.panel.title, visible: this.panel.visible, active: this.panel.active };
  }

  protected override closeView(): void {
    this.panel.dispose();
  }
}

/** The one open panel of a kind (Compare, Model Preview, Environment): forgotten when it closes. */
export class PanelSlot<T extends WebviewHost<object>> implements vscode.Disposable {
  current: T | undefined;

  adopt(host: T): T {
    this.current = host;
    host.onDidClose(() => {
      if (this.current === host) this.current = undefined;
    });
    return host;
  }

  dispose(): void {
    this.current?.dispose();
  }
}
