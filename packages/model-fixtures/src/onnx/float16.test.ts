import { describe, expect, it } from '@jest/globals';
import { fromFloat16Bits, toFloat16Bits } from './float16.js';

describe('toFloat16Bits', () => {
  it.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [65520, 0x7c00], // rounds up to infinity
    [1e9, 0x7c00],
    [Number.POSITIVE_INFINITY, 0x7c00],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -26, 0x0000], // underflows
    [1 + 2 ** -11, 0x3c00], // tie rounds to even (down)
    [1 + 3 * 2 ** -11, 0x3c02], // tie rounds to even (up)
    [0.1, 0x2e66],
  ])('encodes %p as 0x%s', (value, bits) => {
    expect(toFloat16Bits(value)).toBe(bits);
  });

  it('encodes NaN as a NaN', () => {
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(Number.NaN)))).toBe(true);
  });

  it('round-trips every finite half value exactly', () => {
    const mismatches: number[] = [];
    for (let bits = 0; bits < 0x10000; bits += 1) {
      if ((bits & 0x7c00) !== 0x7c00 && toFloat16Bits(fromFloat16Bits(bits)) !== bits) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });
});
