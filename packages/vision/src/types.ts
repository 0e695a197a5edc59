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
