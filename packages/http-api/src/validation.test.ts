import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { parseBody, parseLenientBody } from './validation.js';

const schema = z.strictObject({
  model: z.string(),
  options: z.strictObject({ temperature: z.number().optional() }).optional(),
  messages: z.array(z.strictObject({ content: z.string() })).optional(),
});

describe('parseLenientBody', () => {
  it('leaves out unknown fields at every depth and names each one', () => {
    const body = {
      model: 'm',
      extra: 1,
      options: { temperature: 0.5, num_gpu: 1 },
      messages: [{ content: 'a' }, { content: 'b', images: [] }],
    };
    const { data, ignored } = parseLenientBody(schema, body);
    expect(data).toEqual({
      model: 'm',
      options: { temperature: 0.5 },
      messages: [{ content: 'a' }, { content: 'b' }],
    });
    expect(ignored.sort()).toEqual(['extra', 'messages.1.images', 'options.num_gpu']);
    // The caller's body is not changed.
    expect(body.options).toEqual({ temperature: 0.5, num_gpu: 1 });
  });

  it('still refuses a known field with a bad value, naming it', () => {
    expect(() => parseLenientBody(schema, { model: 'm', extra: 1, options: { temperature: 'hot' } })).toThrow(
      /options\.temperature/,
    );
    expect(() => parseLenientBody(schema, [])).toThrow(/must be a JSON object/);
  });

  it('reports nothing when the body is all known', () => {
    expect(parseLenientBody(schema, { model: 'm' })).toEqual({ data: { model: 'm' }, ignored: [] });
  });

  it('parseBody refuses the same unknown field by name', () => {
    expect(() => parseBody(schema, { model: 'm', options: { num_gpu: 1 } })).toThrow(
      /unsupported parameter 'options.num_gpu'/,
    );
  });
});
