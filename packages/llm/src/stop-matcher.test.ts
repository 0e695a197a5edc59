import { describe, expect, it } from '@jest/globals';
import { StopMatcher } from './stop-matcher.js';

function run(stops: string[], pieces: string[]) {
  const matcher = new StopMatcher(stops);
  const released: string[] = [];
  for (const piece of pieces) {
    const result = matcher.push(piece);
    released.push(result.text);
    if (result.stop !== undefined) return { released, stop: result.stop, rest: '' };
  }
  return { released, stop: undefined, rest: matcher.flush() };
}

describe('StopMatcher', () => {
  it.each([
    ['no stops: everything passes', [], ['a', 'b'], ['a', 'b'], undefined, ''],
    ['a stop inside one piece', ['END'], ['abcENDdef'], ['abc'], 'END', ''],
    ['a stop spanning pieces', ['\n\n'], ['Hello\n', '\nWorld'], ['Hello', ''], '\n\n', ''],
    ['a stop spanning three pieces', ['STOP'], ['xS', 'TO', 'Py'], ['x', '', ''], 'STOP', ''],
    ['a false start is released', ['STOP'], ['xST', 'ay'], ['x', 'STay'], undefined, ''],
    ['held text is flushed at the end', ['STOP'], ['abcST'], ['abc'], undefined, 'ST'],
    ['the earliest of two stops wins', ['cd', 'b'], ['abcd'], ['a'], 'b', ''],
    ['a stop at the very start', ['<|'], ['<|user|>'], [''], '<|', ''],
    ['overlapping prefixes', ['aab'], ['aa', 'a', 'b'], ['', 'a', ''], 'aab', ''],
    ['unicode', ['。'], ['東京', '。次'], ['東京', ''], '。', ''],
  ])('%s', (_name, stops, pieces, released, stop, rest) => {
    const result = run(stops, pieces);
    expect(result.released).toEqual(released);
    expect(result.stop).toBe(stop);
    expect(result.rest).toBe(rest);
  });
});
