import { describe, expect, it } from '@jest/globals';
import { Backend } from '@vmm/proto';
import { parseBody } from './validation.js';
import { ollamaGenerateSchema, ollamaTextJob } from './ollama.js';
import { openaiChatSchema } from './openai.js';
import { classifySchema, detectSchema } from './vision.js';
import { float32, fromText, safeInt, uint32 } from './proto-range.js';
import { checkPromptSize } from './text-limits.js';

const context = { requestId: 'r', backend: Backend.BACKEND_UNSPECIFIED, keepAliveMs: undefined };
const generate = (options: Record<string, unknown>) => ({ model: 'm', prompt: 'p', options });
const chat = (extra: Record<string, unknown>) => ({
  model: 'm',
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});
const image = { model: 'm', image: 'aGk=' };

describe('proto ranges', () => {
  it.each([
    [uint32(), 4_294_967_295, true],
    [uint32(), 4_294_967_296, false],
    [uint32(), -1, false],
    [uint32(), 1.5, false],
    [float32(), 3.4e38, true],
    [float32(), 1e308, false],
    [float32(), -1e308, false],
    [safeInt(), 2 ** 53 - 1, true],
    [safeInt(), 2 ** 53, false],
    [fromText(uint32()), '12', true],
    [fromText(uint32()), '', false],
    [fromText(uint32()), null, false],
    [fromText(uint32()), [], false],
    [fromText(float32()), ' 0.5 ', true],
  ])('%#: accepts %p: %p', (schema, value, ok) => {
    expect(schema.safeParse(value).success).toBe(ok);
  });
});

// Each of these once passed validation and failed to serialize into its proto field (a 500).
describe('request bodies refuse values their proto fields cannot hold', () => {
  it.each([
    ['options.temperature', ollamaGenerateSchema, generate({ temperature: 1e308 })],
    ['options.top_k', ollamaGenerateSchema, generate({ top_k: 2 ** 32 })],
    ['options.top_p', ollamaGenerateSchema, generate({ top_p: 1e308 })],
    ['options.repeat_penalty', ollamaGenerateSchema, generate({ repeat_penalty: 1e308 })],
    ['options.repeat_last_n', ollamaGenerateSchema, generate({ repeat_last_n: 2 ** 32 })],
    ['options.presence_penalty', ollamaGenerateSchema, generate({ presence_penalty: -1e308 })],
    ['options.frequency_penalty', ollamaGenerateSchema, generate({ frequency_penalty: 1e308 })],
    ['options.num_predict', ollamaGenerateSchema, generate({ num_predict: 2 ** 32 })],
    ['options.num_ctx', ollamaGenerateSchema, generate({ num_ctx: 2 ** 32 })],
    ['options.seed', ollamaGenerateSchema, generate({ seed: 1e300 })],
    ['options.stop', ollamaGenerateSchema, generate({ stop: Array.from({ length: 17 }, () => 'x') })],
    ['options.stop.0', ollamaGenerateSchema, generate({ stop: ['x'.repeat(257)] })],
    ['max_tokens', openaiChatSchema, chat({ max_tokens: 2 ** 32 })],
    ['max_completion_tokens', openaiChatSchema, chat({ max_completion_tokens: 2 ** 40 })],
    ['seed', openaiChatSchema, chat({ seed: 2 ** 60 })],
    [
      'messages',
      openaiChatSchema,
      chat({ messages: Array.from({ length: 1001 }, () => ({ role: 'user', content: '' })) }),
    ],
    ['confidence_threshold', detectSchema, { ...image, confidence_threshold: 1e308 }],
    ['confidence_threshold', detectSchema, { ...image, confidence_threshold: '' }],
    ['confidence_threshold', detectSchema, { ...image, confidence_threshold: null }],
    ['confidence_threshold', detectSchema, { ...image, confidence_threshold: [] }],
    ['max_detections', detectSchema, { ...image, max_detections: 2 ** 32 }],
    ['class_ids.0', detectSchema, { ...image, class_ids: [2 ** 32] }],
    ['top_k', classifySchema, { ...image, top_k: 2 ** 32 }],
  ])('%s', (field, schema, body) => {
    expect(() => parseBody(schema, body)).toThrow(
      expect.objectContaining({ code: 'invalid_argument', field }),
    );
  });

  it('still reads numbers sent as form text', () => {
    expect(
      parseBody(detectSchema, { ...image, confidence_threshold: '0.25', class_ids: ['1', '2'] }),
    ).toMatchObject({
      confidence_threshold: 0.25,
      class_ids: [1, 2],
    });
  });
});

describe('checkPromptSize', () => {
  it('counts UTF-8 bytes of the prompt and system prompt, and refuses past the limit with a 413', () => {
    const job = ollamaTextJob({ model: 'm', prompt: 'é'.repeat(5), system: 'abc' }, context);
    expect(() => checkPromptSize(job, 13)).not.toThrow();
    expect(() => checkPromptSize(job, 12)).toThrow(
      expect.objectContaining({ code: 'payload_too_large', field: 'prompt' }),
    );
  });

  it('counts every message of a chat', () => {
    const job = ollamaTextJob(
      {
        model: 'm',
        messages: [
          { role: 'user', content: 'abcd' },
          { role: 'assistant', content: 'ef' },
        ],
      },
      context,
    );
    expect(() => checkPromptSize(job, 5)).toThrow(expect.objectContaining({ field: 'messages' }));
  });
});
