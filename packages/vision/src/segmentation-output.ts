import { ErrorCode, VmmError } from '@vmm/errors';
import { halfValues } from '@vmm/runtime';
import type { Box, Letterbox } from './letterbox.js';
import type { ImageSize, RleMask } from './types.js';

/** A -seg model's prototype masks: [batch, channels, height, width], a quarter of the input's side. */
export interface Protos {
  data: Float32Array | Uint16Array;
  dims: readonly number[];
}

/** A mask over the pixels of a box: `bits` row by row, `width` × `height`, 1 where set. */
export interface BoxMask {
  left: number;
  top: number;
  width: number;
  height: number;
  bits: Uint8Array;
  area: number;
}

/**
 * One instance's mask at the original image's size, as Ultralytics' `retina_masks=True`
 * (process_mask_native) computes it: the prototypes weighted by the instance's coefficients,
 * sampled bilinearly (PyTorch's `align_corners=False`) at each original pixel's centre mapped
 * through the letterbox, set where the sum is above 0 (sigmoid above 0.5), and cropped to the
 * box (pixels whose centre lies in it). Only the prototype cells under the box are summed.
 */
export function instanceMask(
  protos: Protos,
  image: number,
  coefficients: Float32Array,
  box: Box,
  geometry: Letterbox,
  input: ImageSize,
  size: ImageSize,
): BoxMask {
  const [, channels = 0, protoHeight = 0, protoWidth = 0] = protos.dims;
  if (protos.dims.length !== 4 || channels !== coefficients.length || protoHeight < 1 || protoWidth < 1) {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `the prototype masks have shape [${protos.dims.join(', ')}]; expected [batch, ${coefficients.length}, height, width]`,
    );
  }
  // Pixels whose centre is in the box: x1 <= x + 0.5 < x2.
  const left = Math.max(0, Math.ceil(box.x1 - 0.5));
  const top = Math.max(0, Math.ceil(box.y1 - 0.5));
  const width = Math.max(0, Math.min(size.width, Math.ceil(box.x2 - 0.5)) - left);
  const height = Math.max(0, Math.min(size.height, Math.ceil(box.y2 - 0.5)) - top);
  const bits = new Uint8Array(width * height);
  if (width === 0 || height === 0) return { left, top, width, height, bits, area: 0 };

  const columns = samplePoints(
    left,
    width,
    geometry.scale,
    geometry.left,
    protoWidth / input.width,
    protoWidth,
  );
  const rows = samplePoints(
    top,
    height,
    geometry.scale,
    geometry.top,
    protoHeight / input.height,
    protoHeight,
  );
  // The prototype cells the samples read, summed once each.
  const cellLeft = columns.low[0] as number;
  const cellRight = columns.high[width - 1] as number;
  const cellTop = rows.low[0] as number;
  const cellBottom = rows.high[height - 1] as number;
  const regionWidth = cellRight - cellLeft + 1;
  const regionHeight = cellBottom - cellTop + 1;
  const logits = new Float32Array(regionWidth * regionHeight);
  const plane = protoWidth * protoHeight;
  const base = image * channels * plane;
  const half = protos.data instanceof Uint16Array ? halfValues() : undefined;
  for (let c = 0; c < channels; c += 1) {
    const weight = coefficients[c] as number;
    if (weight === 0) continue;
    for (let y = 0; y < regionHeight; y += 1) {
      const from = base + c * plane + (cellTop + y) * protoWidth + cellLeft;
      const to = y * regionWidth;
      if (half) {
        const data = protos.data as Uint16Array;
        for (let x = 0; x < regionWidth; x += 1)
          logits[to + x] = (logits[to + x] as number) + weight * (half[data[from + x] as number] as number);
      } else {
        const data = protos.data as Float32Array;
        for (let x = 0; x < regionWidth; x += 1)
          logits[to + x] = (logits[to + x] as number) + weight * (data[from + x] as number);
      }
    }
  }
  let area = 0;
  for (let y = 0; y < height; y += 1) {
    const top0 = ((rows.low[y] as number) - cellTop) * regionWidth;
    const top1 = ((rows.high[y] as number) - cellTop) * regionWidth;
    const fy = rows.fraction[y] as number;
    for (let x = 0; x < width; x += 1) {
      const x0 = (columns.low[x] as number) - cellLeft;
      const x1 = (columns.high[x] as number) - cellLeft;
      const fx = columns.fraction[x] as number;
      const upper = (logits[top0 + x0] as number) * (1 - fx) + (logits[top0 + x1] as number) * fx;
      const lower = (logits[top1 + x0] as number) * (1 - fx) + (logits[top1 + x1] as number) * fx;
      if (upper * (1 - fy) + lower * fy > 0) {
        bits[y * width + x] = 1;
        area += 1;
      }
    }
  }
  return { left, top, width, height, bits, area };
}

/**
 * Where `count` original pixels from `first` fall between prototype cells along one axis: the
 * two cells and the weight of the second, as PyTorch's bilinear resize with
 * `align_corners=False` (a source position below 0 reads cell 0; past the end, the last).
 */
function samplePoints(
  first: number,
  count: number,
  scale: number,
  pad: number,
  cellsPerInputPixel: number,
  cells: number,
): { low: Int32Array; high: Int32Array; fraction: Float32Array } {
  const low = new Int32Array(count);
  const high = new Int32Array(count);
  const fraction = new Float32Array(count);
  for (let i = 0; i < count; i += 1) {
    const inputPosition = (first + i + 0.5) * scale + pad;
    const source = Math.min(Math.max(inputPosition * cellsPerInputPixel - 0.5, 0), cells - 1);
    const cell = Math.floor(source);
    low[i] = cell;
    high[i] = Math.min(cell + 1, cells - 1);
    fraction[i] = source - cell;
  }
  return { low, high, fraction };
}

/** A box's mask as COCO's uncompressed RLE over the whole image (see RleMask). */
export function encodeRle(mask: BoxMask, size: ImageSize): RleMask {
  const counts: number[] = [];
  const total = size.width * size.height;
  let next = 0; // the first pixel (column-major) not yet counted
  for (let x = 0; x < mask.width; x += 1) {
    const column = (mask.left + x) * size.height + mask.top;
    let y = 0;
    while (y < mask.height) {
      if (mask.bits[y * mask.width + x] === 0) {
        y += 1;
        continue;
      }
      const start = y;
      while (y < mask.height && mask.bits[y * mask.width + x] === 1) y += 1;
      const from = column + start;
      if (from === next && counts.length > 0) {
        // A run that goes on from the bottom of one column to the top of the next.
        counts[counts.length - 1] = (counts[counts.length - 1] as number) + (y - start);
      } else {
        counts.push(from - next, y - start);
      }
      next = column + y;
    }
  }
  if (next < total || counts.length === 0) counts.push(total - next);
  return { size: { ...size }, counts, area: mask.area };
}

/** The set pixels of a COCO RLE, as a row-major width × height array (tests, drawing). */
export function decodeRle(mask: RleMask): Uint8Array {
  const { width, height } = mask.size;
  const bits = new Uint8Array(width * height);
  let position = 0;
  mask.counts.forEach((run, i) => {
    if (i % 2 === 1) {
      for (let p = position; p < position + run; p += 1) {
        const x = Math.floor(p / height);
        bits[(p - x * height) * width + x] = 1;
      }
    }
    position += run;
  });
  return bits;
}

// Directions along pixel edges: east, south, west, north (y grows downwards).
const STEP_X = [1, 0, -1, 0] as const;
const STEP_Y = [0, 1, 0, -1] as const;

/**
 * The outer outlines of a mask's parts, largest first: each a closed path along pixel edges
 * through pixel corners, in original-image pixels, as [x, y, x, y, …] with a vertex only where
 * the path turns. Pixels touching at a corner belong to one part (8-connected, as OpenCV's
 * findContours, which Ultralytics' masks2segments uses); holes are left out.
 */
export function traceOutlines(mask: BoxMask): number[][] {
  const { width, height, bits } = mask;
  const set = (x: number, y: number) =>
    x >= 0 && y >= 0 && x < width && y < height && bits[y * width + x] === 1;
  const stride = width + 1;
  // For each pixel corner, the edges that leave it with a set pixel on their right, as bits.
  const out = new Uint8Array(stride * (height + 1));
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      if (!set(x, y)) continue;
      if (!set(x, y - 1)) out[y * stride + x] = (out[y * stride + x] as number) | 1; // top edge, east
      if (!set(x + 1, y)) out[y * stride + x + 1] = (out[y * stride + x + 1] as number) | 2; // right, south
      if (!set(x, y + 1)) out[(y + 1) * stride + x + 1] = (out[(y + 1) * stride + x + 1] as number) | 4; // bottom, west
      if (!set(x - 1, y)) out[(y + 1) * stride + x] = (out[(y + 1) * stride + x] as number) | 8; // left, north
    }
  }
  const outlines: { points: number[]; area: number }[] = [];
  for (let start = 0; start < out.length; start += 1) {
    while (out[start] !== 0) {
      let direction = Math.log2((out[start] as number) & -(out[start] as number));
      let x = start % stride;
      let y = (start - x) / stride;
      const points: number[] = [];
      let doubledArea = 0;
      for (;;) {
        const corner = y * stride + x;
        out[corner] = (out[corner] as number) & ~(1 << direction);
        const nextX = x + STEP_X[direction as 0];
        const nextY = y + STEP_Y[direction as 0];
        doubledArea += x * nextY - nextX * y;
        x = nextX;
        y = nextY;
        const left = (out[y * stride + x] as number) & (1 << ((direction + 3) % 4));
        const turn = left
          ? (direction + 3) % 4
          : (out[y * stride + x] as number) & (1 << direction)
            ? direction
            : (direction + 1) % 4;
        if (turn !== direction) points.push(mask.left + x, mask.top + y);
        if (((out[y * stride + x] as number) & (1 << turn)) === 0) break;
        direction = turn;
      }
      if (doubledArea > 0) outlines.push({ points, area: doubledArea });
    }
  }
  return outlines.sort((a, b) => b.area - a.area).map((outline) => outline.points);
}
