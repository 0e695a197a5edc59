import { describe, expect, it } from '@jest/globals';
import { parseImageSize, parseKeypointShape, parseNames } from './python-literal.js';

describe('parseNames', () => {
  it.each([
    ['{}', []],
    ["{0: 'person'}", ['person']],
    ["{0: 'person', 1: 'traffic light', 2: 'hair drier'}", ['person', 'traffic light', 'hair drier']],
    [`{0: "o'clock", 1: 'x'}`, ["o'clock", 'x']],
    [`{0: 'it\\'s', 1: "say \\"hi\\""}`, ["it's", 'say "hi"']],
    ["{0: 'caf\\xe9', 1: '\\u6771'}", ['café', '東']],
    ["{ 0 : 'a' , 1 : 'b' , }", ['a', 'b']],
    ["{1: 'b', 0: 'a'}", ['a', 'b']],
    ["{0: 'a', 2: 'c'}", ['a', 'class_1', 'c']],
    ['{"0": "a", "1": "b"}', ['a', 'b']],
    ['["a", "b"]', ['a', 'b']],
  ])('reads %s', (text, expected) => {
    expect(parseNames(text)).toEqual(expected);
  });

  it.each([
    ["{0: 'a'"],
    ["{0: 'a' 1: 'b'}"],
    ["{a: 'b'}"],
    ["{0: 'unterminated}"],
    ["{0: 'a'} extra"],
    ["{0: 'bad \\q'}"],
  ])('refuses %s with a clear error', (text) => {
    expect(() => parseNames(text)).toThrow(/cannot read model metadata/);
  });
});

describe('parseImageSize', () => {
  it.each([
    ['[640, 640]', [640, 640]],
    ['[480, 640]', [480, 640]],
    ['640', [640, 640]],
    ['(320, 320)', [320, 320]],
  ])('reads %s', (text, expected) => {
    expect(parseImageSize(text)).toEqual(expected);
  });
  it.each(['', '[]', '[0, 640]', '[1, 2, 3]'])('refuses %p', (text) => {
    expect(() => parseImageSize(text)).toThrow(/imgsz/);
  });
});

describe('parseKeypointShape', () => {
  it('reads [points, values per point]', () => {
    expect(parseKeypointShape('[17, 3]')).toEqual([17, 3]);
    expect(parseKeypointShape('[5,2]')).toEqual([5, 2]);
  });

  it.each(['[17]', '[17, 4]', '[0, 3]', '17, 3, 1', 'x'])('refuses %p', (text) => {
    expect(() => parseKeypointShape(text)).toThrow(/kpt_shape/);
  });
});
