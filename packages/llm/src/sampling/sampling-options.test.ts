import { describe, expect, it } from '@jest/globals';
import { ErrorCode } from '@vmm/errors';
import {
  DEFAULT_SAMPLING,
  resolveSampling,
  type SamplingOptions,
  validateSamplingOptions,
} from './sampling-options.js';

describe('validateSamplingOptions', () => {
  it.each<[SamplingOptions, string]>([
    [{ temperature: -0.1 }, 'options.temperature'],
    [{ temperature: Number.NaN }, 'options.temperature'],
    [{ temperature: 101 }, 'options.temperature'],
    [{ topK: -1 }, 'options.top_k'],
    [{ topK: 2.5 }, 'options.top_k'],
    [{ topP: 0 }, 'options.top_p'],
    [{ topP: 1.01 }, 'options.top_p'],
    [{ minP: -0.5 }, 'options.min_p'],
    [{ minP: 1.5 }, 'options.min_p'],
    [{ repetitionPenalty: 0 }, 'options.repetition_penalty'],
    [{ repeatLastN: -2 }, 'options.repeat_last_n'],
    [{ presencePenalty: 2.5 }, 'options.presence_penalty'],
    [{ frequencyPenalty: -3 }, 'options.frequency_penalty'],
    [{ seed: -1 }, 'options.seed'],
    [{ seed: 0.5 }, 'options.seed'],
    [{ seed: 2 ** 60 }, 'options.seed'],
    [{ maxTokens: 0 }, 'options.max_tokens'],
    [{ contextSize: 0 }, 'options.context_size'],
    [{ stop: [''] }, 'options.stop'],
    [{ stop: Array.from({ length: 17 }, (_, i) => `s${i}`) }, 'options.stop'],
    [{ stop: ['x'.repeat(257)] }, 'options.stop'],
    [{ temperature: '1' as unknown as number }, 'options.temperature'],
  ])('refuses %p, naming %s', (options, field) => {
    expect(() => validateSamplingOptions(options)).toThrow(
      expect.objectContaining({
        code: ErrorCode.InvalidArgument,
        field,
        message: expect.stringContaining(field),
      }),
    );
  });

  it.each<SamplingOptions>([
    {},
    { temperature: 0, topK: 0, topP: 1, minP: 0, seed: 0, maxTokens: 1, stop: ['\n'] },
    { temperature: 2, presencePenalty: -2, frequencyPenalty: 2, repeatLastN: 0, repetitionPenalty: 1.3 },
  ])('accepts %p', (options) => {
    expect(() => validateSamplingOptions(options)).not.toThrow();
  });
});

describe('resolveSampling', () => {
  it('takes the request, then the model, then the defaults', () => {
    const resolved = resolveSampling({ topK: 5 }, { topK: 7, topP: 0.5 }, () => 42);
    expect(resolved).toMatchObject({
      topK: 5,
      topP: 0.5,
      temperature: DEFAULT_SAMPLING.temperature,
      seed: 42,
      stop: [],
    });
  });
});
