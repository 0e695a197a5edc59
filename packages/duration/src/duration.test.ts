import { describe, expect, it } from '@jest/globals';
import { parseDuration, parsePositiveDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['5m', 300_000],
    ['30s', 30_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['1.5s', 1500],
    ['300', 300_000],
    ['0', 0],
    ['-1', -1000],
    ['-5m', -300_000],
    [' 10s ', 10_000],
  ])('%p → %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'forever', '5 m', '5x', 'm5', '--1', '1d'])('refuses %p naming the field', (text) => {
    expect(() => parseDuration(text, 'VMM_KEEP_ALIVE')).toThrow(
      expect.objectContaining({ field: 'VMM_KEEP_ALIVE' }),
    );
  });
});

describe('parsePositiveDuration', () => {
  it('reads a duration above zero, and refuses zero, negatives and nonsense, naming the field', () => {
    expect(parsePositiveDuration('1.5s', 'X_TIMEOUT')).toBe(1500);
    for (const text of ['0', '-1', '0s', 'soon'])
      expect(() => parsePositiveDuration(text, 'X_TIMEOUT')).toThrow(/X_TIMEOUT/);
  });
});
