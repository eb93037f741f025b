// SBN: Show Environment (src/extension/panels/environmentPanel.ts feeds it): the environment report of `sbn doctor`
// as tables — versions, backends and why each loads or not, the native backend and kernels, GPUs, data sets and where
// they are found, runs folders — with Copy as JSON and Refresh. The host sends the whole state in one message.
import type { EnvironmentReport } from '../src/environmentReport';
import type { EnvironmentViewState, HostToWebview } from '../src/webviewProtocol';
import { el, post, valuesTable } from './common';

const header = el('header', 'run-header');
const titleRow = el('div', 'title-row');
const badge = el('span', 'status-badge', '');
const refresh = document.createElement('vscode-button');
refresh.id = 'refresh';
refresh.textContent = 'Refresh';
refresh.setAttribute('secondary', '');
refresh.addEventListener('click', () => post({ type: 'environmentAction', action: 'refresh' }));
const copy = document.createElement('vscode-button');
copy.id = 'copy-json';
copy.textContent = 'Copy as JSON';
copy.addEventListener('click', () => post({ type: 'environmentAction', action: 'copyJson' }));
const buttons = el('span', 'toolbar-group');
buttons.append(copy, refresh);
titleRow.append(
  el('span', 'panel-kind', 'Environment'),
  el('h1', 'run-name', 'SBN Studio environment'),
  badge,
  el('span', 'spacer'),
  buttons,
);
const facts = el('div', 'facts');
header.append(titleRow, facts);
const body = el('main', 'preview environment');
body.id = 'environment';
document.body.append(header, body);

function fact(label: string, value: string): HTMLElement {
  const f = el('span', 'fact');
  f.append(el('span', 'fact-label', `${label} `), el('span', 'fact-value', value));
  return f;
}

function section(title: string, id: string, head: string[], rows: string[][], note?: string): HTMLElement {
  const s = el('section');
  s.append(el('h2', 'section-title', title));
  if (note) s.append(el('p', 'section-note', note));
  s.append(valuesTable(id, head, rows));
  return s;
}

function render(r: EnvironmentReport): void {
  facts.replaceChildren(
    fact('SBN Studio', r.sbnVersion),
    ...(r.vscode
      ? [fact('VS Code', `${r.vscode.version}${r.vscode.remoteName ? ` (remote: ${r.vscode.remoteName})` : ''}`)]
      : []),
    fact('Node.js', `${r.node.version} on ${r.node.platform}-${r.node.arch}`),
    fact('CPU', `${r.node.cpuModel} × ${r.node.cpus}`),
    fact('Memory', `${r.node.memoryGiB} GiB`),
  );
  const n = r.native;
  const k = n.kernels;
  body.replaceChildren(
    section(
      'Backends',
      'backends',
      ['backend', 'loads', 'details', 'seconds'],
      r.backends.map((b) => [
        b.name,
        b.loads ? 'yes' : 'no',
        b.loads ? (b.detail ?? '') : `cannot load: ${b.reason ?? ''}`,
        b.seconds.toFixed(1),
      ]),
      `Preferred: ${r.preferredBackend} (setting sbn.backend); ` +
        `a run uses: ${r.selectedBackend ?? 'none — nothing loads'}.`,
    ),
    section(
      'Native backend',
      'native',
      ['', ''],
      [
        ['state', n.setUp ? 'set up' : `not set up: ${n.why ?? ''}`],
        [
          'binding',
          n.folder
            ? `${n.folder} (${n.origin === 'setup' ? 'set-up folder' : 'checkout'})`
            : 'none found (SBN: Set Up Native Backend builds one)',
        ],
        ['set-up folder', n.setupDir],
        [
          'libtensorflow',
          (n.libtensorflow.version ?? '?') +
            (n.libtensorflow.path ? ` (${n.libtensorflow.path})` : ' (not found)') +
            (n.libtensorflow.gpu ? ', GPU build' : ''),
        ],
        ['TensorFlow devices', n.devices.length ? n.devices.join(', ') : 'not listed (the set-up lists them)'],
        ['PSA kernels', `${k.detail}${k.path ? ` from ${k.path}` : ''}`],
        ['instruction sets', k.isas.length ? k.isas.join(', ') : 'unknown (kernels not loaded)'],
        ['GPUs', n.gpus.length ? n.gpus.join(', ') : 'none found'],
      ],
    ),
    section(
      'Data sets',
      'datasets',
      ['data set', 'found', 'where (searched in this order)'],
      r.datasets.map((d) => [
        d.name,
        d.found ? 'yes' : 'no — Train Model offers the download',
        d.locations.map((l) => `${l.found ? '✓' : '·'} ${l.label}`).join('\n'),
      ]),
      `Downloads go to ${r.dataStores.downloadsTo}. A model file's data.path wins over all of these.`,
    ),
    section(
      'Runs folders',
      'runs',
      ['folder', 'runs'],
      r.runsFolders.map((f) => [f.dir, f.exists ? String(f.runs) : 'does not exist yet']),
    ),
    ...(Object.keys(r.variables).length
      ? [
          section(
            'Environment variables',
            'variables',
            ['name', 'value'],
            Object.entries(r.variables).map(([key, v]) => [key, v]),
          ),
        ]
      : []),
  );
}

function show(s: EnvironmentViewState): void {
  badge.textContent = s.status === 'computing' ? 'computing…' : s.status === 'error' ? 'failed' : '';
  badge.dataset.status = s.status === 'computing' ? 'running' : s.status === 'error' ? 'crashed' : '';
  copy.toggleAttribute('disabled', !s.report);
  if (s.report) render(s.report);
  else if (s.status === 'error') {
    const box = el('section', 'empty-state preview-errors');
    box.append(
      el('h2', '', 'The environment report could not be computed'),
      el('p', 'section-note error', s.message ?? ''),
    );
    body.replaceChildren(box);
  } else {
    body.replaceChildren(el('p', 'section-note computing', 'Trying each backend in a process of its own…'));
  }
  post({
    type: 'rendered',
    points: {},
    charts: 0,
    extras: {
      backends: s.report?.backends.length ?? 0,
      backendsLoading: s.report?.backends.filter((b) => b.loads).length ?? 0,
      datasets: s.report?.datasets.length ?? 0,
      datasetsFound: s.report?.datasets.filter((d) => d.found).length ?? 0,
    },
  });
}

window.addEventListener('message', (e: MessageEvent<HostToWebview>) => {
  if (e.data?.type === 'environment') show(e.data.state);
});
post({ type: 'ready' });
