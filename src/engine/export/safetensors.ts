// `sbn export safetensors`: a checkpoint's parameters in the safetensors format (8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {string: string}}, then the tensors'
// bytes back to back), which PyTorch (`safetensors.torch.load_file`), numpy and other tools load.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../files';
import type { TensorMap } from '../runs';
import { ExportError } from './errors';
import { openExportSource, type ExportSource } from './source';

const bigEndian = os.endianness() === 'BE';

/** The safetensors file of float32 tensors (in the map's order) with string metadata. */
export function encodeSafetensors(tensors: TensorMap, metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const parts: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    let bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (bigEndian) bytes = Buffer.from(bytes).swap32();
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // the format recommends padding the header with spaces so that the data starts 8-byte aligned
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json, 'utf8'), ...parts]);
}

/** The metadata an export carries: where the parameters come from, and the model file that gives them meaning. */
export function exportMetadata(src: ExportSource): Record<string, string> {
  const meta: Record<string, string> = {
    format: 'sbn-studio',
    step: String(src.checkpoint.step),
    epoch: String(src.checkpoint.epoch),
    checkpoint: path.basename(src.checkpointFile),
  };
  if (src.manifest) {
    meta.run = src.manifest.name;
    meta.model_file = src.manifest.model;
  }
  if (src.modelText !== null) meta.model = src.modelText;
  return meta;
}

export interface SafetensorsExport {
  file: string;
  tensors: Array<{ name: string; shape: number[] }>;
  bytes: number;
  step: number;
}

/** Write the parameters of a run's checkpoint (or of a checkpoint file) to `out` as safetensors. */
export function exportSafetensors(target: string, out: string, which: 'latest' | number = 'latest'): SafetensorsExport {
  const src = openExportSource(target, which);
  const params = src.checkpoint.params;
  if (Object.keys(params).length === 0)
    throw new ExportError(`${src.checkpointFile}: the checkpoint has no parameters`);
  const bytes = encodeSafetensors(params, exportMetadata(src));
  const dir = path.dirname(path.resolve(out));
  if (!fs.existsSync(dir)) throw new ExportError(`--out: the folder ${dir} does not exist`);
  writeFileAtomic(out, bytes);
  return {
    file: out,
    tensors: Object.entries(params).map(([name, t]) => ({ name, shape: t.shape })),
    bytes: bytes.length,
    step: src.checkpoint.step,
  };
}
