// IEEE 754 half precision <-> float32, for float16 caches, logits and images (JS has no
// Float16Array in Node 20).

const exponentTable = new Float64Array(32).map((_, e) => 2 ** (e - 15));

export function halfToFloat(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i += 1) {
    const h = bits[i] as number;
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    out[i] =
      exponent === 0
        ? sign * mantissa * 2 ** -24
        : exponent === 0x1f
          ? mantissa
            ? Number.NaN
            : sign * Infinity
          : sign * (1 + mantissa / 1024) * (exponentTable[exponent] as number);
  }
  return out;
}

const floatView = new Float32Array(1);
const bitsView = new Uint32Array(floatView.buffer);

/** Rounds to nearest even, as ONNX Runtime's Cast does. */
export function floatToHalf(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i += 1) {
    floatView[0] = values[i] as number;
    const x = bitsView[0] as number;
    const sign = (x >>> 16) & 0x8000;
    const exponent = (x >>> 23) & 0xff;
    let mantissa = x & 0x7fffff;
    if (exponent === 0xff) {
      out[i] = sign | 0x7c00 | (mantissa ? 0x200 : 0);
      continue;
    }
    const e = exponent - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mantissa |= 0x800000;
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      const rest = mantissa & ((1 << shift) - 1);
      let value = mantissa >>> shift;
      if (rest > half || (rest === half && value & 1)) value += 1;
      out[i] = sign | value;
      continue;
    }
    const rest = mantissa & 0x1fff;
    let value = (e << 10) | (mantissa >>> 13);
    if (rest > 0x1000 || (rest === 0x1000 && value & 1)) value += 1;
    out[i] = sign | value;
  }
  return out;
}

let table: Float32Array | undefined;

/**
 * Every half value by its bits (65 536 floats, 256 KiB, made once): reading a float16 tensor
 * through it costs what reading a float32 one does, with no converted copy.
 */
export function halfValues(): Float32Array {
  table ??= halfToFloat(Uint16Array.from({ length: 65536 }, (_, bits) => bits));
  return table;
}
