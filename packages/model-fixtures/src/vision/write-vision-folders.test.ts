import { describe, expect, it } from '@jest/globals';
import { pythonDictLiteral } from './write-vision-folders.js';

describe('pythonDictLiteral', () => {
  it.each([
    [[], '{}'],
    [['person'], "{0: 'person'}"],
    [['person', 'traffic light'], "{0: 'person', 1: 'traffic light'}"],
    [["o'clock"], `{0: "o'clock"}`],
    [[`it's "x"`], `{0: 'it\\'s "x"'}`],
    [['back\\slash'], "{0: 'back\\\\slash'}"],
  ])('writes %p as %s, as Python repr does', (labels, expected) => {
    expect(pythonDictLiteral(labels)).toBe(expected);
  });
});
