import { describe, expect, it } from '@jest/globals';
import { Prng } from './prng.js';

describe('Prng', () => {
  it('repeats the same sequence for the same seed', () => {
    const a = new Prng(42).uniform(100, 1);
    const b = new Prng(42).uniform(100, 1);
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it.each([
    [0, 1],
    [1, 2],
    [2 ** 40, 2 ** 40 + 1],
  ])('gives different sequences for seeds %p and %p', (first, second) => {
    expect(new Prng(first).next()).not.toBe(new Prng(second).next());
  });

  it('stays within [-scale, scale) and spreads over it', () => {
    const values = new Prng(3).uniform(10_000, 0.5);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(-0.5);
    expect(Math.max(...values)).toBeLessThan(0.5);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
  });

  it('forks independent streams by label', () => {
    const root = new Prng(9);
    expect(root.fork('a').next()).toBe(new Prng(9).fork('a').next());
    expect(root.fork('a').next()).not.toBe(root.fork('b').next());
  });

  it.each([1.5, Number.NaN, 2 ** 60])('refuses the seed %p', (seed) => {
    expect(() => new Prng(seed)).toThrow(RangeError);
  });
});
