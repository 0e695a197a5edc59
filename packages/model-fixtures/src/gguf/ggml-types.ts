import { toFloat16Bits } from '../onnx/float16.js';

/**
 * The ggml tensor types a fixture can be written in, with llama.cpp's numbering (ggml.h
 * `ggml_type`) and block layout: q8_0 and q4_0 store blocks of 32 values with one float16 scale.
 */
export type GgmlType = 'f32' | 'f16' | 'q8_0' | 'q4_0';

export const ggmlTypeIds: Readonly<Record<GgmlType, number>> = { f32: 0, f16: 1, q4_0: 2, q8_0: 8 };

const BLOCK = 32;
const blockBytes: Readonly<Record<GgmlType, { values: number; bytes: number }>> = {
  f32: { values: 1, bytes: 4 },
  f16: { values: 1, bytes: 2 },
  q8_0: { values: BLOCK, bytes: 2 + BLOCK },
  q4_0: { values: BLOCK, bytes: 2 + BLOCK / 2 },
};

/** Whether rows of `rowLength` values can be stored in `type` (quantized rows hold whole blocks). */
export function fitsRows(type: GgmlType, rowLength: number): boolean {
  return rowLength % blockBytes[type].values === 0;
}

export function ggmlByteSize(type: GgmlType, count: number): number {
  const block = blockBytes[type];
  if (count % block.values !== 0) throw new RangeError(`${count} values do not fill ${type} blocks`);
  return (count / block.values) * block.bytes;
}

/** `values` encoded as ggml stores `type`, rounding as ggml's reference quantizers do. */
export function encodeGgml(type: GgmlType, values: Float32Array): Uint8Array {
  const out = new Uint8Array(ggmlByteSize(type, values.length));
  const view = new DataView(out.buffer);
  switch (type) {
    case 'f32':
      out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      return out;
    case 'f16':
      for (let i = 0; i < values.length; i += 1) view.setUint16(2 * i, toFloat16Bits(values[i] ?? 0), true);
      return out;
    case 'q8_0':
      for (let b = 0; b < values.length / BLOCK; b += 1) quantizeQ8Block(values, b * BLOCK, view, b * 34);
      return out;
    case 'q4_0':
      for (let b = 0; b < values.length / BLOCK; b += 1) quantizeQ4Block(values, b * BLOCK, view, b * 18);
      return out;
  }
}

// quantize_row_q8_0_ref: d = max|x| / 127, q = round(x / d).
function quantizeQ8Block(x: Float32Array, start: number, out: DataView, at: number): void {
  let amax = 0;
  for (let j = 0; j < BLOCK; j += 1) amax = Math.max(amax, Math.abs(x[start + j] ?? 0));
  const d = amax / 127;
  const id = d ? 1 / d : 0;
  out.setUint16(at, toFloat16Bits(d), true);
  for (let j = 0; j < BLOCK; j += 1)
    out.setInt8(at + 2 + j, roundHalfAway(Math.fround((x[start + j] ?? 0) * id)));
}

// quantize_row_q4_0_ref: d = (the value of largest magnitude) / -8, q = min(15, trunc(x / d + 8.5));
// byte j holds value j in its low nibble and value j + 16 in its high one.
function quantizeQ4Block(x: Float32Array, start: number, out: DataView, at: number): void {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < BLOCK; j += 1) {
    const v = x[start + j] ?? 0;
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  const d = Math.fround(max / -8);
  const id = d ? Math.fround(1 / d) : 0;
  out.setUint16(at, toFloat16Bits(d), true);
  for (let j = 0; j < BLOCK / 2; j += 1) {
    const low = Math.min(15, Math.trunc(Math.fround(Math.fround((x[start + j] ?? 0) * id) + 8.5)));
    const high = Math.min(15, Math.trunc(Math.fround(Math.fround((x[start + j + 16] ?? 0) * id) + 8.5)));
    out.setUint8(at + 2 + j, low | (high << 4));
  }
}

/** C's roundf: halves away from zero (Math.round rounds them up). */
function roundHalfAway(value: number): number {
  return Math.sign(value) * Math.round(Math.abs(value));
}
