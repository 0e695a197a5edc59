import { describe, expect, it } from '@jest/globals';
import { encodeGgml } from '../gguf/ggml-types.js';
import { fromFloat16Bits } from '../onnx/float16.js';
import { Prng } from '../prng.js';
import { quantizeInt8Columns, quantizeQ4Blocks } from './llama-weights.js';

/** W [inputs, outputs] with uniform values, and a few outliers so scales differ by block. */
function matrix(inputs: number, outputs: number): Float32Array {
  const values = new Prng(3).uniform(inputs * outputs, 0.2);
  for (let i = 0; i < values.length; i += 97) values[i] = (values[i] as number) * 9;
  return values;
}

/** What MatMulNBits computes with: (q - 8) · scale, consecutive inputs in low then high nibble. */
function dequantizeQ4(q: { data: Uint8Array; scales: Float32Array }, inputs: number, outputs: number) {
  const blocks = Math.ceil(inputs / 32);
  const out = new Float32Array(inputs * outputs);
  for (let n = 0; n < outputs; n += 1) {
    for (let k = 0; k < inputs; k += 1) {
      const block = Math.floor(k / 32);
      const byte = q.data[(n * blocks + block) * 16 + Math.floor((k % 32) / 2)] as number;
      const nibble = k % 2 === 0 ? byte & 0xf : byte >> 4;
      out[k * outputs + n] = (nibble - 8) * (q.scales[n * blocks + block] as number);
    }
  }
  return out;
}

/** ggml's dequantize_row_q4_0: byte j holds value j (low nibble) and j + 16 (high). */
function dequantizeGgmlQ4(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array((bytes.length / 18) * 32);
  for (let block = 0; block < bytes.length / 18; block += 1) {
    const d = fromFloat16Bits(view.getUint16(block * 18, true));
    for (let j = 0; j < 16; j += 1) {
      const byte = view.getUint8(block * 18 + 2 + j);
      out[block * 32 + j] = ((byte & 0xf) - 8) * d;
      out[block * 32 + j + 16] = ((byte >> 4) - 8) * d;
    }
  }
  return out;
}

describe('quantized projections', () => {
  it('q4 blocks hold exactly what llama.cpp q4_0 holds for the same column', () => {
    const [inputs, outputs] = [96, 5];
    const values = matrix(inputs, outputs);
    const ours = dequantizeQ4(quantizeQ4Blocks(values, inputs, outputs), inputs, outputs);
    for (let n = 0; n < outputs; n += 1) {
      const column = Float32Array.from({ length: inputs }, (_, k) => values[k * outputs + n] as number);
      const theirs = dequantizeGgmlQ4(encodeGgml('q4_0', column));
      expect(Array.from({ length: inputs }, (_, k) => ours[k * outputs + n])).toEqual(Array.from(theirs));
    }
  });

  it('q4 pads a last partial block with zeros and keeps every value within a step', () => {
    const [inputs, outputs] = [70, 3];
    const values = matrix(inputs, outputs);
    const q = quantizeQ4Blocks(values, inputs, outputs);
    expect(q.data.length).toBe(outputs * 3 * 16);
    const back = dequantizeQ4(q, inputs, outputs);
    for (let i = 0; i < values.length; i += 1) {
      const scale = Math.abs(
        q.scales[(i % outputs) * 3 + Math.floor(Math.floor(i / outputs) / 32)] as number,
      );
      // Half a step when rounded; a whole one where q4_0 clips (the side opposite the largest value).
      expect(Math.abs((back[i] as number) - (values[i] as number))).toBeLessThanOrEqual(scale * 1.001 + 1e-6);
    }
  });

  it('int8 columns use 7 bits (no VPMADDUBSW saturation) and round to within half a step', () => {
    const [inputs, outputs] = [40, 6];
    const values = matrix(inputs, outputs);
    const q = quantizeInt8Columns(values, inputs, outputs);
    const signed = new Int8Array(q.data.buffer);
    for (let n = 0; n < outputs; n += 1) {
      let max = 0;
      for (let k = 0; k < inputs; k += 1) max = Math.max(max, Math.abs(values[k * outputs + n] as number));
      expect(q.scales[n]).toBeCloseTo(max / 63, 6);
      for (let k = 0; k < inputs; k += 1) {
        const i = k * outputs + n;
        expect(
          Math.abs((signed[i] as number) * (q.scales[n] as number) - (values[i] as number)),
        ).toBeLessThanOrEqual((q.scales[n] as number) * 0.5 + 1e-7);
      }
      // The largest value of a column maps to ±63 exactly.
      expect(
        Math.max(...Array.from({ length: inputs }, (_, k) => Math.abs(signed[k * outputs + n] as number))),
      ).toBe(63);
    }
  });
});
