// The Runs table (src/extension/panels/runsTablePanel.ts feeds it): one row per run — status, estimator, tags, every
// hyper-parameter that differs between the runs, best and final metrics, duration. Sort by a column (click its
// header), filter by text, status and tag, group by a column, choose the columns; select rows to compare, delete,
// rename, tag or annotate them (the host does each, asking where it must). The host sends the whole table in one
// `runsTable` message whenever a run folder changes; the page's choices are kept in the webview state. Sorting,
// filtering and grouping are the protocol's pure functions (src/webviewProtocol/runsTable.ts).
import {
  cellText,
  filterRows,
  groupRows,
  sortRows,
  type RunStatus,
  type RunsTableColumn,
  type RunsTableRow,
  type RunsTableValue,
  type RunsTableView,
  type RunsTableWebviewMessage,
} from '../src/webviewProtocol';
import { ESTIMATORS, isEstimatorName } from '../src/estimators';
import {
  duration,
  el,
  fmt,
  followWholeState,
  loadState,
  onThemeChange,
  post,
  readTheme,
  saveState,
  type BaseViewState,
  type ColorName,
} from './common';

interface RunsTablePageState extends BaseViewState {
  sort: { column: string; direction: 'asc' | 'desc' };
  filter: string;
  status: RunStatus | '';
  tag: string;
  /** '' = no grouping. */
  groupBy: string;
  /** Columns the user showed (true) or hid (false); the others as the host proposes. */
  columns: Record<string, boolean>;
  /** Group keys folded away (per grouping column: `<column>\u0000<key>`). */
  collapsed: string[];
}

const state = loadState<RunsTablePageState>({
  sort: { column: 'created', direction: 'desc' },
  filter: '',
  status: '',
  tag: '',
  groupBy: '',
  columns: {},
  collapsed: [],
});

const STATUSES: RunStatus[] = ['running', 'finished', 'stopped', 'crashed', 'diverged', 'unknown'];
/** Tag chips take a colour of the shared palette by their text (the same tag has the same colour everywhere). */
const TAG_COLORS: ColorName[] = ['blue', 'orange', 'green', 'purple', 'cyan', 'pink', 'olive', 'teal', 'gold', 'brown'];

let view: RunsTableView | undefined;
const selected = new Set<string>();

// ---- page skeleton ----
const header = el('header', 'run-header');
const titleRow = el('div', 'title-row');
const count = el('span', 'runs-count');
count.id = 'runs-count';
titleRow.append(el('span', 'panel-kind', 'Runs'), el('h1', 'run-name', 'Runs table'), count);
header.append(titleRow);

const toolbar = el('div', 'toolbar runs-toolbar');
const filterInput = el('input', 'runs-filter');
filterInput.id = 'filter';
filterInput.type = 'search';
filterInput.placeholder = 'Filter: name, tag, value…';
filterInput.value = state.filter;
filterInput.setAttribute('aria-label', 'Filter runs');
const statusSelect = select('status-filter', 'Status');
const tagSelect = select('tag-filter', 'Tag');
const groupSelect = select('group-by', 'Group by');
const columnsButton = button('columns-button', 'Columns…', false);
const actions = el('span', 'toolbar-group');
const compareButton = button('compare', 'Compare', true);
const renameButton = button('rename', 'Rename…', false);
const tagsButton = button('tags', 'Tags…', false);
const notesButton = button('notes', 'Notes…', false);
const deleteButton = button('delete', 'Delete', false);
actions.append(compareButton, renameButton, tagsButton, notesButton, deleteButton);
toolbar.append(
  filterInput,
  labelled('Status', statusSelect),
  labelled('Tag', tagSelect),
  labelled('Group by', groupSelect),
  columnsButton,
  actions,
);
const chooser = el('div', 'column-chooser');
chooser.id = 'column-chooser';
chooser.hidden = true;
const empty = el('div', 'section-note', '');
empty.id = 'runs-empty';
const tableWrap = el('div', 'table-wrap runs-table-wrap');
document.body.append(header, toolbar, chooser, empty, tableWrap);

function select(id: string, label: string): HTMLSelectElement {
  const s = el('select', 'runs-select');
  s.id = id;
  s.setAttribute('aria-label', label);
  return s;
}

function labelled(text: string, control: HTMLElement): HTMLElement {
  const l = el('label', 'toolbar-label');
  l.append(`${text} `, control);
  return l;
}

function button(id: string, text: string, primary: boolean): HTMLButtonElement {
  const b = el('button', primary ? 'runs-button primary' : 'runs-button', text);
  b.id = id;
  b.type = 'button';
  return b;
}

function options(s: HTMLSelectElement, items: { value: string; text: string }[], value: string): void {
  const key = JSON.stringify(items);
  if (s.dataset.items !== key) {
    s.dataset.items = key;
    s.replaceChildren(
      ...items.map((i) => {
        const o = el('option', '', i.text);
        o.value = i.value;
        return o;
      }),
    );
  }
  s.value = items.some((i) => i.value === value) ? value : '';
}

// ---- what is shown ----
function shownColumns(v: RunsTableView): RunsTableColumn[] {
  return v.columns.filter((c) => c.id === 'name' || (state.columns[c.id] ?? c.shown));
}

function visibleRows(v: RunsTableView, columns: RunsTableColumn[]): RunsTableRow[] {
  const rows = filterRows(
    v.rows,
    { text: state.filter, status: state.status, tag: state.tag },
    columns.map((c) => c.id),
  );
  return sortRows(rows, state.sort.column, state.sort.direction);
}

function act(action: RunsTableWebviewMessage['action'], runDirs: string[]): void {
  if (runDirs.length) post({ type: 'runsTableAction', action, runDirs });
}

/** The selected runs that are still in the table, in table order. */
function selection(): string[] {
  return (view?.rows ?? []).map((r) => r.runDir).filter((d) => selected.has(d));
}

// ---- cells ----
/** The theme's palette, read once per render (not per cell). */
let palette = readTheme().colors;
function colorOf(name: ColorName): string {
  return palette[name];
}

function tagChip(tag: string): HTMLElement {
  let h = 0;
  for (const ch of tag) h = (h * 31 + ch.codePointAt(0)!) >>> 0;
  const chip = el('span', 'tag', tag);
  chip.style.borderColor = colorOf(TAG_COLORS[h % TAG_COLORS.length]);
  return chip;
}

function cell(c: RunsTableColumn, r: RunsTableRow, best: Map<string, number>): HTMLTableCellElement {
  const v: RunsTableValue | undefined = c.id === 'name' ? r.label : r.values[c.id];
  const td = el('td', c.kind === 'number' || c.kind === 'duration' ? 'num' : '');
  td.dataset.column = c.id;
  switch (c.kind) {
    case 'status': {
      const badge = el('span', 'status-badge', String(v ?? 'unknown'));
      badge.dataset.status = String(v ?? 'unknown');
      td.append(badge);
      break;
    }
    case 'tags':
      if (Array.isArray(v)) td.append(...v.map(tagChip));
      break;
    case 'time':
      td.textContent = typeof v === 'number' ? new Date(v).toLocaleString() : '—';
      break;
    case 'duration':
      td.textContent = typeof v === 'number' ? duration(v) : '—';
      break;
    case 'number':
      td.textContent = typeof v === 'number' ? fmt(v) : '—';
      if (typeof v === 'number' && best.get(c.id) === v) td.classList.add('best');
      break;
    default:
      if (c.id === 'name') {
        const open = el('button', 'run-link', r.label);
        open.type = 'button';
        open.title = `Open the training dashboard of ${r.folder}`;
        open.addEventListener('click', () => act('open', [r.runDir]));
        td.append(open);
        // the folder under a display name (a run's own name is the folder's name after its date)
        if (!r.folder.endsWith(r.label)) td.append(el('div', 'run-folder', r.folder));
      } else if (c.id === 'estimator' && typeof v === 'string') {
        const dot = el('span', 'estimator-dot');
        dot.style.background = colorOf(isEstimatorName(v) ? ESTIMATORS[v].color : 'foreground');
        td.append(dot, v);
      } else td.textContent = cellText(v) || '—';
      break;
  }
  if (c.kind !== 'tags' && c.id !== 'name') td.title = cellText(v);
  return td;
}

/** The best value of each metric column among the rows shown (marked in its cells). */
function bestValues(columns: RunsTableColumn[], rows: RunsTableRow[]): Map<string, number> {
  const best = new Map<string, number>();
  for (const c of columns) {
    if (!c.better || rows.length < 2) continue;
    for (const r of rows) {
      const v = r.values[c.id];
      if (typeof v !== 'number') continue;
      const b = best.get(c.id);
      if (b === undefined || (c.better === 'max' ? v > b : v < b)) best.set(c.id, v);
    }
  }
  return best;
}

// ---- render ----
function renderToolbar(v: RunsTableView): void {
  options(
    statusSelect,
    [
      { value: '', text: 'any' },
      ...STATUSES.filter((s) => v.rows.some((r) => r.status === s)).map((s) => ({ value: s, text: s })),
    ],
    state.status,
  );
  options(tagSelect, [{ value: '', text: 'any' }, ...v.tags.map((t) => ({ value: t, text: t }))], state.tag);
  options(
    groupSelect,
    [
      { value: '', text: 'none' },
      ...v.columns.filter((c) => c.id !== 'notes').map((c) => ({ value: c.id, text: c.label })),
    ],
    state.groupBy,
  );
  const n = selection().length;
  compareButton.disabled = n < 1;
  deleteButton.disabled = n < 1;
  for (const b of [renameButton, tagsButton, notesButton]) b.disabled = n !== 1;
  compareButton.textContent = n > 1 ? `Compare ${n}` : 'Compare';
  deleteButton.textContent = n > 1 ? `Delete ${n}` : 'Delete';
}

function renderChooser(v: RunsTableView): void {
  const sections: [RunsTableColumn['section'], string][] = [
    ['run', 'Run'],
    ['hyperparameter', 'Hyper-parameters that differ'],
    ['metric', 'Metrics'],
  ];
  chooser.replaceChildren(
    ...sections.map(([section, title]) => {
      const box = el('fieldset', 'column-section');
      box.append(el('legend', '', title));
      const cols = v.columns.filter((c) => c.section === section && c.id !== 'name');
      if (!cols.length) box.append(el('span', 'note', section === 'hyperparameter' ? 'none: the runs agree' : 'none'));
      for (const c of cols) {
        const l = el('label', 'column-choice');
        const cb = el('input');
        cb.type = 'checkbox';
        cb.dataset.column = c.id;
        cb.checked = state.columns[c.id] ?? c.shown;
        cb.addEventListener('change', () => {
          state.columns[c.id] = cb.checked;
          saveState(state);
          render();
        });
        l.append(cb, ` ${c.label}`);
        if (c.description) l.title = c.description;
        box.append(l);
      }
      return box;
    }),
  );
}

function renderTable(v: RunsTableView, columns: RunsTableColumn[], rows: RunsTableRow[]): number {
  const table = el('table', 'values runs-table');
  table.id = 'runs-table';
  const head = el('thead');
  const hr = el('tr');
  const all = el('input');
  all.type = 'checkbox';
  all.id = 'select-all';
  all.setAttribute('aria-label', 'Select every run shown');
  all.checked = rows.length > 0 && rows.every((r) => selected.has(r.runDir));
  all.addEventListener('change', () => {
    for (const r of rows) {
      if (all.checked) selected.add(r.runDir);
      else selected.delete(r.runDir);
    }
    render();
  });
  const th0 = el('th', 'select');
  th0.append(all);
  hr.append(th0);
  for (const c of columns) {
    const th = el('th', c.kind === 'number' || c.kind === 'duration' ? 'num sortable' : 'sortable', c.label);
    th.dataset.column = c.id;
    th.title = `${c.description ? `${c.description}. ` : ''}Click to sort`;
    if (state.sort.column === c.id) {
      th.setAttribute('aria-sort', state.sort.direction === 'asc' ? 'ascending' : 'descending');
      th.append(el('span', 'sort-mark', state.sort.direction === 'asc' ? ' ▲' : ' ▼'));
    }
    th.tabIndex = 0;
    th.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        th.click();
      }
    });
    th.addEventListener('click', () => {
      state.sort =
        state.sort.column === c.id
          ? { column: c.id, direction: state.sort.direction === 'asc' ? 'desc' : 'asc' }
          : { column: c.id, direction: c.kind === 'number' && c.better === 'max' ? 'desc' : 'asc' };
      saveState(state);
      render();
    });
    hr.append(th);
  }
  head.append(hr);
  const body = el('tbody');
  const best = bestValues(columns, rows);
  const addRow = (r: RunsTableRow) => {
    const tr = el('tr', selected.has(r.runDir) ? 'selected' : '');
    tr.dataset.run = r.runDir;
    const cb = el('input');
    cb.type = 'checkbox';
    cb.className = 'row-select';
    cb.checked = selected.has(r.runDir);
    cb.setAttribute('aria-label', `Select ${r.label}`);
    cb.addEventListener('change', () => {
      if (cb.checked) selected.add(r.runDir);
      else selected.delete(r.runDir);
      render();
    });
    const td0 = el('td', 'select');
    td0.append(cb);
    tr.append(td0, ...columns.map((c) => cell(c, r, best)));
    const notes = r.notes ? `\n${r.notes}` : '';
    tr.title = `${r.folder}${notes}${r.problem ? `\nproblem: ${r.problem}` : ''}`;
    if (r.problem) tr.classList.add('has-problem');
    body.append(tr);
  };
  let groups = 0;
  if (state.groupBy && v.columns.some((c) => c.id === state.groupBy)) {
    const column = v.columns.find((c) => c.id === state.groupBy)!;
    for (const g of groupRows(rows, state.groupBy)) {
      groups++;
      const key = `${state.groupBy}\u0000${g.key}`;
      const folded = state.collapsed.includes(key);
      const tr = el('tr', 'group-row');
      tr.dataset.group = g.key;
      tr.tabIndex = 0;
      tr.setAttribute('aria-expanded', String(!folded));
      tr.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          tr.click();
        }
      });
      const td = el('td');
      td.colSpan = columns.length + 1;
      const shown =
        column.kind === 'time' && g.key
          ? new Date(Number(g.key)).toLocaleString()
          : column.kind === 'duration' && g.key
            ? duration(Number(g.key))
            : g.key;
      const runs = `${g.rows.length} run${g.rows.length === 1 ? '' : 's'}`;
      td.textContent = `${folded ? '▶' : '▼'} ${column.label}: ${shown || '(none)'} · ${runs}`;
      tr.addEventListener('click', () => {
        state.collapsed = folded ? state.collapsed.filter((k) => k !== key) : [...state.collapsed, key];
        saveState(state);
        render();
      });
      tr.append(td);
      body.append(tr);
      if (!folded) g.rows.forEach(addRow);
    }
  } else rows.forEach(addRow);
  table.append(head, body);
  tableWrap.replaceChildren(table);
  return groups;
}

function render(): void {
  if (!view) return;
  const v = view;
  palette = readTheme().colors;
  // forget selected runs that are gone (deleted), and choices of a tag, status or column no run has any more
  for (const d of [...selected]) if (!v.rows.some((r) => r.runDir === d)) selected.delete(d);
  if (state.tag && !v.tags.includes(state.tag)) state.tag = '';
  if (state.status && !v.rows.some((r) => r.status === state.status)) state.status = '';
  if (state.groupBy && !v.columns.some((c) => c.id === state.groupBy)) state.groupBy = '';
  const columns = shownColumns(v);
  const rows = visibleRows(v, columns);
  renderToolbar(v);
  if (!chooser.hidden) renderChooser(v);
  const groups = renderTable(v, columns, rows);
  count.textContent =
    rows.length === v.rows.length
      ? `${v.rows.length} run${v.rows.length === 1 ? '' : 's'}`
      : `${rows.length} of ${v.rows.length} runs`;
  empty.textContent =
    v.rows.length === 0
      ? 'No runs yet: train a model (▶ Train above a model file) and its run appears here.'
      : rows.length === 0
        ? 'No run matches the filter.'
        : '';
  empty.hidden = empty.textContent === '';
  post({
    type: 'rendered',
    points: {},
    charts: 0,
    extras: {
      rows: v.rows.length,
      shownRows: rows.length,
      columns: columns.length,
      groups,
      selected: selection().length,
    },
  });
}

// ---- controls ----
filterInput.addEventListener('input', () => {
  state.filter = filterInput.value;
  saveState(state);
  render();
});
statusSelect.addEventListener('change', () => {
  state.status = statusSelect.value as RunStatus | '';
  saveState(state);
  render();
});
tagSelect.addEventListener('change', () => {
  state.tag = tagSelect.value;
  saveState(state);
  render();
});
groupSelect.addEventListener('change', () => {
  state.groupBy = groupSelect.value;
  saveState(state);
  render();
});
columnsButton.addEventListener('click', () => {
  chooser.hidden = !chooser.hidden;
  columnsButton.setAttribute('aria-expanded', String(!chooser.hidden));
  render();
});
compareButton.addEventListener('click', () => act('compare', selection()));
deleteButton.addEventListener('click', () => act('delete', selection()));
renameButton.addEventListener('click', () => act('rename', selection()));
tagsButton.addEventListener('click', () => act('tags', selection()));
notesButton.addEventListener('click', () => act('notes', selection()));
onThemeChange(render);

followWholeState('runsTable', (m) => {
  view = m.view;
  render();
});

(window as unknown as { sbnPanel: unknown }).sbnPanel = {
  get view() {
    return view;
  },
  state,
  selected,
};
