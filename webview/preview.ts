// Model Preview (src/extension/panels/previewPanel.ts feeds it): the followed model file's layers — shapes, parameter
// and binary-unit counts — and per-layer gradient variance / SNR of a few estimators on a small batch; or the file's
// problems. The host sends the whole state in one `preview` message.
import { type ModelPreviewState } from '../src/webviewProtocol';
import { el, fmt, followWholeState, post, saveState, valuesTable, type BaseViewState } from './common';

/** The page's state: the followed model file (the serializer follows it again after a window reload). */
interface PreviewViewState extends BaseViewState {
  fileUri?: string;
}

const header = el('header', 'run-header');
const titleRow = el('div', 'title-row');
const name = el('h1', 'run-name', 'Model preview');
const badge = el('span', 'status-badge', '');
titleRow.append(el('span', 'panel-kind', 'Preview'), name, badge);
const fileLine = el('div', 'facts');
header.append(titleRow, fileLine);
const body = el('main', 'preview');
body.id = 'preview';
document.body.append(header, body);

const shape = (s: number[]) => `[${s.join(', ')}]`;
const count = (n: number) => n.toLocaleString('en-US');

function render(s: ModelPreviewState): void {
  // restored after a window reload: the serializer follows this file again
  if (s.fileUri) saveState<PreviewViewState>({ fileUri: s.fileUri });
  fileLine.replaceChildren(el('span', 'fact', s.file));
  const parts: HTMLElement[] = [];
  let gradientRows = 0;
  if (s.errors?.length) {
    name.textContent = 'Problems in the model file';
    badge.textContent = `${s.errors.length} problem${s.errors.length === 1 ? '' : 's'}`;
    badge.dataset.status = 'crashed';
    const box = el('section', 'empty-state preview-errors');
    box.id = 'problems';
    box.append(el('h2', '', 'The model file has problems; the preview shows it again once they are fixed.'));
    const list = el('ul', 'preview-error-list');
    for (const e of s.errors)
      list.append(
        el(
          'li',
          '',
          (e.line !== undefined ? `line ${e.line}${e.column !== undefined ? `:${e.column}` : ''}: ` : '') + e.message,
        ),
      );
    box.append(list);
    parts.push(box);
  } else if (s.model) {
    const m = s.model;
    name.textContent = m.name;
    badge.textContent = '';
    delete badge.dataset.status;
    fileLine.append(
      el('span', 'fact', `input ${shape(m.input)}`),
      el('span', 'fact', `${count(m.params)} parameters`),
      el('span', 'fact', `${count(m.binaryUnits)} binary units`),
      ...(m.estimator ? [el('span', 'fact', `trains with ${m.estimator}`)] : []),
    );
    parts.push(el('h2', 'section-title', 'Layers'));
    parts.push(
      valuesTable(
        'layers-table',
        ['layer', 'type', 'in', 'out', 'parameters', 'binary units'],
        [
          ...m.layers.map((l) => [
            l.name,
            l.type,
            shape(l.inShape),
            shape(l.outShape),
            count(l.params),
            count(l.binaryUnits),
          ]),
          ['total', '', '', '', count(m.params), count(m.binaryUnits)],
        ],
        (i) => i >= 4,
      ),
    );
    parts.push(el('h2', 'section-title', 'Gradient variance and SNR on a small batch'));
    const g = s.gradients;
    if (g.status === 'computing') {
      parts.push(
        el('p', 'section-note computing', 'Computing per-layer gradient statistics of psa, dste, reinforce and arm…'),
      );
    } else if (g.status === 'error' || g.status === 'unavailable') {
      parts.push(
        el(
          'p',
          `section-note${g.status === 'error' ? ' error' : ''}`,
          g.message ?? 'Gradient statistics are not available.',
        ),
      );
    } else if (g.result) {
      const r = g.result;
      parts.push(
        el(
          'p',
          'section-note',
          `${r.draws} draws per estimator on ${r.note}; ` +
            `reference: ${r.reference === 'exact' ? 'the exact gradient' : 'an unbiased mean'}. ` +
            'variance = trace of the covariance of one draw; SNR = ‖mean‖² / variance; ' +
            `cos = cosine of one draw to the reference. ${fmt(r.seconds, 3)} s.`,
        ),
      );
      const rows: string[][] = [];
      r.layers.forEach((layer, k) => {
        for (const e of r.estimators) {
          const l = e.layers[k];
          rows.push([layer, e.estimator, fmt(l.variance), fmt(l.snr), fmt(l.cos1, 3), fmt(l.bias, 3)]);
        }
      });
      gradientRows = rows.length;
      parts.push(
        valuesTable(
          'gradients-table',
          ['layer', 'estimator', 'variance', 'SNR', 'cos (M=1)', 'rel. bias'],
          rows,
          (i) => i >= 2,
        ),
      );
    }
  }
  body.replaceChildren(...parts);
  document.title = `Preview: ${s.file}`;
  post({
    type: 'rendered',
    points: {},
    charts: 0,
    extras: {
      version: s.version,
      problems: s.errors?.length ?? 0,
      layers: s.model?.layers.length ?? 0,
      gradientRows,
      computing: s.gradients.status === 'computing' ? 1 : 0,
    },
  });
}

followWholeState('preview', (m) => render(m.state));
