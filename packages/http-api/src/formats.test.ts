import { describe, expect, it } from '@jest/globals';
import { Backend, FinishReason, Role } from '@vmm/proto';
import { keepAliveMs } from './common.js';
import { ollamaFinalStats, ollamaSampling, ollamaTextJob } from './ollama.js';
import { openaiCompletionResponse, openaiTextJob } from './openai.js';
import { decodeBase64Image } from './vision.js';

const context = { requestId: 'r', backend: Backend.BACKEND_UNSPECIFIED, keepAliveMs: undefined };

describe('ollamaSampling', () => {
  it.each([
    [undefined, { stop: [] }],
    [
      { temperature: 0.2, top_k: 5, top_p: 0.9, min_p: 0.1 },
      { stop: [], temperature: 0.2, topK: 5, topP: 0.9, minP: 0.1 },
    ],
    [
      { repeat_penalty: 1.2, repeat_last_n: 32 },
      { stop: [], repetitionPenalty: 1.2, repeatLastN: 32 },
    ],
    [{ repeat_last_n: -1 }, { stop: [] }],
    [
      { num_predict: 10, num_ctx: 256, seed: 4, stop: ['\n'] },
      { stop: ['\n'], maxTokens: 10, contextSize: 256, seed: 4 },
    ],
    [{ num_predict: -1 }, { stop: [] }],
    [{ num_predict: -2 }, { stop: [] }],
    [{ seed: -1 }, { stop: [] }],
  ])('maps %p to %p', (options, expected) => {
    expect(ollamaSampling(options)).toEqual(expected);
  });
});

describe('text jobs', () => {
  it('turns an Ollama chat into a Chat request with roles', () => {
    const job = ollamaTextJob(
      {
        model: 'm',
        messages: [
          { role: 'system', content: 's' },
          { role: 'user', content: 'u' },
        ],
      },
      context,
    );
    expect(job).toMatchObject({
      kind: 'chat',
      request: { model: 'm', messages: [{ role: Role.ROLE_SYSTEM }, { role: Role.ROLE_USER }] },
    });
  });

  it('turns an Ollama generate into a templated Generate unless raw', () => {
    expect(ollamaTextJob({ model: 'm', prompt: 'p' }, context)).toMatchObject({
      kind: 'generate',
      request: { raw: false },
    });
    expect(ollamaTextJob({ model: 'm', prompt: 'p', raw: true }, context)).toMatchObject({
      request: { raw: true },
    });
  });

  it('maps OpenAI chat options, developer role, text parts and the stop string', () => {
    const job = openaiTextJob(
      {
        model: 'm',
        messages: [
          { role: 'developer', content: 'd' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'a' },
              { type: 'text', text: 'b' },
            ],
          },
        ],
        max_completion_tokens: 7,
        temperature: 0,
        stop: 'END',
        seed: 3,
      },
      context,
    );
    expect(job).toMatchObject({
      kind: 'chat',
      request: {
        messages: [
          { role: Role.ROLE_SYSTEM, content: 'd' },
          { role: Role.ROLE_USER, content: 'ab' },
        ],
        options: { maxTokens: 7, temperature: 0, stop: ['END'], seed: 3, repetitionPenalty: 1 },
      },
    });
  });

  it('gives legacy completions OpenAI’s default of 16 tokens, raw', () => {
    expect(openaiTextJob({ model: 'm', prompt: 'p' }, context)).toMatchObject({
      kind: 'generate',
      request: { raw: true, options: { maxTokens: 16 } },
    });
  });
});

describe('responses', () => {
  const done = {
    finishReason: FinishReason.FINISH_REASON_LENGTH,
    usage: { promptTokens: 3, completionTokens: 4 },
    timings: { loadNs: 1, promptEvalNs: 2, evalNs: 3, totalNs: 9, queueNs: 0 },
    stopSequence: undefined,
  };

  it('renders Ollama’s final stats', () => {
    expect(ollamaFinalStats({ text: '', tokenIds: [], done })).toEqual({
      done: true,
      done_reason: 'length',
      total_duration: 9,
      load_duration: 1,
      prompt_eval_count: 3,
      prompt_eval_duration: 2,
      eval_count: 4,
      eval_duration: 3,
    });
  });

  it('renders an OpenAI chat completion with usage', () => {
    expect(
      openaiCompletionResponse({
        id: 'x',
        created: 1,
        model: 'm',
        chat: true,
        text: 'hi',
        done,
        version: '0',
        logprobs: undefined,
      }),
    ).toMatchObject({
      object: 'chat.completion',
      choices: [{ message: { role: 'assistant', content: 'hi' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    });
  });
});

describe('helpers', () => {
  it.each([
    [undefined, undefined],
    [300, 300_000],
    [-1, -1],
    [-1e300, -1],
    ['-5m', -1],
    ['5m', 300_000],
    [0, 0],
  ])('keepAliveMs(%p) = %p', (value, expected) => {
    expect(keepAliveMs(value)).toBe(expected);
  });

  it.each([1e300, Infinity, NaN, '99999999999h', '2562047788015216h'])(
    'refuses keep_alive %p as a 400 naming the field',
    (value) => {
      expect(() => keepAliveMs(value)).toThrow(
        expect.objectContaining({ code: 'invalid_argument', field: 'keep_alive' }),
      );
    },
  );

  it('decodes base64 with or without a data: URL', () => {
    expect(decodeBase64Image('aGk=').toString()).toBe('hi');
    expect(decodeBase64Image('data:image/png;base64,aGk=').toString()).toBe('hi');
  });
});
