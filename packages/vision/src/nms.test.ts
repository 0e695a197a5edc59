import { describe, expect, it } from '@jest/globals';
import { type Candidate, iou, nonMaxSuppression } from './nms.js';

const box = (x1: number, y1: number, x2: number, y2: number) => ({ x1, y1, x2, y2 });
const candidate = (classId: number, score: number, b = box(0, 0, 10, 10)): Candidate => ({
  box: b,
  classId,
  score,
});

describe('iou', () => {
  it.each([
    [box(0, 0, 10, 10), box(0, 0, 10, 10), 1],
    [box(0, 0, 10, 10), box(5, 0, 15, 10), 50 / 150],
    [box(0, 0, 10, 10), box(10, 0, 20, 10), 0],
    [box(0, 0, 10, 10), box(20, 20, 30, 30), 0],
    [box(0, 0, 0, 0), box(0, 0, 0, 0), 0],
    [box(0, 0, 10, 10), box(2, 2, 8, 8), 36 / 100],
  ])('%p ~ %p = %p', (a, b, expected) => {
    expect(iou(a, b)).toBeCloseTo(expected, 10);
  });
});

describe('nonMaxSuppression', () => {
  it.each<[string, Candidate[], number, number, Candidate[]]>([
    ['nothing in, nothing out', [], 0.7, 300, []],
    [
      'drops a lower-scored overlapping box of the same class',
      [candidate(0, 0.8), candidate(0, 0.9, box(1, 0, 11, 10))],
      0.7,
      300,
      [candidate(0, 0.9, box(1, 0, 11, 10))],
    ],
    [
      'keeps overlapping boxes of different classes',
      [candidate(0, 0.9), candidate(1, 0.8)],
      0.7,
      300,
      [candidate(0, 0.9), candidate(1, 0.8)],
    ],
    [
      'keeps same-class boxes that overlap less than the threshold',
      [candidate(0, 0.9), candidate(0, 0.8, box(5, 0, 15, 10))],
      0.4,
      300,
      [candidate(0, 0.9), candidate(0, 0.8, box(5, 0, 15, 10))],
    ],
    [
      'keeps a box whose overlap equals the threshold exactly',
      [candidate(0, 0.9), candidate(0, 0.8, box(5, 0, 15, 10))],
      50 / 150,
      300,
      [candidate(0, 0.9), candidate(0, 0.8, box(5, 0, 15, 10))],
    ],
    [
      'with equal scores keeps the first given',
      [candidate(0, 0.5, box(0, 0, 10, 10)), candidate(0, 0.5, box(1, 1, 10, 10))],
      0.5,
      300,
      [candidate(0, 0.5, box(0, 0, 10, 10))],
    ],
    [
      'orders the result best first',
      [
        candidate(0, 0.3, box(0, 0, 1, 1)),
        candidate(1, 0.9, box(5, 5, 6, 6)),
        candidate(2, 0.6, box(9, 9, 10, 10)),
      ],
      0.7,
      300,
      [
        candidate(1, 0.9, box(5, 5, 6, 6)),
        candidate(2, 0.6, box(9, 9, 10, 10)),
        candidate(0, 0.3, box(0, 0, 1, 1)),
      ],
    ],
    [
      'stops at max detections',
      [
        candidate(0, 0.3, box(0, 0, 1, 1)),
        candidate(1, 0.9, box(5, 5, 6, 6)),
        candidate(2, 0.6, box(9, 9, 10, 10)),
      ],
      0.7,
      2,
      [candidate(1, 0.9, box(5, 5, 6, 6)), candidate(2, 0.6, box(9, 9, 10, 10))],
    ],
    [
      'a suppressed box does not suppress others',
      [
        candidate(0, 0.9, box(0, 0, 10, 10)),
        candidate(0, 0.8, box(4, 0, 14, 10)),
        candidate(0, 0.7, box(8, 0, 18, 10)),
      ],
      0.4,
      300,
      [candidate(0, 0.9, box(0, 0, 10, 10)), candidate(0, 0.7, box(8, 0, 18, 10))],
    ],
  ])('%s', (_name, candidates, threshold, maxDetections, expected) => {
    expect(nonMaxSuppression(candidates, threshold, maxDetections)).toEqual(expected);
  });
});
