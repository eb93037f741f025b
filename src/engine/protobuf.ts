// A minimal Protocol Buffers encoder (proto3 wire format: varints, 64-bit, length-delimited and 32-bit fields), for
// the public formats SBN Studio writes by hand — TensorBoard event files and ONNX models — without a protobuf
// dependency. Only encoding: nothing here reads protobuf.

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Builds one message; fields are written in the order the calls are made. */
export class ProtoWriter {
  private buf = Buffer.allocUnsafe(64);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  private rawVarint(value: bigint): void {
    // negative int64s are written as their two's complement, ten bytes (the protobuf rule)
    let v = value < 0n ? value + (1n << 64n) : value;
    this.reserve(10);
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  /** A non-negative integer below 2^31 without BigInt (tags, lengths, small values: nearly every varint). */
  private smallVarint(v: number): void {
    this.reserve(5);
    while (v >= 0x80) {
      this.buf[this.len++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.len++] = v;
  }

  private varintValue(v: number | bigint): void {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 0x80000000) this.smallVarint(v);
    else this.rawVarint(BigInt(v));
  }

  private tag(field: number, wire: number): void {
    this.smallVarint((field << 3) | wire);
  }

  /** An int32/int64/uint64/enum/bool field (integers only). */
  varint(field: number, value: number | bigint | boolean): this {
    this.tag(field, WIRE_VARINT);
    this.varintValue(typeof value === 'boolean' ? (value ? 1 : 0) : value);
    return this;
  }

  double(field: number, value: number): this {
    this.tag(field, WIRE_I64);
    this.reserve(8);
    this.buf.writeDoubleLE(value, this.len);
    this.len += 8;
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_I32);
    this.reserve(4);
    this.buf.writeFloatLE(value, this.len);
    this.len += 4;
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.smallVarint(value.length);
    this.reserve(value.length);
    this.buf.set(value, this.len);
    this.len += value.length;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  /** An embedded message. */
  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish());
  }

  /** A packed repeated double field. */
  packedDoubles(field: number, values: ArrayLike<number>): this {
    const b = Buffer.alloc(8 * values.length);
    for (let i = 0; i < values.length; i++) b.writeDoubleLE(values[i], 8 * i);
    return this.bytes(field, b);
  }

  /** A packed repeated int64 field. */
  packedInt64(field: number, values: ArrayLike<number>): this {
    const inner = new ProtoWriter();
    for (let i = 0; i < values.length; i++) inner.varintValue(values[i]);
    return this.bytes(field, inner.finish());
  }

  /** The encoded message (a view of this writer's buffer: copy it before writing more). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}
