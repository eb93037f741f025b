// The IDX format of MNIST-style files: 2 zero bytes, a type byte, a dimension count, big-endian uint32 sizes,
// then the data. Only the uint8 type (0x08) occurs in the data sets we read. Gzipped files are detected by
// their magic bytes rather than their name, so renamed files work too.
import * as fs from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DataError } from './types';
import { shapeSize } from '../spec/geometry';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UINT8 = 0x08;

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Reads an IDX file (or its bytes; `name` then labels errors). Throws a one-line DataError naming the file. */
export function readIdx(
  source: string | Uint8Array,
  name = typeof source === 'string' ? source : 'IDX data',
): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = typeof source === 'string' ? fs.readFileSync(source) : source;
    if (isGzip(bytes)) bytes = gunzipSync(bytes);
  } catch (e) {
    throw new DataError('data.path', `cannot read ${name}: ${(e as Error).message.split('\n')[0]}`);
  }
  const bad = (what: string) => new DataError('data.path', `${name} is not a valid IDX file: ${what}`);
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw bad('bad magic number');
  if (bytes[2] !== UINT8) throw bad(`element type 0x${bytes[2].toString(16)} is not uint8 (0x08)`);
  const rank = bytes[3];
  const header = 4 + 4 * rank;
  if (rank === 0 || bytes.length < header) throw bad(`header truncated (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const size = shapeSize(dims);
  if (bytes.length - header !== size) {
    throw bad(`dims [${dims.join(', ')}] need ${size} data bytes, found ${bytes.length - header}`);
  }
  return { dims, data: bytes.subarray(header) };
}

/** The bytes of an IDX file (uint8), optionally gzipped: for tests and for exporting data. */
export function encodeIdx(dims: number[], data: Uint8Array, gzip = false): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = UINT8;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  const raw = Buffer.concat([header, data]);
  return gzip ? gzipSync(raw) : raw;
}
