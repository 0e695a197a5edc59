import type {
  ClassifyRequest,
  ClassifyResponse,
  DetectRequest,
  DetectResponse,
  RequestContext,
  VisionTimings,
} from '@vmm/proto';
import { z } from 'zod';
import { backendField, keepAliveField } from './common.js';
import { float32, fromText, uint32 } from './proto-range.js';

// VMM's vision API: JSON with a base64 image (the gateway also takes multipart uploads).

const base64 = z
  .string()
  .min(1)
  .regex(/^(data:[\w/+.-]+;base64,)?[A-Za-z0-9+/\s]+={0,2}$/, 'must be base64 (optionally a data: URL)');
// Multipart forms carry numbers as text: fromText reads those, and only those.
export const detectSchema = z.strictObject({
  model: z.string().min(1),
  image: base64,
  confidence_threshold: fromText(float32({ min: 0, max: 1 })).optional(),
  iou_threshold: fromText(float32({ min: 0, max: 1 })).optional(),
  max_detections: fromText(uint32({ min: 1, max: 10_000 })).optional(),
  class_ids: z.array(fromText(uint32())).max(10_000).optional(),
  keep_alive: keepAliveField,
  backend: backendField,
});

export const classifySchema = z.strictObject({
  model: z.string().min(1),
  image: base64,
  top_k: fromText(uint32({ min: 1, max: 1000 })).optional(),
  keep_alive: keepAliveField,
  backend: backendField,
});

export type DetectBody = z.infer<typeof detectSchema>;
export type ClassifyBody = z.infer<typeof classifySchema>;

export function decodeBase64Image(text: string): Buffer {
  return Buffer.from(text.replace(/^data:[\w/+.-]+;base64,/, ''), 'base64');
}

export function detectRequest(body: DetectBody, image: Buffer, context: RequestContext): DetectRequest {
  return {
    model: body.model,
    image,
    confidenceThreshold: body.confidence_threshold,
    iouThreshold: body.iou_threshold,
    maxDetections: body.max_detections,
    classIds: body.class_ids ?? [],
    context,
  };
}

export function classifyRequest(body: ClassifyBody, image: Buffer, context: RequestContext): ClassifyRequest {
  return { model: body.model, image, topK: body.top_k, context };
}

const timings = (t: VisionTimings | undefined) => ({
  load_ns: t?.loadNs ?? 0,
  decode_ns: t?.decodeNs ?? 0,
  preprocess_ns: t?.preprocessNs ?? 0,
  inference_ns: t?.inferenceNs ?? 0,
  postprocess_ns: t?.postprocessNs ?? 0,
  total_ns: t?.totalNs ?? 0,
});

export function detectResponse(model: string, response: DetectResponse) {
  return {
    model,
    detections: response.detections.map((d) => ({
      box: d.box,
      class_id: d.classId,
      label: d.label,
      score: d.score,
    })),
    image: response.imageSize,
    timings: timings(response.timings),
  };
}

export function classifyResponse(model: string, response: ClassifyResponse) {
  return {
    model,
    classes: response.classes.map((c) => ({ class_id: c.classId, label: c.label, score: c.score })),
    image: response.imageSize,
    timings: timings(response.timings),
  };
}
