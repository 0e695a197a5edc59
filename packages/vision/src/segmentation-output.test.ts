import { describe, expect, it } from '@jest/globals';
import { floatToHalf } from '@vmm/runtime';
import { letterbox } from './letterbox.js';
import { type BoxMask, decodeRle, encodeRle, instanceMask, traceOutlines } from './segmentation-output.js';

/** A box mask from rows of '#' (set) and '.', placed at left, top. */
function drawn(rows: string[], left = 0, top = 0): BoxMask {
  const width = rows[0]?.length ?? 0;
  const bits = Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 1 : 0));
  return { left, top, width, height: rows.length, bits, area: bits.reduce((a, b) => a + b, 0) };
}

/** The mask placed in a whole image, row-major. */
function placed(mask: BoxMask, width: number, height: number): Uint8Array {
  const image = new Uint8Array(width * height);
  for (let y = 0; y < mask.height; y += 1)
    for (let x = 0; x < mask.width; x += 1)
      image[(mask.top + y) * width + mask.left + x] = mask.bits[y * mask.width + x] as number;
  return image;
}

describe('encodeRle', () => {
  it('writes COCO’s column-major runs, starting with the 0s', () => {
    // 3 wide, 2 high: only the top-left pixel set → 0 zeros, 1 one, 5 zeros.
    expect(encodeRle(drawn(['#']), { width: 3, height: 2 }).counts).toEqual([0, 1, 5]);
    // The middle column whole: 2 zeros (column 0), 2 ones, 2 zeros.
    expect(encodeRle(drawn(['#', '#'], 1, 0), { width: 3, height: 2 }).counts).toEqual([2, 2, 2]);
    // Nothing set: one run of zeros.
    expect(encodeRle(drawn(['.']), { width: 3, height: 2 })).toEqual({
      size: { width: 3, height: 2 },
      counts: [6],
      area: 0,
    });
  });

  it('joins a run that goes on from one column’s bottom to the next column’s top', () => {
    // Full-height box: columns 1 and 2 set entirely make one run of 4.
    expect(encodeRle(drawn(['##', '##'], 1, 0), { width: 4, height: 2 }).counts).toEqual([2, 4, 2]);
  });

  it('decodes back to the same pixels for random masks anywhere in the image', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let trial = 0; trial < 200; trial += 1) {
      const width = 1 + Math.floor(random() * 12);
      const height = 1 + Math.floor(random() * 12);
      const boxWidth = 1 + Math.floor(random() * width);
      const boxHeight = 1 + Math.floor(random() * height);
      const bits = Uint8Array.from({ length: boxWidth * boxHeight }, () => (random() < 0.6 ? 1 : 0));
      const mask: BoxMask = {
        left: Math.floor(random() * (width - boxWidth + 1)),
        top: Math.floor(random() * (height - boxHeight + 1)),
        width: boxWidth,
        height: boxHeight,
        bits,
        area: bits.reduce((a, b) => a + b, 0),
      };
      const rle = encodeRle(mask, { width, height });
      expect(rle.counts.reduce((a, b) => a + b, 0)).toBe(width * height);
      expect(rle.counts.slice(1).every((run) => run > 0)).toBe(true);
      expect(decodeRle(rle)).toEqual(placed(mask, width, height));
    }
  });
});

describe('traceOutlines', () => {
  it('outlines a square by its four corners, in image pixels', () => {
    expect(traceOutlines(drawn(['##', '##'], 10, 20))).toEqual([[12, 20, 12, 22, 10, 22, 10, 20]]);
  });

  it('follows an L shape and leaves a hole out', () => {
    expect(traceOutlines(drawn(['#.', '##']))).toEqual([[1, 0, 1, 1, 2, 1, 2, 2, 0, 2, 0, 0]]);
    expect(traceOutlines(drawn(['###', '#.#', '###']))).toEqual([[3, 0, 3, 3, 0, 3, 0, 0]]);
  });

  it('joins parts that touch at a corner and keeps apart ones, largest first', () => {
    expect(traceOutlines(drawn(['#.', '.#']))).toHaveLength(1);
    const parts = traceOutlines(drawn(['#...', '..##', '..##']));
    expect(parts).toEqual([
      [4, 1, 4, 3, 2, 3, 2, 1],
      [1, 0, 1, 1, 0, 1, 0, 0],
    ]);
  });

  it('gives nothing for an empty mask', () => {
    expect(traceOutlines(drawn(['..', '..']))).toEqual([]);
  });
});

describe('instanceMask', () => {
  // Prototypes of a 32×32 input: 8×8 cells, channel 0 high on cells 2..5 both ways, channel 1 noise.
  const protoSide = 8;
  const protos = new Float32Array(2 * protoSide * protoSide);
  for (let y = 0; y < protoSide; y += 1)
    for (let x = 0; x < protoSide; x += 1) {
      protos[y * protoSide + x] = x >= 2 && x <= 5 && y >= 2 && y <= 5 ? 10 : -10;
      protos[protoSide * protoSide + y * protoSide + x] = (x * 7 + y * 3) % 5;
    }
  const dims = [1, 2, protoSide, protoSide];
  const input = { width: 32, height: 32 };

  it('sets the pixels whose bilinear sample is above 0, cropped to the box', () => {
    const geometry = letterbox(32, 32, 32, 32);
    const mask = instanceMask(
      { data: protos, dims },
      0,
      Float32Array.of(1, 0),
      { x1: 0, y1: 0, x2: 32, y2: 32 },
      geometry,
      input,
      input,
    );
    // Cells 2..5 cover input pixels 8..23; the sample crosses 0 between pixel 7 and 8, 23 and 24
    // along an edge. At a corner three of the four cells read are outside: the corner pixel is not set.
    const expected = new Uint8Array(32 * 32);
    for (let y = 8; y < 24; y += 1) for (let x = 8; x < 24; x += 1) expected[y * 32 + x] = 1;
    for (const [x, y] of [
      [8, 8],
      [23, 8],
      [8, 23],
      [23, 23],
    ] as const)
      expected[y * 32 + x] = 0;
    expect(placed(mask, 32, 32)).toEqual(expected);
    expect(mask.area).toBe(252);
    const cropped = instanceMask(
      { data: protos, dims },
      0,
      Float32Array.of(1, 0),
      { x1: 10, y1: 4, x2: 14.4, y2: 30 },
      geometry,
      input,
      input,
    );
    expect([cropped.left, cropped.top, cropped.width, cropped.height, cropped.area]).toEqual([
      10,
      4,
      4,
      26,
      4 * 16,
    ]);
  });

  it('maps original pixels through the letterbox, and reads float16 prototypes the same', () => {
    // A 16×8 original letterboxed into 32×32: scale 2, 8 rows of padding above.
    const geometry = letterbox(16, 8, 32, 32);
    const size = { width: 16, height: 8 };
    const box = { x1: 0, y1: 0, x2: 16, y2: 8 };
    const mask = instanceMask({ data: protos, dims }, 0, Float32Array.of(1, 0), box, geometry, input, size);
    // Input columns 8..23 are original 4..11; input rows 8..23 are original rows 0..7.
    const expected = new Uint8Array(16 * 8);
    for (let y = 0; y < 8; y += 1) for (let x = 4; x < 12; x += 1) expected[y * 16 + x] = 1;
    expect(placed(mask, 16, 8)).toEqual(expected);
    const half = instanceMask(
      { data: floatToHalf(protos), dims },
      0,
      Float32Array.of(1, 0),
      box,
      geometry,
      input,
      size,
    );
    expect(half.bits).toEqual(mask.bits);
  });

  it('reads the second image of a batch, and refuses coefficients that do not match the prototypes', () => {
    const both = new Float32Array(protos.length * 2);
    both.set(protos, protos.length);
    const geometry = letterbox(32, 32, 32, 32);
    const box = { x1: 0, y1: 0, x2: 32, y2: 32 };
    const second = instanceMask(
      { data: both, dims: [2, 2, 8, 8] },
      1,
      Float32Array.of(1, 0),
      box,
      geometry,
      input,
      input,
    );
    expect(second.area).toBe(252);
    expect(() =>
      instanceMask({ data: protos, dims }, 0, Float32Array.of(1, 0, 0), box, geometry, input, input),
    ).toThrow(/prototype masks have shape \[1, 2, 8, 8\]/);
  });
});
