import { describe, expect, it } from '@jest/globals';
import { Sampler, topCandidates } from './sampler.js';
import { DEFAULT_SAMPLING, type ResolvedSampling } from './sampling-options.js';

const options = (overrides: Partial<ResolvedSampling>): ResolvedSampling => ({
  ...DEFAULT_SAMPLING,
  repetitionPenalty: 1,
  seed: 1,
  stop: [],
  maxTokens: undefined,
  contextSize: undefined,
  logitBias: new Map(),
  topLogprobs: -1,
  ...overrides,
});

const logits = (values: number[]) => Float32Array.from(values);

function histogram(sampler: Sampler, values: number[], draws: number): number[] {
  const counts = values.map(() => 0);
  for (let i = 0; i < draws; i += 1) {
    const index = sampler.sample(logits(values), []);
    counts[index] = (counts[index] ?? 0) + 1;
  }
  return counts;
}

describe('Sampler', () => {
  it('picks the largest logit when greedy (temperature 0 or top_k 1)', () => {
    expect(new Sampler(options({ temperature: 0 })).sample(logits([0.1, 3, 2]), [])).toBe(1);
    expect(new Sampler(options({ temperature: 5, topK: 1 })).sample(logits([0.1, 3, 2]), [])).toBe(1);
  });

  it('repeats the same draws for the same seed and differs for another', () => {
    const values = Array.from({ length: 50 }, (_, i) => Math.sin(i));
    const draw = (seed: number) => {
      const sampler = new Sampler(options({ temperature: 1, topK: 0, topP: 1, seed }));
      return Array.from({ length: 30 }, () => sampler.sample(logits(values), []));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('follows the softmax distribution at temperature 1', () => {
    const counts = histogram(
      new Sampler(options({ temperature: 1, topK: 0, topP: 1 })),
      [0, Math.log(3)],
      4000,
    );
    expect((counts[1] as number) / 4000).toBeGreaterThan(0.72);
    expect((counts[1] as number) / 4000).toBeLessThan(0.78);
  });

  it.each([
    ['top_k 2 keeps the two best', { topK: 2, topP: 1 }, [0, 1, 2, 3], [0, 0, 1, 1]],
    ['top_p 0.5 keeps the head of the mass', { topK: 0, topP: 0.5 }, [5, 0, 0, 0], [1, 0, 0, 0]],
    [
      'min_p 0.5 drops tokens under half the best',
      { topK: 0, topP: 1, minP: 0.5 },
      [2, 2, 0, 0],
      [1, 1, 0, 0],
    ],
  ])('%s', (_name, overrides, values, allowed) => {
    const counts = histogram(new Sampler(options({ temperature: 1, ...overrides })), values, 500);
    counts.forEach((count, i) => {
      if (allowed[i]) expect(count).toBeGreaterThan(0);
      else expect(count).toBe(0);
    });
  });

  it.each([
    ['repetition penalty divides a positive logit', { repetitionPenalty: 2 }, [1, 1.5], [1], 0],
    ['repetition penalty multiplies a negative logit', { repetitionPenalty: 2 }, [-1, -1.5], [0], 1],
    ['presence penalty subtracts once', { presencePenalty: 1 }, [2, 1.5], [0, 0, 0], 1],
    ['frequency penalty scales with the count', { frequencyPenalty: 0.2 }, [2, 1.5], [0, 0, 0], 1],
    ['repeat_last_n limits the window', { repetitionPenalty: 10, repeatLastN: 1 }, [2, 1.5], [0, 1], 0],
  ])('%s', (_name, overrides, values, history, expected) => {
    expect(new Sampler(options({ temperature: 0, ...overrides })).sample(logits(values), history)).toBe(
      expected,
    );
  });
});

describe('topCandidates', () => {
  it.each([
    [[3, 1, 2], 2, [0, 2]],
    [[1, 1, 1], 2, [0, 1]],
    [[0, 5, 5, 1], 3, [1, 2, 3]],
    [[0, 5, 5, 1], 10, [1, 2, 3, 0]],
  ])('orders %p best first, keeping %i', (values, k, expected) => {
    expect(topCandidates(logits(values), k)).toEqual(expected);
  });

  it('agrees with a full sort on a vocabulary-sized row', () => {
    const values = Float32Array.from({ length: 32000 }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1);
    const sorted = Array.from(values.keys()).sort(
      (a, b) => (values[b] as number) - (values[a] as number) || a - b,
    );
    expect(topCandidates(values, 40)).toEqual(sorted.slice(0, 40));
  });
});
