// The message loop: ready → snapshot → deltas, renders coalesced to one per animation frame.
import {
  applySeriesDelta,
  type HostToWebview,
  type PanelExtras,
  type RunState,
  type SeriesPayload,
} from '../../src/webviewProtocol';
import { post } from './vscodeApi';
import { toast } from './format';

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
      post({ type: 'error', message: `render: ${(e as Error).stack ?? String(e)}` });
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
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') post({ type: 'ready' });
  });
  post({ type: 'ready' });
}
