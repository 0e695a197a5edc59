import { describe, expect, it } from '@jest/globals';
import { ErrorCode } from '@vmm/errors';
import { toolCallSchema } from '../tools/tool-calls.js';
import { compileSchema, minimalSizes } from './json-schema.js';
import { initialState, minimalValue } from './json-matcher.js';

const refused = (schema: unknown, message: RegExp) =>
  expect(() => compileSchema(schema)).toThrow(
    expect.objectContaining({
      code: ErrorCode.InvalidArgument,
      field: 'format',
      message: expect.stringMatching(message),
    }),
  );

describe('compileSchema bounds what it cannot compile in bounded time and memory', () => {
  it.each([
    [
      'minItems 1e9',
      { type: 'array', items: { type: 'integer' }, minItems: 1_000_000_000 },
      /minItems makes the shortest allowed value longer than 1048576 bytes \(at \/\)/,
    ],
    ['minItems 1e8', { type: 'array', minItems: 100_000_000 }, /minItems .* \(at \/\)/],
    ['minLength 1e8', { type: 'string', minLength: 100_000_000 }, /minLength .* \(at \/\)/],
    [
      'minLength 1e9 in a property',
      { type: 'object', properties: { a: { type: 'string', minLength: 1e9 } }, required: ['a'] },
      /minLength .* \(at \/properties\/a\)/,
    ],
    [
      'nested minItems 1000³',
      {
        type: 'array',
        minItems: 1000,
        items: {
          type: 'array',
          minItems: 1000,
          items: { type: 'array', minItems: 1000, items: { type: 'integer' } },
        },
      },
      /minItems .* \(at \/items\)/,
    ],
    [
      'a $ref used before its definition makes it long',
      {
        type: 'array',
        minItems: 2000,
        items: { $ref: '#/$defs/s' },
        $defs: { s: { type: 'string', minLength: 1000 } },
      },
      /minItems .* \(at \/\)/,
    ],
    [
      'a left-recursive $ref',
      { $defs: { a: { anyOf: [{ $ref: '#/$defs/a' }, { type: 'null' }] } }, $ref: '#/$defs/a' },
      /\$ref "#\/\$defs\/a" refers to itself before any value is written/,
    ],
    [
      'mutually left-recursive $refs',
      {
        $defs: {
          a: { anyOf: [{ $ref: '#/$defs/b' }, { type: 'null' }] },
          b: { anyOf: [{ $ref: '#/$defs/a' }, { type: 'integer' }] },
        },
        $ref: '#/$defs/a',
      },
      /left recursion/,
    ],
  ])('refuses %s with a 400 naming the keyword and path', (_what, schema, message) => {
    refused(schema, message);
  });

  it('still compiles recursion through values, and long-but-fitting minimums', () => {
    const tree = compileSchema({
      $defs: {
        node: {
          type: 'object',
          properties: { children: { type: 'array', items: { $ref: '#/$defs/node' } } },
          required: ['children'],
        },
      },
      $ref: '#/$defs/node',
    });
    expect(minimalValue(tree)).toBe('{"children":[]}');
    const list = compileSchema({ type: 'array', items: { type: 'integer' }, minItems: 1000 });
    expect(minimalSizes(list).get(list)).toBe(2 + 999 + 1000);
    expect(initialState(list)).toBeDefined();
    // Shortest paths through cycles: each node's own shortest value, whatever is measured first.
    const cyclic = compileSchema({
      $defs: {
        a: { anyOf: [{ type: 'null' }, { $ref: '#/$defs/b' }] },
        b: { type: 'array', minItems: 1, items: { $ref: '#/$defs/a' } },
      },
      type: 'object',
      properties: { p: { $ref: '#/$defs/a' }, q: { $ref: '#/$defs/b' } },
      required: ['p', 'q'],
    });
    expect(minimalValue(cyclic)).toBe('{"p":null,"q":[null]}');
  });

  it('resolves $ref and $defs inside a tool’s parameters against the parameters', () => {
    const parameters = JSON.stringify({
      type: 'object',
      properties: { where: { $ref: '#/$defs/place' } },
      required: ['where'],
      $defs: { place: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
    });
    const tools = [
      { name: 'weather', description: '', parameters },
      {
        name: 'time',
        description: '',
        parameters: JSON.stringify({
          type: 'object',
          properties: { zone: { $ref: '#/definitions/z' } },
          definitions: { z: { enum: ['UTC'] } },
          required: ['zone'],
        }),
      },
    ];
    const node = compileSchema(toolCallSchema(tools, 'required'));
    expect(minimalValue(node)).toMatch(
      /^\{"name":"(weather","arguments":\{"where":\{"city":""\}\}|time","arguments":\{"zone":"UTC"\})\}$/,
    );
  });
});
