// ONNX models written by hand (onnx/onnx.proto, IR version 8, opset 17): a small graph builder and the encoding of
// ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto and ValueInfoProto with SBN Studio's protobuf
// writer — the fields an inference graph of dense and convolutional layers needs, no ONNX dependency.
import { ProtoWriter } from '../protobuf';

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;

/** TensorProto.DataType values used here. */
export const DT_FLOAT = 1;
export const DT_INT64 = 7;

export type AttributeValue = number | number[] | string | { ints: number[] } | { float: number };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, AttributeValue>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  type: typeof DT_FLOAT | typeof DT_INT64;
  values: Float32Array | number[];
}

/** A graph input or output: its element type and shape (a string dimension is symbolic, e.g. the batch "N"). */
export interface OnnxValue {
  name: string;
  type: typeof DT_FLOAT | typeof DT_INT64;
  shape: Array<number | string>;
  doc?: string;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
}

/** Builds a graph node by node; `node` returns its (first) output's name, made unique. */
export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  private names = new Map<string, number>();

  /** A fresh value name from a readable stem. */
  name(stem: string): string {
    const n = (this.names.get(stem) ?? 0) + 1;
    this.names.set(stem, n);
    return n === 1 ? stem : `${stem}_${n}`;
  }

  node(op: string, inputs: string[], stem: string, attributes?: Record<string, AttributeValue>): string {
    const out = this.name(stem);
    this.nodes.push({ op, inputs, outputs: [out], attributes });
    return out;
  }

  /** A float32 constant tensor. */
  floats(stem: string, dims: number[], values: Float32Array | number[]): string {
    const name = this.name(stem);
    this.initializers.push({ name, dims, type: DT_FLOAT, values: Float32Array.from(values) });
    return name;
  }

  /** An int64 constant tensor (shapes, axes). */
  ints(stem: string, values: number[]): string {
    const name = this.name(stem);
    this.initializers.push({ name, dims: [values.length], type: DT_INT64, values });
    return name;
  }

  private scalars = new Map<string, string>();

  /** A float32 scalar constant (one per stem and value). */
  scalar(stem: string, v: number): string {
    const key = `${stem}:${v}`;
    let name = this.scalars.get(key);
    if (name === undefined) {
      name = this.floats(stem, [], [v]);
      this.scalars.set(key, name);
    }
    return name;
  }
}

function attribute(name: string, v: AttributeValue): ProtoWriter {
  const a = new ProtoWriter().string(1, name);
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`ONNX attribute ${name}: use { float } for a float`);
    return a.varint(3, v).varint(20, 2); // INT
  }
  if (typeof v === 'string') return a.string(4, v).varint(20, 3); // STRING
  if (Array.isArray(v) || 'ints' in v) {
    for (const x of Array.isArray(v) ? v : v.ints) a.varint(8, x);
    return a.varint(20, 7); // INTS
  }
  return a.float(2, v.float).varint(20, 1); // FLOAT
}

function tensor(t: OnnxInitializer): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.varint(1, d);
  w.varint(2, t.type).string(8, t.name);
  let raw: Buffer;
  if (t.type === DT_FLOAT) {
    const f = t.values as Float32Array;
    raw = Buffer.alloc(4 * f.length);
    for (let i = 0; i < f.length; i++) raw.writeFloatLE(f[i], 4 * i);
  } else {
    const v = t.values as number[];
    raw = Buffer.alloc(8 * v.length);
    v.forEach((x, i) => raw.writeBigInt64LE(BigInt(x), 8 * i));
  }
  return w.bytes(9, raw); // raw_data, little-endian
}

function valueInfo(v: OnnxValue): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    shape.message(1, typeof d === 'number' ? new ProtoWriter().varint(1, d) : new ProtoWriter().string(2, d));
  }
  const tensorType = new ProtoWriter().varint(1, v.type).message(2, shape);
  const w = new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
  if (v.doc) w.string(3, v.doc);
  return w;
}

function graphProto(g: OnnxGraph): ProtoWriter {
  const w = new ProtoWriter();
  g.nodes.forEach((n, i) => {
    const node = new ProtoWriter();
    for (const x of n.inputs) node.string(1, x);
    for (const x of n.outputs) node.string(2, x);
    node.string(3, `${n.op}_${i}`).string(4, n.op);
    for (const [k, v] of Object.entries(n.attributes ?? {})) node.message(5, attribute(k, v));
    w.message(1, node);
  });
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, tensor(t));
  for (const v of g.inputs) w.message(11, valueInfo(v));
  for (const v of g.outputs) w.message(12, valueInfo(v));
  return w;
}

/** The encoded ModelProto. */
export function encodeOnnxModel(
  g: OnnxGraph,
  meta: { producer: string; version: string; doc: string; properties: Record<string, string> },
): Uint8Array {
  const w = new ProtoWriter()
    .varint(1, ONNX_IR_VERSION)
    .string(2, meta.producer)
    .string(3, meta.version)
    .string(6, meta.doc)
    .message(7, graphProto(g))
    .message(8, new ProtoWriter().string(1, '').varint(2, ONNX_OPSET));
  for (const [k, v] of Object.entries(meta.properties)) w.message(14, new ProtoWriter().string(1, k).string(2, v));
  return Buffer.from(w.finish());
}
