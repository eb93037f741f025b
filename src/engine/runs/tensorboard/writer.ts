// TensorBoard event files of a run folder (`tensorboard/`), written by SBN Studio's own writer of the public format
// (TFRecord framing, hand-encoded `Event` protocol buffers) on every backend, so that `tensorboard --logdir runs`
// shows runs as they train. Each process that writes a run starts new event files; TensorBoard reads a folder's
// files in name order.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { MetricsRecord } from '../records';
import { fileVersionRecord, frameEvents, type TbEvent } from './events';
import { metricsRecordEvents, type TbStream } from './fromMetrics';

export const TENSORBOARD_DIR = 'tensorboard';

/** Event files have "tfevents" in their name (TensorBoard's rule); time and host make them sort and not collide. */
const EVENT_FILE_PATTERN = /^events\.out\.tfevents\./;

export function isEventFile(name: string): boolean {
  return EVENT_FILE_PATTERN.test(name);
}

let fileCounter = 0;

function eventFileName(now: Date): string {
  const host = os.hostname().replace(/[^A-Za-z0-9._-]+/g, '-') || 'host';
  return `events.out.tfevents.${Math.floor(now.getTime() / 1000)}.${host}.${process.pid}.${++fileCounter}.sbn`;
}

/**
 * Appends the events of metrics records to a run's event files: one per stream (the training in `tensorboard/`,
 * an lr search in `tensorboard/lr_search/`), created when its first event comes. Each `add` is one write per
 * stream, made when metrics.jsonl gets the record (not flushed to disk separately: a crash loses at most the
 * events that metrics.jsonl keeps, and `sbn export tensorboard` rewrites them from it).
 */
export class TensorBoardWriter {
  private readonly fds = new Map<TbStream, number>();
  private closed = false;

  /** `root`: the folder that holds the streams' folders (a run's `tensorboard/`). */
  constructor(readonly root: string) {}

  private fd(stream: TbStream, wallTime: number): number {
    let fd = this.fds.get(stream);
    if (fd === undefined) {
      const dir = path.join(this.root, stream);
      fs.mkdirSync(dir, { recursive: true });
      fd = fs.openSync(path.join(dir, eventFileName(new Date())), 'a');
      this.fds.set(stream, fd);
      this.write(fd, fileVersionRecord(wallTime));
    }
    return fd;
  }

  private write(fd: number, buf: Buffer): void {
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
  }

  /** Write the events of some records (in order). */
  add(records: readonly MetricsRecord[]): void {
    if (this.closed) return;
    const byStream = new Map<TbStream, TbEvent[]>();
    for (const r of records) {
      for (const { stream, event } of metricsRecordEvents(r)) {
        const list = byStream.get(stream) ?? [];
        list.push(event);
        byStream.set(stream, list);
      }
    }
    for (const [stream, events] of byStream) this.write(this.fd(stream, events[0].wallTime), frameEvents(events));
  }

  /** Flush the files to disk and close them. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of this.fds.values()) {
      try {
        fs.fsyncSync(fd);
        fs.closeSync(fd);
      } catch {
        /* the events are also in metrics.jsonl */
      }
    }
    this.fds.clear();
  }
}

/**
 * Write a run's whole `tensorboard/` from records (its earlier event files, in every stream folder, are removed
 * first): `sbn export tensorboard` for runs made before SBN Studio wrote event files, or whose files were lost.
 * Returns the event files written, relative to the run folder.
 */
export function writeTensorBoardFromRecords(runDir: string, records: readonly MetricsRecord[]): string[] {
  const root = path.join(runDir, TENSORBOARD_DIR);
  removeEventFiles(root);
  const writer = new TensorBoardWriter(root);
  writer.add(records);
  writer.close();
  return listEventFiles(root).map((f) => path.relative(runDir, f));
}

function removeEventFiles(root: string): void {
  for (const f of listEventFiles(root)) fs.unlinkSync(f);
}

/** The event files under a run's `tensorboard/` (all streams), sorted by path. */
export function listEventFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (isEventFile(e.name)) out.push(p);
    }
  };
  walk(root);
  return out.sort();
}
