import { describe, expect, it } from '@jest/globals';
import { mropeAt, mropePositions } from './mrope-positions.js';

const [T, START, IMG, END] = [7, 100, 101, 102];

describe('mropePositions', () => {
  it('counts text on, lays a picture out by time, row and column, and counts on from its largest', () => {
    // Two text tokens, <|vision_start|>, a 1×2×2 merged grid, <|vision_end|>, one more text token.
    const ids = [T, T, START, IMG, IMG, IMG, IMG, END, T];
    const { positions, delta } = mropePositions(ids, [[1, 2, 2]], IMG, START);
    const n = ids.length;
    const rows = [0, 1, 2].map((k) => [...positions.subarray(k * n, (k + 1) * n)]);
    expect(rows).toEqual([
      [0, 1, 2, 3, 3, 3, 3, 5, 6],
      [0, 1, 2, 3, 3, 4, 4, 5, 6],
      [0, 1, 2, 3, 4, 3, 4, 5, 6],
    ]);
    // Seven positions for nine tokens: the tenth token (index 9) is at position 7.
    expect(delta).toBe(-2);
    expect(mropeAt({ positions, delta }, 9)).toEqual([7, 7, 7]);
    expect(mropeAt({ positions, delta }, 4)).toEqual([3, 3, 4]);
  });

  it('is the plain index for text alone', () => {
    const { positions, delta } = mropePositions([T, T, T], [], IMG, START);
    expect([...positions]).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    expect(delta).toBe(0);
  });

  it('refuses a prompt whose pictures and grids do not match', () => {
    expect(() => mropePositions([T, START, IMG, END], [], IMG, START)).toThrow(/1 pictures .* for 0 images/);
    expect(() => mropePositions([T, START, IMG, END], [[1, 2, 2]], IMG, START)).toThrow(/fewer image tokens/);
  });
});
