import type { Box } from './letterbox.js';

export interface ImageSize {
  width: number;
  height: number;
}

/**
 * Durations in nanoseconds for one image. decode: reading the header (format, size, limits);
 * preprocess: decoding pixels, orienting, resizing, normalising; inference: the session.run the
 * image was part of (shared by a batch); postprocess: decoding outputs, NMS, mapping boxes back.
 */
export interface VisionTimings {
  decodeNs: number;
  preprocessNs: number;
  inferenceNs: number;
  postprocessNs: number;
  totalNs: number;
}

export interface Detection {
  /** Original-image pixels, clipped to the image. */
  box: Box;
  classId: number;
  label: string;
  score: number;
}

export interface DetectResult {
  /** Best score first. */
  detections: Detection[];
  imageSize: ImageSize;
  timings: VisionTimings;
}

export interface Classification {
  classId: number;
  label: string;
  score: number;
}

export interface ClassifyResult {
  /** Best score first. */
  classes: Classification[];
  imageSize: ImageSize;
  timings: VisionTimings;
}

export interface DetectOptions {
  /** Minimum class score, [0, 1]; default 0.25. */
  confidenceThreshold?: number;
  /** IoU above which NMS drops the lower-scored box of a class, [0, 1]; default 0.7. */
  iouThreshold?: number;
  /** At most this many detections, best first; default 300. */
  maxDetections?: number;
  /** Keep only these class ids; empty or absent keeps all. */
  classIds?: number[];
}

export interface ClassifyOptions {
  /** How many labels, best first; default 5. */
  topK?: number;
}

export interface SegmentOptions extends DetectOptions {
  /** Also trace each mask's outline as polygons; default false. */
  polygons?: boolean;
}

/**
 * A binary mask over the whole image as COCO writes uncompressed RLE: pixels in column-major
 * order (down each column, then the next), `counts` alternating runs of 0s and 1s, starting
 * with 0s (a leading 0 when the first pixel is set). pycocotools reads it as
 * `{"size": [height, width], "counts": counts}`.
 */
export interface RleMask {
  size: ImageSize;
  counts: number[];
  /** Pixels set. */
  area: number;
}

export interface Segment extends Detection {
  mask: RleMask;
  /**
   * With `polygons`: the outer outline of each part of the mask, largest first, as flat
   * [x, y, x, y, …] lists of pixel corners in original-image pixels (clockwise, holes left out).
   */
  polygons?: number[][];
}

export interface SegmentResult {
  /** Best score first. */
  segments: Segment[];
  imageSize: ImageSize;
  timings: VisionTimings;
}

export interface Keypoint {
  name: string;
  /** Original-image pixels, clipped to the image. */
  x: number;
  y: number;
  /** The model's confidence that the point is visible, [0, 1]; 1 for a model that gives none. */
  score: number;
}

export interface Pose extends Detection {
  /** One per keypoint the model knows, in its order. */
  keypoints: Keypoint[];
}

export interface PoseResult {
  /** Best score first. */
  poses: Pose[];
  /** Pairs of keypoint indices joined when a pose is drawn (COCO's limbs for a 17-point model). */
  skeleton: [number, number][];
  imageSize: ImageSize;
  timings: VisionTimings;
}

/**
 * What background removal answers with: `cutout` the image as a PNG with the matte as its alpha;
 * `mask` the matte as a greyscale PNG; `rle` the foreground (alpha at least half) as COCO RLE;
 * `alpha` the matte's bytes themselves.
 */
export type MatteOutput = 'cutout' | 'mask' | 'rle' | 'alpha';

export interface RemoveBackgroundOptions {
  /** Default `cutout`. */
  output?: MatteOutput;
}

export interface BackgroundResult {
  /** `cutout` and `mask`: the PNG. */
  png?: Uint8Array;
  /** `rle`: the foreground. */
  mask?: RleMask;
  /** `alpha`: the matte, one byte per pixel, row by row, at the image's size. */
  alpha?: Uint8Array;
  /** The share of the image in the foreground (alpha at least half), [0, 1]. */
  foreground: number;
  imageSize: ImageSize;
  timings: VisionTimings;
}
