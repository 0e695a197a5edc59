import { describe, expect, it } from '@jest/globals';
import { acceptsEnd, advanceBytes, initialState, shortestCompletion } from './json-matcher.js';
import { ANY_OBJECT, compileSchema, type SchemaNode } from './json-schema.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const accepts = (node: SchemaNode, text: string) => {
  const state = advanceBytes(initialState(node), bytes(text));
  return state.length > 0 && acceptsEnd(state);
};
const prefixOk = (node: SchemaNode, text: string) => advanceBytes(initialState(node), bytes(text)).length > 0;

describe('json matcher', () => {
  it('takes any JSON object for json_object, and nothing else', () => {
    for (const text of [
      '{}',
      '{"a":1}',
      ' {"a": [1, 2.5e3, -0.25, "x\\u00e9\\n", true, null, {}]}',
      '{\n  "é": "ü"\n}',
    ])
      expect(accepts(ANY_OBJECT, text)).toBe(true);
    for (const text of ['[]', '1', '"a"', '{"a":01}', '{"a":1,}', '{a:1}', '{"a":"\u0001"}', '{"a":tru}'])
      expect(accepts(ANY_OBJECT, text)).toBe(false);
    expect(prefixOk(ANY_OBJECT, '{"a":tr')).toBe(true);
    expect(prefixOk(ANY_OBJECT, '{"a":x')).toBe(false);
  });

  it('bounds whitespace, so the output cannot idle', () => {
    expect(accepts(ANY_OBJECT, '{ "a" : 1 }')).toBe(true);
    expect(accepts(ANY_OBJECT, '{  "a":1}')).toBe(false);
    expect(accepts(ANY_OBJECT, `{\n${' '.repeat(20)}"a":1}`)).toBe(true);
    expect(accepts(ANY_OBJECT, `{\n${' '.repeat(21)}"a":1}`)).toBe(false);
  });

  it('writes declared properties in order, required ones never skipped', () => {
    const node = compileSchema({
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'integer' }, c: { type: 'boolean' } },
      required: ['b'],
      additionalProperties: false,
    });
    expect(accepts(node, '{"b":1}')).toBe(true);
    expect(accepts(node, '{"a":"x","b":-2,"c":false}')).toBe(true);
    expect(accepts(node, '{"a":"x"}')).toBe(false);
    expect(accepts(node, '{"b":1,"a":"x"}')).toBe(false);
    expect(accepts(node, '{"c":true}')).toBe(false);
    expect(accepts(node, '{"b":1.5}')).toBe(false);
    expect(accepts(node, '{"d":1}')).toBe(false);
  });

  it('keeps enums, consts, lengths, item counts and integer ranges', () => {
    const node = compileSchema({
      type: 'object',
      properties: {
        kind: { enum: ['cat', 'dog', 3, 33] },
        tag: { const: 'v1' },
        name: { type: 'string', minLength: 2, maxLength: 3 },
        list: {
          type: 'array',
          items: { type: 'integer', minimum: 10, maximum: 12 },
          minItems: 1,
          maxItems: 2,
        },
        maybe: { type: ['number', 'null'] },
      },
      required: ['kind', 'tag', 'name', 'list', 'maybe'],
    });
    expect(accepts(node, '{"kind":"dog","tag":"v1","name":"éa","list":[10,12],"maybe":null}')).toBe(true);
    expect(accepts(node, '{"kind":33,"tag":"v1","name":"abc","list":[11],"maybe":-1.5}')).toBe(true);
    expect(accepts(node, '{"kind":3,"tag":"v1","name":"abc","list":[11],"maybe":2}')).toBe(true);
    expect(accepts(node, '{"kind":"cow","tag":"v1","name":"ab","list":[11],"maybe":1}')).toBe(false);
    expect(accepts(node, '{"kind":3,"tag":"v2","name":"ab","list":[11],"maybe":1}')).toBe(false);
    expect(accepts(node, '{"kind":3,"tag":"v1","name":"a","list":[11],"maybe":1}')).toBe(false);
    expect(accepts(node, '{"kind":3,"tag":"v1","name":"abcd","list":[11],"maybe":1}')).toBe(false);
    expect(accepts(node, '{"kind":3,"tag":"v1","name":"ab","list":[],"maybe":1}')).toBe(false);
    expect(accepts(node, '{"kind":3,"tag":"v1","name":"ab","list":[9],"maybe":1}')).toBe(false);
    expect(accepts(node, '{"kind":3,"tag":"v1","name":"ab","list":[13],"maybe":1}')).toBe(false);
    expect(accepts(node, '{"kind":3,"tag":"v1","name":"ab","list":[10,11,12],"maybe":1}')).toBe(false);
    expect(prefixOk(node, '{"kind":3,"tag":"v1","name":"ab","list":[2')).toBe(false);
  });

  it('follows local $refs, recursion included', () => {
    const node = compileSchema({
      $defs: {
        tree: { type: 'object', properties: { kids: { type: 'array', items: { $ref: '#/$defs/tree' } } } },
      },
      $ref: '#/$defs/tree',
    });
    expect(accepts(node, '{"kids":[{"kids":[]},{}]}')).toBe(true);
    expect(accepts(node, '{"kids":[1]}')).toBe(false);
  });

  it('completes any prefix with the shortest valid text', () => {
    const node = compileSchema({
      type: 'object',
      properties: {
        a: {
          type: 'array',
          items: { type: 'object', properties: { x: { type: 'string', minLength: 2 } }, required: ['x'] },
          minItems: 2,
        },
        n: { type: 'integer', minimum: 100 },
        e: { enum: ['long-one', 'sh'] },
      },
      required: ['a', 'n', 'e'],
    });
    for (const prefix of [
      '',
      '{',
      '{"a":[',
      '{"a":[{"x":"\\u00',
      '{"a":[{"x":"é',
      '{"a":[{"x":"ab"},',
      '{"a":[{"x":"ab"},{"x":"cc"}],"n":1',
      '{"a":[{"x":"ab"},{"x":"cc"}],"n":12',
      '{"a":[{"x":"ab"},{"x":"cc"}],"n":123,"e":"l',
    ]) {
      const state = advanceBytes(initialState(node), bytes(prefix));
      expect(state.length).toBeGreaterThan(0);
      const rest = shortestCompletion(state);
      expect(rest).toBeDefined();
      const done = advanceBytes(state, Buffer.from(rest as string, 'latin1'));
      expect(acceptsEnd(done)).toBe(true);
    }
  });
});

describe('schema compiler', () => {
  it('refuses keywords it cannot enforce, naming them', () => {
    expect(() => compileSchema({ type: 'string', pattern: '^a+$' })).toThrow(/unsupported keyword pattern/);
    expect(() =>
      compileSchema({ type: 'object', properties: { a: { type: 'string', format: 'email' } } }),
    ).toThrow(/format \(at \/properties\/a\)/);
    expect(() => compileSchema({ type: 'array', uniqueItems: true, contains: {} })).toThrow(
      /keywords uniqueItems, contains/,
    );
    expect(() => compileSchema({ $ref: 'http://example.com/x' })).toThrow(/only local \$ref/);
    expect(() => compileSchema({ type: 'integer', minimum: 5, maximum: 4 })).toThrow(/no integer/);
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 100; i += 1) deep = { type: 'array', items: deep };
    expect(() => compileSchema(deep)).toThrow(/nests deeper than 64 levels/);
  });
});
