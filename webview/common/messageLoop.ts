// The message loops: a run page's (ready → snapshot → deltas, renders coalesced to one per animation frame), and
// that of a page the host sends whole (compare, preview); the `ready` handshake and render errors of both.
import {
  applySeriesDelta,
  type HostToWebview,
  type PanelExtras,
  type RunState,
  type SeriesPayload,
} from '../../src/webviewProtocol';
import { post } from './vscodeApi';
import { toast } from './format';

/** A failure drawing the page goes to the extension's log (the webview's console is out of sight). */
export function logPageError(where: string, e: unknown): void {
  post({ type: 'error', message: `${where}: ${(e as Error).stack ?? String(e)}` });
}

/** Say `ready` now and whenever the page becomes visible again: the host answers with everything the page shows. */
export function announceReady(): void {
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') post({ type: 'ready' });
  });
  post({ type: 'ready' });
}

/** The loop of a page the host sends whole: `draw` each message of type `type`, then say `ready`. */
export function followWholeState<K extends HostToWebview['type']>(
  type: K,
  draw: (message: Extract<HostToWebview, { type: K }>) => void,
): void {
  window.addEventListener('message', (event: MessageEvent<HostToWebview>) => {
    const m = event.data;
    if (m?.type === 'exported') toast(m.ok ? `Saved ${m.file ?? ''}` : (m.message ?? 'Export failed'), !m.ok);
    if (m?.type !== type) return;
    try {
      draw(m as Extract<HostToWebview, { type: K }>);
    } catch (e) {
      logPageError('render', e);
    }
  });
  announceReady();
}

/** The panel's data as received: series (snapshot + deltas), extras and the run state. */
export class PanelData {
  series: Record<string, SeriesPayload> = {};
  extras: PanelExtras = {};
  run: RunState | undefined;
  /** Bumped on each snapshot (charts whose set of series changed rebuild). */
  generation = 0;
}

/**
 * The message loop: says `ready` now and whenever the page becomes visible again, keeps `data` up to date and calls
 * `render` (at most once per animation frame) after each change.
 */
export function startMessageLoop(
  data: PanelData,
  render: (what: { series: boolean; run: boolean; extras: boolean }) => void,
): void {
  let pending = { series: false, run: false, extras: false };
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const what = pending;
    pending = { series: false, run: false, extras: false };
    try {
      render(what);
    } catch (e) {
      logPageError('render', e);
    }
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    // requestAnimationFrame does not run in a hidden page; a timer backs it up.
    let done = false;
    const once = () => {
      if (!done) {
        done = true;
        flush();
      }
    };
    requestAnimationFrame(once);
    setTimeout(once, 120);
  };
  window.addEventListener('message', (event: MessageEvent<HostToWebview>) => {
    const m = event.data;
    if (!m || typeof m !== 'object') return;
    switch (m.type) {
      case 'snapshot':
        data.series = m.series;
        data.extras = m.extras ?? {};
        data.run = m.run;
        data.generation++;
        pending = { series: true, run: true, extras: true };
        schedule();
        break;
      case 'delta':
        for (const [k, d] of Object.entries(m.series)) {
          const s = (data.series[k] ??= { x: [], y: [] });
          applySeriesDelta(s, d);
        }
        if (m.extras) {
          data.extras = { ...data.extras, ...m.extras };
          pending.extras = true;
        }
        pending.series = true;
        schedule();
        break;
      case 'runState':
        data.run = m.run;
        pending.run = true;
        schedule();
        break;
      case 'exported':
        toast(m.ok ? `Saved ${m.file ?? ''}` : (m.message ?? 'Export failed'), !m.ok);
        break;
      default:
        break;
    }
  });
  announceReady();
}
