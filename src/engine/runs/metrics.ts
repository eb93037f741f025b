// metrics.jsonl: one JSON object per line, appended and flushed at every log point. A record is committed when
// its terminating "\n" is on disk; bytes after the last "\n" are an interrupted write and are ignored by readers
// (and cut off by the next writer). See docs/run-format.md ("metrics.jsonl").
import * as fs from 'node:fs';
import * as path from 'node:path';

export const METRICS_FILE = 'metrics.jsonl';

/** The envelope every record has; the other fields depend on `kind` (docs/run-format.md). */
export interface MetricsRecord {
  kind: string;
  step: number;
  /** ISO 8601 time the record was written. */
  time: string;
  /** Seconds of training wall time, summed over every process that wrote this run. */
  elapsed: number;
  [field: string]: unknown;
}

export interface MetricsProblem {
  /** 1-based line number (readMetrics) or 0 when unknown (tailMetrics). */
  line: number;
  /** Byte offset of the line's start in the file. */
  byte: number;
  error: string;
  /** The line, cut to 200 characters. */
  text: string;
}

export interface MetricsRead {
  records: MetricsRecord[];
  /** Bad lines other than the last one (only when read with `tolerant: true`; otherwise they throw). */
  corrupt: MetricsProblem[];
  /** The ignored last line: an interrupted write (no "\n") or a garbled final line; null when the file ended cleanly. */
  droppedTail: string | null;
}

export interface MetricsTail {
  /** Complete records from `fromByte` on (a partial last line waits for the next call). */
  records: MetricsRecord[];
  corrupt: MetricsProblem[];
  /** Pass this as `fromByte` next time. */
  next: number;
  /** True when the file was shorter than `fromByte` (replaced or cut): records were read from byte 0 again. */
  reset: boolean;
}

/** Parse one line; returns the record or an error message. */
export function parseMetricsLine(line: string): MetricsRecord | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return `not valid JSON (${(e as Error).message})`;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const r = v as Record<string, unknown>;
  if (typeof r.kind !== 'string') return 'no "kind" string';
  if (typeof r.step !== 'number') return 'no "step" number';
  return r as MetricsRecord;
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
 * Read every record of a run's metrics.jsonl (a missing file is an empty run). A truncated or garbled LAST line
 * (a crash mid-write) is ignored and reported in `droppedTail`; a bad line elsewhere throws, naming the line,
 * unless `tolerant` (then it is skipped and listed in `corrupt`). Blank lines are skipped.
 */
export function readMetrics(dir: string, opts: { tolerant?: boolean } = {}): MetricsRead {
  const file = path.join(dir, METRICS_FILE);
  const got = readBytes(file);
  const out: MetricsRead = { records: [], corrupt: [], droppedTail: null };
  if (!got) return out;
  const text = got.bytes.toString('utf8');
  const lines = text.split('\n');
  // `lines` ends with the bytes after the last "\n": '' for a cleanly ended file, else an interrupted write.
  const partial = lines.pop() as string;
  if (partial !== '') out.droppedTail = partial;
  let byte = 0;
  const starts = lines.map((l) => { const s = byte; byte += Buffer.byteLength(l, 'utf8') + 1; return s; });
  // With no partial line, the last complete line may still be garbled (a crash between write and flush).
  let lastGood = lines.length - 1;
  while (lastGood >= 0 && lines[lastGood].trim() === '') lastGood--;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line.trim() === '') continue;
    const r = parseMetricsLine(line);
    if (typeof r !== 'string') {
      out.records.push(r);
      continue;
    }
    if (i === lastGood && out.droppedTail === null) {
      out.droppedTail = line;
      continue;
    }
    const problem = { line: i + 1, byte: starts[i], error: r, text: clip(line) };
    if (!opts.tolerant) throw new Error(`${file}:${problem.line}: corrupt record: ${r}`);
    out.corrupt.push(problem);
  }
  return out;
}

/**
 * Incremental reading for a live viewer: the complete records from byte `fromByte` on, and the offset to continue
 * from. Start with 0 and pass `next` back each poll; a partial line at the end is left for the next poll.
 * Bad complete lines are skipped and listed in `corrupt`.
 */
export function tailMetrics(dir: string, fromByte: number): MetricsTail {
  const file = path.join(dir, METRICS_FILE);
  let from = Number.isSafeInteger(fromByte) && fromByte > 0 ? fromByte : 0;
  let reset = false;
  let got = readBytes(file, from);
  if (!got) return { records: [], corrupt: [], next: 0, reset: from > 0 };
  if (got.size < from) {
    reset = true;
    from = 0;
    got = readBytes(file, 0);
    if (!got) return { records: [], corrupt: [], next: 0, reset };
  }
  const end = got.bytes.lastIndexOf(NL);
  const out: MetricsTail = { records: [], corrupt: [], next: from + end + 1, reset };
  if (end < 0) return out;
  let byte = from;
  for (const raw of got.bytes.subarray(0, end).toString('utf8').split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() !== '') {
      const r = parseMetricsLine(line);
      if (typeof r === 'string') out.corrupt.push({ line: 0, byte, error: r, text: clip(line) });
      else out.records.push(r);
    }
    byte += Buffer.byteLength(raw, 'utf8') + 1;
  }
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
      if (typeof r !== 'string') return r;
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
    const line = got.bytes.subarray(start, end - 1).toString('utf8').replace(/\r$/, '');
    if (line.trim() === '') { end = start; continue; }
    const r = parseMetricsLine(line);
    if (typeof r !== 'string') { last = r; break; }
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
