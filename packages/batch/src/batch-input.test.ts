import { describe, expect, it } from '@jest/globals';
import { ErrorCode } from '@vmm/errors';
import { parseBatchInput } from './batch-input.js';

const ok = {
  method: 'POST',
  url: '/v1/chat/completions',
  body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
};
const line = (customId: string, extra: object = {}) =>
  JSON.stringify({ custom_id: customId, ...ok, ...extra });

describe('parseBatchInput', () => {
  it('reads JSONL, skipping blank lines, and JSON {requests}', () => {
    expect(
      parseBatchInput(`${line('a')}\n\n${line('b')}\r\n`, { maxItems: 10 }).map((item) => item.customId),
    ).toEqual(['a', 'b']);
    expect(
      parseBatchInput(JSON.stringify({ requests: [JSON.parse(line('c'))] }), { maxItems: 10 }),
    ).toHaveLength(1);
    expect(parseBatchInput(line('single'), { maxItems: 10 })).toEqual([
      { customId: 'single', url: '/v1/chat/completions', body: ok.body },
    ]);
  });

  it.each([
    ['', /no requests/],
    [`${line('a')}\n{`, /line 2: not valid JSON/],
    [line('a', { method: 'GET' }), /line 1: method/],
    [line('a', { url: '/v1/responses' }), /line 1: url/],
    [line('a', { body: { model: 'm' } }), /line 1: body.messages/],
    [line('a', { body: 'text' }), /line 1: body/],
    [`${line('a')}\n${line('a')}`, /line 2: custom_id "a" repeats line 1/],
    [JSON.stringify({ ...ok }), /line 1: custom_id/],
    [Array.from({ length: 11 }, (_, i) => line(`i${i}`)).join('\n'), /11 requests; the limit is 10/],
  ])('refuses %p', (text, message) => {
    expect(() => parseBatchInput(text, { maxItems: 10 })).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringMatching(message) }),
    );
  });

  it('refuses an item whose prompt is over the prompt limit, naming its line', () => {
    const big = line('b', {
      url: '/api/generate',
      body: { model: 'm', prompt: 'x'.repeat(101) },
    });
    expect(() => parseBatchInput(`${line('a')}\n${big}`, { maxItems: 10, maxPromptBytes: 100 })).toThrow(
      expect.objectContaining({
        code: ErrorCode.PayloadTooLarge,
        message: expect.stringMatching(/^line 2: the prompt is 101 bytes/),
      }),
    );
    expect(parseBatchInput(`${line('a')}\n${big}`, { maxItems: 10, maxPromptBytes: 101 })).toHaveLength(2);
  });

  it('reads an Ollama item as the live route does: unknown fields ignored, known ones still checked', () => {
    const generate = (body: object) =>
      line('o', { url: '/api/generate', body: { model: 'm', prompt: 'hi', ...body } });
    expect(
      parseBatchInput(generate({ tools: [], options: { num_gpu: 1, num_predict: 2 } }), { maxItems: 10 }),
    ).toHaveLength(1);
    expect(() => parseBatchInput(generate({ options: { num_predict: 'many' } }), { maxItems: 10 })).toThrow(
      /line 1: body\.options\.num_predict/,
    );
    // OpenAI's routes still refuse what they do not know.
    expect(() => parseBatchInput(line('x', { body: { ...ok.body, bogus: 1 } }), { maxItems: 10 })).toThrow(
      /bogus/,
    );
  });
});
