import { describe, expect, it } from '@jest/globals';
import { fromFloat16Bits } from '../onnx/float16.js';
import { Prng } from '../prng.js';
import { encodeGgml, fitsRows, ggmlByteSize } from './ggml-types.js';

/** ggml's dequantize_row_q8_0 / dequantize_row_q4_0, written from the block layout. */
function decode(type: 'q8_0' | 'q4_0', bytes: Uint8Array, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  const size = type === 'q8_0' ? 34 : 18;
  for (let b = 0; b < count / 32; b += 1) {
    const d = fromFloat16Bits(view.getUint16(b * size, true));
    for (let j = 0; j < 32; j += 1) {
      if (type === 'q8_0') out[b * 32 + j] = d * view.getInt8(b * size + 2 + j);
      else {
        const byte = view.getUint8(b * size + 2 + (j % 16));
        out[b * 32 + j] = d * ((j < 16 ? byte & 0x0f : byte >> 4) - 8);
      }
    }
  }
  return out;
}

describe('ggml encodings', () => {
  const values = new Prng(5).uniform(32 * 64, 2);

  it('sizes blocks as ggml does', () => {
    expect(ggmlByteSize('f32', 64)).toBe(256);
    expect(ggmlByteSize('f16', 64)).toBe(128);
    expect(ggmlByteSize('q8_0', 64)).toBe(68);
    expect(ggmlByteSize('q4_0', 64)).toBe(36);
    expect(() => ggmlByteSize('q8_0', 40)).toThrow(RangeError);
    expect(fitsRows('q4_0', 172)).toBe(false);
    expect(fitsRows('f16', 172)).toBe(true);
  });

  it('keeps f32 bytes and rounds f16 to nearest', () => {
    expect(new Float32Array(encodeGgml('f32', values).buffer)).toEqual(values);
    const half = new Uint16Array(encodeGgml('f16', values).buffer);
    half.forEach((bits, i) =>
      expect(Math.abs(fromFloat16Bits(bits) - (values[i] ?? 0))).toBeLessThan(2 ** -10),
    );
  });

  it('q8_0: scale = max |x| / 127, every value within half a step', () => {
    const block = Float32Array.from({ length: 32 }, (_, j) => j - 12.7);
    const bytes = encodeGgml('q8_0', block);
    const view = new DataView(bytes.buffer);
    expect(fromFloat16Bits(view.getUint16(0, true))).toBeCloseTo(18.3 / 127, 3); // stored as float16
    expect(view.getInt8(2 + 31)).toBe(127);
    expect(view.getInt8(2)).toBe(-88); // round(-12.7 / (18.3 / 127))
    const decoded = decode('q8_0', encodeGgml('q8_0', values), values.length);
    decoded.forEach((value, i) =>
      expect(Math.abs(value - (values[i] ?? 0))).toBeLessThan((2 / 127) * 0.51 + 1e-3),
    );
  });

  it('q4_0: scale = the first largest-magnitude value / -8, nibbles j and j + 16 share a byte', () => {
    // Values -7..8 twice, with -8 at 20: 8 (at 15) comes first, so d = -1 and q = trunc(8.5 - x).
    const block = Float32Array.from({ length: 32 }, (_, j) => (j === 20 ? -8 : (j % 16) - 7));
    const bytes = encodeGgml('q4_0', block);
    const view = new DataView(bytes.buffer);
    expect(fromFloat16Bits(view.getUint16(0, true))).toBe(-1);
    expect(view.getUint8(2)).toBe(15 | (15 << 4)); // x = -7 at 0 and 16
    expect(view.getUint8(2 + 4)).toBe(11 | (15 << 4)); // x = -3 at 4; -8 at 20 clamps to 15
    expect(view.getUint8(2 + 15) & 0x0f).toBe(0); // x = 8
    const decoded = decode('q4_0', encodeGgml('q4_0', values), values.length);
    // Half a step (|d| / 2) except where the far side clamps at 7 steps: there one step.
    decoded.forEach((value, i) => expect(Math.abs(value - (values[i] ?? 0))).toBeLessThan(2 / 8 + 1e-3));
  });
});
