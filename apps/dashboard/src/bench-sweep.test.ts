import { describe, expect, it } from '@jest/globals';
import { quantile } from './bench-sweep.js';

describe('quantile', () => {
  it('interpolates between ranks as numpy does by default', () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5], 0.99)).toBeCloseTo(4.96);
    expect(quantile([7], 0.9)).toBe(7);
    expect(quantile([], 0.5)).toBeUndefined();
  });
});
