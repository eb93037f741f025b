// Number formatting and small DOM helpers: elements, tables of values, toasts.

export function fmt(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
}

export function pct(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(100 * v).toFixed(digits)}%`;
}

export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * A table of values (class `values`, scrolling in a `table-wrap`): cells are text, or elements placed as they are;
 * `numeric(i)` right-aligns column i. A header of empty strings (a two-column list of facts) gets no header row.
 */
export function valuesTable(
  id: string,
  head: string[],
  rows: (string | HTMLElement)[][],
  numeric: (i: number) => boolean = () => false,
): HTMLElement {
  const t = el('table', 'values');
  t.id = id;
  if (head.some((h) => h)) {
    const thead = el('thead');
    const hr = el('tr');
    head.forEach((h) => hr.append(el('th', '', h)));
    thead.append(hr);
    t.append(thead);
  }
  const tb = el('tbody');
  for (const r of rows) {
    const tr = el('tr');
    r.forEach((c, i) => {
      const td = el('td', numeric(i) ? 'num' : '');
      if (typeof c === 'string') td.textContent = c;
      else td.append(c);
      tr.append(td);
    });
    tb.append(tr);
  }
  t.append(tb);
  const wrap = el('div', 'table-wrap');
  wrap.append(t);
  return wrap;
}

export function toast(text: string, error = false): void {
  const t = el('div', `toast${error ? ' error' : ''}`, text);
  document.body.appendChild(t);
  setTimeout(() => t.remove(), 4000);
}
