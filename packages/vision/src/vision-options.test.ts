import { describe, expect, it } from '@jest/globals';
import { ErrorCode } from '@vmm/errors';
import { resolveClassifyOptions, resolveDetectOptions } from './vision-options.js';

describe('resolveDetectOptions', () => {
  it('takes Ultralytics’ defaults', () => {
    expect(resolveDetectOptions({}, 80)).toEqual({
      confidenceThreshold: 0.25,
      iouThreshold: 0.7,
      maxDetections: 300,
      classIds: undefined,
    });
  });

  it.each([
    [{ confidenceThreshold: -0.1 }, 'confidence_threshold'],
    [{ confidenceThreshold: 1.5 }, 'confidence_threshold'],
    [{ confidenceThreshold: Number.NaN }, 'confidence_threshold'],
    [{ iouThreshold: 2 }, 'iou_threshold'],
    [{ maxDetections: 0 }, 'max_detections'],
    [{ maxDetections: 1.5 }, 'max_detections'],
    [{ maxDetections: 100_001 }, 'max_detections'],
    [{ classIds: [80] }, 'class_ids'],
    [{ classIds: [-1] }, 'class_ids'],
  ])('refuses %p naming %s', (options, field) => {
    expect(() => resolveDetectOptions(options, 80)).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, field }),
    );
  });
});

describe('resolveClassifyOptions', () => {
  it.each([
    [{}, 8, 5],
    [{}, 3, 3],
    [{ topK: 8 }, 8, 8],
  ])('%p with %i labels → top %i', (options, labels, expected) => {
    expect(resolveClassifyOptions(options, labels).topK).toBe(expected);
  });
  it.each([0, 9, 2.5])('refuses top_k %p of 8 labels', (topK) => {
    expect(() => resolveClassifyOptions({ topK }, 8)).toThrow(expect.objectContaining({ field: 'top_k' }));
  });
});
