// metrics.jsonl: one JSON object per line, appended at every log point and flushed to disk within a second and
// before every checkpoint (store.ts, METRICS_SYNC_SECONDS). A record is committed when
// its terminating "\n" is on disk; bytes after the last "\n" are an interrupted write and are ignored by readers
// (and cut off by the next writer). See docs/run-format.md ("metrics.jsonl").
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseMetricsLine, type MetricsRecord } from './records';

export const METRICS_FILE = 'metrics.jsonl';

export type { MetricsRecord } from './records';

export interface MetricsProblem {
  /** 1-based line number in the file. */
  line: number;
  /** Byte offset of the line's start in the file. */
  byte: number;
  error: string;
  /** The line, cut to 200 characters. */
  text: string;
}

/** Records of a kind this version does not know (written by a newer version): skipped, reported once per kind. */
export interface MetricsUnknownKind {
  kind: string;
  /** Line of the first such record. */
  line: number;
  count: number;
}

export interface MetricsRead {
  records: MetricsRecord[];
  unknownKinds: MetricsUnknownKind[];
  /** Bad lines other than the last one (only when read with `tolerant: true`; otherwise they throw). */
  corrupt: MetricsProblem[];
  /**
   * The ignored last line: an interrupted write (no "\n") or a garbled final line; null when the file ended
   * cleanly.
   */
  droppedTail: string | null;
}

export interface MetricsTail {
  /** Complete records from `fromByte` on (a partial last line waits for the next call). */
  records: MetricsRecord[];
  corrupt: MetricsProblem[];
  unknownKinds: MetricsUnknownKind[];
  /** Pass this as `fromByte` next time. */
  next: number;
  /** Line number of the line at `next`: pass this as `fromLine` next time. */
  nextLine: number;
  /** True when the file was shorter than `fromByte` (replaced or cut): records were read from byte 0 again. */
  reset: boolean;
}

/**
 * A line that parses as an object with a `kind` and a `step`: a complete record (possibly invalid), not the torn
 * line a crash leaves. A torn last line is dropped; a complete invalid one is reported like any corrupt line.
 */
function recordShaped(line: string): boolean {
  try {
    const v = JSON.parse(line) as { kind?: unknown; step?: unknown } | null;
    return typeof v === 'object' && v !== null && typeof v.kind === 'string' && typeof v.step === 'number';
  } catch {
    return false;
  }
}

/** Counts the records of unknown kinds: one entry per kind. */
function noteUnknown(list: MetricsUnknownKind[], kind: string, line: number): void {
  const seen = list.find((u) => u.kind === kind);
  if (seen) seen.count++;
  else list.push({ kind, line, count: 1 });
}

/** One line for the log: a corrupt line, with its file and line number. */
export function describeMetricsProblem(dir: string, p: MetricsProblem): string {
  return `${path.join(dir, METRICS_FILE)}:${p.line}: corrupt record skipped (${p.error})`;
}

/** One line for the log: records of a kind this version does not know. */
export function describeUnknownKind(dir: string, u: MetricsUnknownKind): string {
  return (
    `${path.join(dir, METRICS_FILE)}:${u.line}: ` +
    `${u.count} record${u.count === 1 ? '' : 's'} of kind "${u.kind}" skipped ` +
    '(written by a newer version of SBN Studio?)'
  );
}

const NL = 0x0a;

function readBytes(file: string, from = 0): { bytes: Buffer; size: number } | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.min(from, size);
    const bytes = Buffer.alloc(size - start);
    let off = 0;
    while (off < bytes.length) {
      const n = fs.readSync(fd, bytes, off, bytes.length - off, start + off);
      if (n === 0) break;
      off += n;
    }
    return { bytes: bytes.subarray(0, off), size };
  } finally {
    fs.closeSync(fd);
  }
}

function clip(s: string): string {
  return s.length > 200 ? s.slice(0, 200) + '…' : s;
}

/**
 * Read every record of a run's metrics.jsonl (a missing file is an empty run), each checked against its kind's
 * type (records.ts). A truncated or garbled LAST line (a crash mid-write) is ignored and reported in `droppedTail`;
 * a bad line elsewhere — not JSON, or a record whose fields have the wrong types — throws, naming the line, unless
 * `tolerant` (then it is skipped and listed in `corrupt`). Records of kinds this version does not know are skipped
 * and listed in `unknownKinds`, tolerant or not. Blank lines are skipped.
 */
export function readMetrics(dir: string, opts: { tolerant?: boolean } = {}): MetricsRead {
  const file = path.join(dir, METRICS_FILE);
  const got = readBytes(file);
  const out: MetricsRead = { records: [], unknownKinds: [], corrupt: [], droppedTail: null };
  if (!got) return out;
  const text = got.bytes.toString('utf8');
  const lines = text.split('\n');
  // `lines` ends with the bytes after the last "\n": '' for a cleanly ended file, else an interrupted write.
  const partial = lines.pop() as string;
  if (partial !== '') out.droppedTail = partial;
  let byte = 0;
  const starts = lines.map((l) => {
    const s = byte;
    byte += Buffer.byteLength(l, 'utf8') + 1;
    return s;
  });
  // With no partial line, the last complete line may still be garbled (a crash between write and flush).
  let lastGood = lines.length - 1;
  while (lastGood >= 0 && lines[lastGood].trim() === '') lastGood--;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line.trim() === '') continue;
    const r = parseMetricsLine(line);
    if (r.ok) {
      out.records.push(r.record);
      continue;
    }
    if (r.unknownKind !== undefined) {
      noteUnknown(out.unknownKinds, r.unknownKind, i + 1);
      continue;
    }
    if (i === lastGood && out.droppedTail === null && !recordShaped(line)) {
      out.droppedTail = line;
      continue;
    }
    const problem = { line: i + 1, byte: starts[i], error: r.error, text: clip(line) };
    if (!opts.tolerant) throw new Error(`${file}:${problem.line}: corrupt record: ${r.error}`);
    out.corrupt.push(problem);
  }
  return out;
}

/**
 * Incremental reading for a live viewer: the complete records from byte `fromByte` on, and the offset to continue
 * from. Start with 0 (line 1) and pass `next` and `nextLine` back each poll; a partial line at the end is left for
 * the next poll. Bad complete lines are skipped and listed in `corrupt` with their line numbers (`fromLine` is the
 * number of the line at `fromByte`), records of unknown kinds in `unknownKinds`.
 */
export function tailMetrics(dir: string, fromByte: number, fromLine = 1): MetricsTail {
  const file = path.join(dir, METRICS_FILE);
  let from = Number.isSafeInteger(fromByte) && fromByte > 0 ? fromByte : 0;
  let lineNo = from > 0 && Number.isSafeInteger(fromLine) && fromLine > 0 ? fromLine : 1;
  let reset = false;
  const empty = (r: boolean): MetricsTail => ({
    records: [],
    corrupt: [],
    unknownKinds: [],
    next: 0,
    nextLine: 1,
    reset: r,
  });
  let got = readBytes(file, from);
  if (!got) return empty(from > 0);
  if (got.size < from) {
    reset = true;
    from = 0;
    lineNo = 1;
    got = readBytes(file, 0);
    if (!got) return empty(reset);
  }
  const end = got.bytes.lastIndexOf(NL);
  const out: MetricsTail = {
    records: [],
    corrupt: [],
    unknownKinds: [],
    next: from + end + 1,
    nextLine: lineNo,
    reset,
  };
  if (end < 0) return out;
  let byte = from;
  for (const raw of got.bytes.subarray(0, end).toString('utf8').split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() !== '') {
      const r = parseMetricsLine(line);
      if (r.ok) out.records.push(r.record);
      else if (r.unknownKind !== undefined) noteUnknown(out.unknownKinds, r.unknownKind, lineNo);
      else out.corrupt.push({ line: lineNo, byte, error: r.error, text: clip(line) });
    }
    byte += Buffer.byteLength(raw, 'utf8') + 1;
    lineNo++;
  }
  out.nextLine = lineNo;
  return out;
}

/** The last valid record of metrics.jsonl, reading only the file's end (cheap for listings); null if none. */
export function lastMetricsRecord(dir: string, window = 1 << 16): MetricsRecord | null {
  const file = path.join(dir, METRICS_FILE);
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return null;
  }
  for (let w = window; ; w *= 4) {
    const from = Math.max(0, size - w);
    const got = readBytes(file, from);
    if (!got) return null;
    const lines = got.bytes.toString('utf8').split('\n');
    lines.pop(); // after the last "\n": an interrupted write, or ''
    const first = from > 0 ? 1 : 0; // the first line of a window may be cut
    for (let i = lines.length - 1; i >= first; i--) {
      const r = parseMetricsLine(lines[i].replace(/\r$/, ''));
      if (r.ok) return r.record;
    }
    if (from === 0) return null;
  }
}

/**
 * Records as a resumed run sees them: a `resume` record at step S abandons the records written before it with
 * a step > S (they were recomputed after the resume). Keeps the order of the file.
 */
export function effectiveMetrics(records: MetricsRecord[]): MetricsRecord[] {
  let out: MetricsRecord[] = [];
  for (const r of records) {
    if (r.kind === 'resume') out = out.filter((x) => x.step <= r.step);
    out.push(r);
  }
  return out;
}

/**
 * Prepare metrics.jsonl for appending after a crash: cut off bytes after the last "\n" (an interrupted write) and a
 * garbled last line, so new records do not run into them. Returns the last valid record (null if none).
 */
export function repairMetricsTail(dir: string): MetricsRecord | null {
  const file = path.join(dir, METRICS_FILE);
  const got = readBytes(file);
  if (!got) return null;
  let end = got.bytes.lastIndexOf(NL) + 1; // keep [0, end)
  let last: MetricsRecord | null = null;
  // Walk back over blank and garbled lines at the end (a garbled line can only be the last one written).
  let cutOne = false;
  while (end > 0) {
    const start = end >= 2 ? got.bytes.lastIndexOf(NL, end - 2) + 1 : 0;
    const line = got.bytes
      .subarray(start, end - 1)
      .toString('utf8')
      .replace(/\r$/, '');
    if (line.trim() === '') {
      end = start;
      continue;
    }
    const r = parseMetricsLine(line);
    if (r.ok) {
      last = r.record;
      break;
    }
    // a complete record this version cannot use (an unknown kind, a field of the wrong type) is no crash artefact
    if (r.unknownKind !== undefined || recordShaped(line)) {
      last = lastMetricsRecord(dir);
      break;
    }
    if (cutOne) break; // a second bad line is not a crash artefact: leave it for readMetrics to report
    cutOne = true;
    end = start;
  }
  if (end < got.size) {
    fs.truncateSync(file, end);
    if (last === null && end > 0) last = lastMetricsRecord(dir);
  }
  return last;
}
