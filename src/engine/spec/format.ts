import type { SpecError } from './types';

/** `file:line:col: path: message` on one line; missing parts are left out (`path: message`, `file: message`). */
export function formatSpecError(e: SpecError): string {
  let where = e.file ?? '';
  if (e.line !== undefined) where += `${where ? ':' : ''}${e.line}${e.column !== undefined ? `:${e.column}` : ''}`;
  const parts = [where, e.path, e.message].filter((s) => s !== undefined && s !== '');
  return parts.join(': ').replace(/\s*[\r\n]+\s*/g, ' ');
}
