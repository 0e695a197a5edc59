import { describe, expect, it } from '@jest/globals';
import { floatToHalf, halfToFloat, halfValues } from './half-float.js';

describe('half floats', () => {
  it('round-trips every finite half exactly', () => {
    const bits = Uint16Array.from({ length: 0x10000 }, (_, i) => i).filter(
      (h) => ((h >> 10) & 0x1f) !== 0x1f,
    );
    expect(floatToHalf(halfToFloat(bits))).toEqual(bits);
  });

  it('rounds to nearest even, overflows to infinity and keeps NaN', () => {
    // 1 + 2^-11 lies halfway between 1 and the next half (1 + 2^-10): ties go to even (1).
    expect(Array.from(floatToHalf(Float32Array.of(1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520, -1e9)))).toEqual([
      0x3c00, 0x3c02, 0x7c00, 0xfc00,
    ]);
    expect(Number.isNaN(halfToFloat(floatToHalf(Float32Array.of(Number.NaN)))[0])).toBe(true);
    expect(halfToFloat(floatToHalf(Float32Array.of(6e-8)))[0]).toBeCloseTo(2 ** -24, 12);
  });

  it('tables every half value by its bits', () => {
    const table = halfValues();
    expect(table).toHaveLength(65536);
    expect(table).toBe(halfValues());
    expect([table[0x3c00], table[0xc000], table[0x3555], table[0x0001]]).toEqual([
      1,
      -2,
      0.25 * (1 + 0x155 / 1024),
      2 ** -24,
    ]);
  });
});
