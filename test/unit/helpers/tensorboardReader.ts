// An independent reader of TensorBoard event files, written from the public format (TFRecord framing with masked
// CRC-32C, the `Event` protocol buffer), sharing no code with SBN Studio's writer: the tests read back what runs
// write with it (test/unit/tensorboard.test.ts, test/integration/export.vscode-test.ts).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** CRC-32C bit by bit (no table), and TFRecord's mask. */
function crc32c(data: Uint8Array): number {
  let crc = ~0 >>> 0;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}
function masked(data: Uint8Array): number {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) % 2 ** 32;
}

type Field = bigint | Buffer;
/** A protobuf message as its fields: number → values in order (varints as bigint, the rest as raw bytes). */
function decodeMessage(buf: Buffer): Map<number, Field[]> {
  const fields = new Map<number, Field[]>();
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const wire = key & 7;
    let value: Field;
    if (wire === 0) value = varint();
    else if (wire === 1) value = buf.subarray(i, (i += 8));
    else if (wire === 5) value = buf.subarray(i, (i += 4));
    else if (wire === 2) {
      const n = Number(varint());
      value = buf.subarray(i, (i += n));
    } else throw new Error(`wire type ${wire}`);
    const list = fields.get(key >> 3) ?? [];
    list.push(value);
    fields.set(key >> 3, list);
  }
  return fields;
}

export interface ReadHistogram {
  min: number;
  max: number;
  num: number;
  limits: number[];
  counts: number[];
}
interface ReadEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  restart?: boolean;
  scalars: Map<string, number>;
  histograms: Map<string, ReadHistogram>;
}

function doubles(b: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < b.length; i += 8) out.push(b.readDoubleLE(i));
  return out;
}

export function readEventFile(file: string): ReadEvent[] {
  const bytes = fs.readFileSync(file);
  const events: ReadEvent[] = [];
  let at = 0;
  while (at < bytes.length) {
    const lengthBytes = bytes.subarray(at, at + 8);
    const length = Number(lengthBytes.readBigUInt64LE(0));
    assert.equal(bytes.readUInt32LE(at + 8), masked(lengthBytes), `${file}@${at}: length CRC`);
    const data = bytes.subarray(at + 12, at + 12 + length);
    assert.equal(bytes.readUInt32LE(at + 12 + length), masked(data), `${file}@${at}: data CRC`);
    at += 16 + length;
    const f = decodeMessage(data);
    const e: ReadEvent = {
      wallTime: (f.get(1)![0] as Buffer).readDoubleLE(0),
      step: Number((f.get(2)?.[0] as bigint | undefined) ?? 0n),
      scalars: new Map(),
      histograms: new Map(),
    };
    if (f.has(3)) e.fileVersion = (f.get(3)![0] as Buffer).toString('utf8');
    if (f.has(7)) e.restart = decodeMessage(f.get(7)![0] as Buffer).get(1)?.[0] === 1n;
    for (const v of (f.has(5) ? decodeMessage(f.get(5)![0] as Buffer).get(1) : undefined) ?? []) {
      const value = decodeMessage(v as Buffer);
      const tag = (value.get(1)![0] as Buffer).toString('utf8');
      if (value.has(2)) e.scalars.set(tag, (value.get(2)![0] as Buffer).readFloatLE(0));
      if (value.has(5)) {
        const h = decodeMessage(value.get(5)![0] as Buffer);
        const d = (n: number) => (h.get(n)![0] as Buffer).readDoubleLE(0);
        e.histograms.set(tag, {
          min: d(1),
          max: d(2),
          num: d(3),
          limits: doubles(h.get(6)![0] as Buffer),
          counts: doubles(h.get(7)![0] as Buffer),
        });
      }
    }
    events.push(e);
  }
  return events;
}

/** What TensorBoard shows of a folder's event files: its scalars by `tag@step`, after the restarts' purges. */
export function readFolder(dir: string): { scalars: Map<string, number>; histograms: Map<string, ReadHistogram> } {
  const files = fs
    .readdirSync(dir)
    .filter((n) => n.includes('tfevents'))
    .sort();
  assert.ok(files.length > 0, `no event files in ${dir}`);
  const scalars = new Map<string, { step: number; value: number }>();
  const histograms = new Map<string, { step: number; value: ReadHistogram }>();
  for (const file of files) {
    const events = readEventFile(path.join(dir, file));
    assert.equal(events[0].fileVersion, 'brain.Event:2', `${file}: first event`);
    for (const e of events.slice(1)) {
      if (e.restart) {
        for (const m of [scalars, histograms] as Map<string, { step: number }>[])
          for (const [k, v] of m) if (v.step >= e.step) m.delete(k);
      }
      for (const [tag, value] of e.scalars) scalars.set(`${tag}@${e.step}`, { step: e.step, value });
      for (const [tag, value] of e.histograms) histograms.set(`${tag}@${e.step}`, { step: e.step, value });
    }
  }
  return {
    scalars: new Map([...scalars].map(([k, v]) => [k, v.value])),
    histograms: new Map([...histograms].map(([k, v]) => [k, v.value])),
  };
}
