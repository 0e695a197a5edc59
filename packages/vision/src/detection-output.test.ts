import { describe, expect, it } from '@jest/globals';
import { floatToHalf } from '@vmm/runtime';
import { anchorExtras, readCandidates } from './detection-output.js';

/** A [1, 4 + classes, anchors] output from rows of [cx, cy, w, h, ...scores] per anchor. */
function channelsFirst(anchors: number[][]): { data: Float32Array; dims: number[] } {
  const channels = anchors[0]?.length ?? 0;
  const data = new Float32Array(channels * anchors.length);
  anchors.forEach((values, a) => values.forEach((v, c) => (data[c * anchors.length + a] = v)));
  return { data, dims: [1, channels, anchors.length] };
}

describe('readCandidates', () => {
  const anchors = [
    [50, 50, 20, 10, 0.9, 0.1],
    [10, 10, 4, 4, 0.2, 0.3],
    [100, 100, 10, 10, 0.1, 0.6],
  ];

  it('keeps each anchor’s best class above the threshold, as corner boxes', () => {
    const { data, dims } = channelsFirst(anchors);
    expect(readCandidates(data, dims, 0, 2, 0.25, undefined)).toEqual([
      { box: { x1: 40, y1: 45, x2: 60, y2: 55 }, classId: 0, score: expect.closeTo(0.9, 5), anchor: 0 },
      { box: { x1: 8, y1: 8, x2: 12, y2: 12 }, classId: 1, score: expect.closeTo(0.3, 5), anchor: 1 },
      { box: { x1: 95, y1: 95, x2: 105, y2: 105 }, classId: 1, score: expect.closeTo(0.6, 5), anchor: 2 },
    ]);
  });

  it('reads a float16 output (its bits) as the float32 one, in both layouts', () => {
    const { data, dims } = channelsFirst(anchors);
    const half = floatToHalf(data);
    const got = readCandidates(half, dims, 0, 2, 0.25, undefined);
    expect(got.map((c) => [c.box, c.classId])).toEqual(
      readCandidates(data, dims, 0, 2, 0.25, undefined).map((c) => [c.box, c.classId]),
    );
    expect(got.map((c) => c.score)).toEqual([0.89990234375, 0.300048828125, 0.60009765625]);
    const transposed = floatToHalf(Float32Array.from(anchors.flat()));
    expect(readCandidates(transposed, [1, 3, 6], 0, 2, 0.25, undefined)).toEqual(got);
  });

  it('reads the transposed [batch, anchors, 4 + classes] layout the same way', () => {
    const transposed = Float32Array.from(anchors.flat());
    const { data, dims } = channelsFirst(anchors);
    expect(readCandidates(transposed, [1, 3, 6], 0, 2, 0.25, undefined)).toEqual(
      readCandidates(data, dims, 0, 2, 0.25, undefined),
    );
  });

  it('picks the best allowed class when filtering by class id', () => {
    const { data, dims } = channelsFirst(anchors);
    expect(readCandidates(data, dims, 0, 2, 0.25, new Set([1])).map((c) => c.classId)).toEqual([1, 1]);
  });

  it('reads the second image of a batch', () => {
    const first = channelsFirst(anchors);
    const second = channelsFirst([[5, 5, 2, 2, 0, 0.99]]);
    const both = new Float32Array([...first.data.slice(0, 6), ...second.data]);
    expect(readCandidates(both, [2, 6, 1], 1, 2, 0.25, undefined)).toEqual([
      { box: { x1: 4, y1: 4, x2: 6, y2: 6 }, classId: 1, score: expect.closeTo(0.99, 5), anchor: 0 },
    ]);
  });

  it('reads the values after the class scores (mask coefficients, keypoints) in both layouts', () => {
    // Two classes, then three extra values per anchor.
    const rows = [
      [50, 50, 20, 10, 0.9, 0.1, 1, 2, 3],
      [10, 10, 4, 4, 0.2, 0.3, 4, 5, 6],
    ];
    const { data, dims } = channelsFirst(rows);
    expect(readCandidates(data, dims, 0, 2, 0.25, undefined, 3).map((c) => [c.classId, c.anchor])).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(Array.from(anchorExtras(data, dims, 0, 2, 3)(1))).toEqual([4, 5, 6]);
    const transposed = Float32Array.from(rows.flat());
    expect(Array.from(anchorExtras(transposed, [1, 2, 9], 0, 2, 3)(0))).toEqual([1, 2, 3]);
    expect(Array.from(anchorExtras(floatToHalf(data), dims, 0, 2, 3)(0))).toEqual([1, 2, 3]);
    // Without the extra values the last three channels would read as classes.
    expect(() => readCandidates(data, [1, 9, 2], 0, 2, 0.25, undefined, 8)).toThrow(/4 \+ classes \+ 8/);
  });

  it.each([[[1, 84]], [[1, 3, 2]]])('refuses an output of shape %p', (dims) => {
    expect(() => readCandidates(new Float32Array(168), dims, 0, 80, 0.25, undefined)).toThrow(/YOLOv8/);
  });
});
