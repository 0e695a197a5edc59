import { describe, expect, it } from '@jest/globals';
import { looksLikeProbabilities, softmax, topK } from './classification-output.js';

describe('classification output', () => {
  it.each([
    [[0.2, 0.3, 0.5], true],
    [[0.2, 0.3, 0.6], false],
    [[1.2, -0.2], false],
    [[2, 1, 0], false],
  ])('%p is probabilities: %p', (row, expected) => {
    expect(looksLikeProbabilities(Float32Array.from(row))).toBe(expected);
  });

  it('softmaxes stably, even with large logits', () => {
    const out = softmax(Float32Array.from([1000, 1000, 999]));
    expect(Array.from(out).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(out[0]).toBeCloseTo(out[1] as number, 6);
  });

  it('orders the best k first, ties by class id, naming unlabelled classes', () => {
    expect(topK(Float32Array.from([0.1, 0.4, 0.4, 0.1]), 3, ['a', 'b'])).toEqual([
      { classId: 1, label: 'b', score: expect.closeTo(0.4, 5) },
      { classId: 2, label: 'class_2', score: expect.closeTo(0.4, 5) },
      { classId: 0, label: 'a', score: expect.closeTo(0.1, 5) },
    ]);
  });
});
