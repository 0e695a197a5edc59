import type { ModelFolder, SessionOptions } from '@vmm/runtime';
import type { ClassifyOptions, DetectOptions } from './types.js';
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
}

export interface VisionThreadInfo {
  spec: VisionSpec;
  providers: string[];
}

export interface DetectPayload {
  images: Uint8Array[];
  options: DetectOptions;
}

export interface ClassifyPayload {
  images: Uint8Array[];
  options: ClassifyOptions;
}
