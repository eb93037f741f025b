// TensorBoard's `Event` protocol buffer (tensorflow/core/util/event.proto, summary.proto), hand-encoded: the fields
// SBN Studio writes — wall_time, step, file_version, summary{value{tag, simple_value | histo}}, session_log.
import { ProtoWriter } from '../../protobuf';
import { frameRecord } from './tfrecord';

/** The first event of every event file names the format version. */
export const EVENT_FILE_VERSION = 'brain.Event:2';

/** A histogram as TensorBoard's HistogramProto holds it: bucket i counts the values in (limit[i-1], limit[i]]. */
export interface TbHistogram {
  min: number;
  max: number;
  num: number;
  sum: number;
  sumSquares: number;
  bucketLimits: number[];
  buckets: number[];
}

export type TbValue = { tag: string; scalar: number } | { tag: string; histogram: TbHistogram };

/** One event: a summary of values at a step, or a restart marker (see `restart`). */
export interface TbEvent {
  wallTime: number;
  step: number;
  values: TbValue[];
  /**
   * A SessionLog START: TensorBoard drops the events of this run at steps ≥ `step` that it read before (a resumed
   * run recomputes them).
   */
  restart?: boolean;
}

function histogramProto(h: TbHistogram): ProtoWriter {
  return new ProtoWriter()
    .double(1, h.min)
    .double(2, h.max)
    .double(3, h.num)
    .double(4, h.sum)
    .double(5, h.sumSquares)
    .packedDoubles(6, h.bucketLimits)
    .packedDoubles(7, h.buckets);
}

function eventHead(wallTime: number, step: number): ProtoWriter {
  return new ProtoWriter().double(1, wallTime).varint(2, Math.round(step));
}

/** The encoded `Event` (without framing). */
export function encodeEvent(e: TbEvent): Uint8Array {
  const w = eventHead(e.wallTime, e.step);
  if (e.restart) return w.message(7, new ProtoWriter().varint(1, 1)).finish(); // SessionLog{status: START}
  const summary = new ProtoWriter();
  for (const v of e.values) {
    const value = new ProtoWriter().string(1, v.tag);
    if ('scalar' in v) value.float(2, v.scalar);
    else value.message(5, histogramProto(v.histogram));
    summary.message(1, value);
  }
  return w.message(5, summary).finish();
}

/** The framed first record of an event file: `file_version`. */
export function fileVersionRecord(wallTime: number): Buffer {
  return frameRecord(eventHead(wallTime, 0).string(3, EVENT_FILE_VERSION).finish());
}

/** The framed records of events, concatenated. */
export function frameEvents(events: readonly TbEvent[]): Buffer {
  return Buffer.concat(events.map((e) => frameRecord(encodeEvent(e))));
}
