import type { ModelFolder, SessionOptions } from '@vmm/runtime';
import type { ClassifierPreprocess, ImageInfo, PlaneBuffer } from './image-input.js';
import type { Letterbox } from './letterbox.js';
import type { ClassifyOptions, DetectOptions, RemoveBackgroundOptions, SegmentOptions } from './types.js';
import type { VisionSpec } from './vision-spec.js';

// What a VisionRunner and its thread (vision-thread.ts) exchange.
export interface VisionThreadData {
  folder: ModelFolder;
  /** The ONNX file, relative to the folder. */
  file: string;
  session: SessionOptions;
  /** Largest batch for one session.run when the batch dimension is dynamic. */
  maxBatch: number;
  maxPixels: number;
  /** Prepare images on a thread of their own, overlapping runs (VisionRunner decides). */
  preprocessThread: boolean;
}

export interface VisionThreadInfo {
  spec: VisionSpec;
  providers: string[];
}

export interface DetectPayload {
  images: Uint8Array[];
  options: DetectOptions;
}

/** Segmentation; pose takes a DetectPayload. */
export interface SegmentPayload {
  images: Uint8Array[];
  options: SegmentOptions;
}

export interface RemoveBackgroundPayload {
  images: Uint8Array[];
  options: RemoveBackgroundOptions;
}

export interface ClassifyPayload {
  images: Uint8Array[];
  options: ClassifyOptions;
}

// What a vision thread and its preprocessing thread (preprocess-thread.ts) exchange.
export interface PreprocessPayload {
  bytes: Uint8Array;
  maxPixels: number;
  width: number;
  height: number;
  plane:
    | { kind: 'letterbox'; type: 'float32' | 'float16'; padValue: number }
    | { kind: 'centre-crop'; type: 'float32' | 'float16'; classifier: ClassifierPreprocess }
    | { kind: 'stretch'; type: 'float32' | 'float16'; mean: readonly number[]; std: readonly number[] };
}

export interface Preprocessed {
  info: ImageInfo;
  /** Detection: where the image landed in the input. */
  geometry?: Letterbox;
  /** One image's planes, [3, height, width], in the model's input type. */
  planes: PlaneBuffer;
  decodeNs: number;
  preprocessNs: number;
}
