import { describe, expect, it } from '@jest/globals';
import { labelColour, labelRgb } from './label-colour.js';
import { paintRle } from './rle-layer.js';

describe('paintRle', () => {
  it('paints the set runs, column by column', () => {
    // 3 wide, 2 high: the middle column set (2 unset, 2 set, 2 unset).
    const layer = new Uint8Array(3 * 2 * 4);
    paintRle(layer, 3, 2, [2, 2, 2], [1, 2, 3, 4]);
    const alpha = [0, 1, 2, 3, 4, 5].map((i) => layer[i * 4 + 3]);
    expect(alpha).toEqual([0, 4, 0, 0, 4, 0]);
    expect([...layer.subarray(4, 8)]).toEqual([1, 2, 3, 4]);
  });

  it('ignores runs past the image', () => {
    const layer = new Uint8Array(4 * 4);
    paintRle(layer, 2, 2, [3, 10], [9, 9, 9, 9]);
    expect(layer[(1 * 2 + 1) * 4 + 3]).toBe(9);
    expect(layer).toHaveLength(16);
  });
});

describe('labelRgb', () => {
  it('gives the named colours’ bytes, and the hue of any other label as CSS would draw it', () => {
    expect(labelRgb('red')).toEqual([0xff, 0x3b, 0x30]);
    expect(labelColour('person')).toMatch(/^hsl\(\d+ 90% 55%\)$/);
    const [r, g, b] = labelRgb('person');
    for (const value of [r, g, b]) expect(value).toBeGreaterThanOrEqual(0);
    // Lightness 55 %, saturation 90 %: the brightest channel 0.955 · 255, the darkest 0.145 · 255.
    expect(Math.max(r, g, b)).toBe(244);
    expect(Math.min(r, g, b)).toBe(37);
  });
});
