import { closeSync, openSync, writeSync } from 'node:fs';
import { encodeGgml, type GgmlType, ggmlByteSize, ggmlTypeIds } from './ggml-types.js';

/** A metadata value with its GGUF type spelt out (GGUF keeps e.g. uint32 and int32 apart). */
export type GgufValue =
  | { type: 'string'; value: string }
  | { type: 'uint32'; value: number }
  | { type: 'int32'; value: number }
  | { type: 'float32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string[]'; value: readonly string[] }
  | { type: 'float32[]'; value: readonly number[] }
  | { type: 'int32[]'; value: readonly number[] };

export interface GgufTensor {
  name: string;
  /** ggml order: the row length (innermost dimension) first, the reverse of PyTorch's shape. */
  dims: number[];
  type: GgmlType;
  /** Called once, while the file is written, so that only one tensor is in memory at a time. */
  values: () => Float32Array;
}

export const GGUF_ALIGNMENT = 32;
const GGUF_VERSION = 3;
// gguf.h `gguf_type`.
const VALUE_TYPE = { uint32: 4, int32: 5, float32: 6, bool: 7, string: 8, array: 9 } as const;

/** Little-endian GGUF fields appended to a growing byte list. */
class ByteList {
  private readonly chunks: Buffer[] = [];
  length = 0;

  private fixed(size: number, write: (b: Buffer) => void): void {
    const b = Buffer.alloc(size);
    write(b);
    this.raw(b);
  }
  raw(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }
  u8(value: number): void {
    this.fixed(1, (b) => b.writeUInt8(value));
  }
  u32(value: number): void {
    this.fixed(4, (b) => b.writeUInt32LE(value));
  }
  i32(value: number): void {
    this.fixed(4, (b) => b.writeInt32LE(value));
  }
  u64(value: number): void {
    this.fixed(8, (b) => b.writeBigUInt64LE(BigInt(value)));
  }
  f32(value: number): void {
    this.fixed(4, (b) => b.writeFloatLE(value));
  }
  string(value: string): void {
    const bytes = Buffer.from(value, 'utf8');
    this.u64(bytes.length);
    this.raw(bytes);
  }
  padTo(alignment: number): void {
    const rest = (alignment - (this.length % alignment)) % alignment;
    if (rest > 0) this.raw(Buffer.alloc(rest));
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function writeValue(out: ByteList, value: GgufValue): void {
  const array = <T>(itemType: number, items: readonly T[], write: (item: T) => void) => {
    out.u32(VALUE_TYPE.array);
    out.u32(itemType);
    out.u64(items.length);
    items.forEach(write);
  };
  const scalar = (type: number, write: () => void) => {
    out.u32(type);
    write();
  };
  switch (value.type) {
    case 'string':
      return scalar(VALUE_TYPE.string, () => out.string(value.value));
    case 'uint32':
      return scalar(VALUE_TYPE.uint32, () => out.u32(value.value));
    case 'int32':
      return scalar(VALUE_TYPE.int32, () => out.i32(value.value));
    case 'float32':
      return scalar(VALUE_TYPE.float32, () => out.f32(value.value));
    case 'bool':
      return scalar(VALUE_TYPE.bool, () => out.u8(value.value ? 1 : 0));
    case 'string[]':
      return array(VALUE_TYPE.string, value.value, (item) => out.string(item));
    case 'float32[]':
      return array(VALUE_TYPE.float32, value.value, (item) => out.f32(item));
    case 'int32[]':
      return array(VALUE_TYPE.int32, value.value, (item) => out.i32(item));
  }
}

const padding = (offset: number) => (GGUF_ALIGNMENT - (offset % GGUF_ALIGNMENT)) % GGUF_ALIGNMENT;

/**
 * Writes a GGUF v3 file (llama.cpp's `gguf.h` layout): magic, version, counts, metadata,
 * tensor infos, then each tensor's data at a 32-byte aligned offset. Tensors are produced and
 * written one at a time, so a 4 GB model never sits in memory whole.
 */
export function writeGguf(
  path: string,
  metadata: ReadonlyMap<string, GgufValue>,
  tensors: readonly GgufTensor[],
): void {
  const header = new ByteList();
  header.raw(Buffer.from('GGUF', 'ascii'));
  header.u32(GGUF_VERSION);
  header.u64(tensors.length);
  header.u64(metadata.size);
  for (const [key, value] of metadata) {
    header.string(key);
    writeValue(header, value);
  }
  let offset = 0;
  const sizes = tensors.map((tensor) => {
    const count = tensor.dims.reduce((a, b) => a * b, 1);
    const size = ggmlByteSize(tensor.type, count);
    header.string(tensor.name);
    header.u32(tensor.dims.length);
    for (const dim of tensor.dims) header.u64(dim);
    header.u32(ggmlTypeIds[tensor.type]);
    header.u64(offset);
    offset += size + padding(size);
    return { count, size };
  });
  header.padTo(GGUF_ALIGNMENT);

  const fd = openSync(path, 'w');
  try {
    writeAll(fd, header.bytes());
    tensors.forEach((tensor, i) => {
      const values = tensor.values();
      const expected = sizes[i];
      if (values.length !== expected?.count) {
        throw new RangeError(`${tensor.name}: ${values.length} values for dims [${tensor.dims.join(', ')}]`);
      }
      writeAll(fd, encodeGgml(tensor.type, values));
      const rest = padding(expected.size);
      if (rest > 0) writeAll(fd, Buffer.alloc(rest));
    });
  } finally {
    closeSync(fd);
  }
}

/** writeSync may write less than asked; large tensors are written until every byte is out. */
function writeAll(fd: number, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
}
