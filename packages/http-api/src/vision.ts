import { MatteOutput } from '@vmm/proto';
import type {
  ClassifyRequest,
  ClassifyResponse,
  DetectRequest,
  DetectResponse,
  Detection,
  PoseRequest,
  PoseResponse,
  RemoveBackgroundRequest,
  RemoveBackgroundResponse,
  RequestContext,
  SegmentRequest,
  SegmentResponse,
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

/** A form's true/false (and JSON's booleans). */
const flag = z.preprocess(
  (value) => (value === 'true' ? true : value === 'false' ? false : value),
  z.boolean({ message: 'must be true or false' }),
);

/** Segmentation takes what detection takes, and whether to trace outlines. */
export const segmentSchema = detectSchema.extend({ polygons: flag.optional() });

/** Pose estimation takes what detection takes (a schema of its own: OpenAPI names it apart). */
export const poseSchema = detectSchema.extend({});

/**
 * Background removal: `output` cutout (the image as a PNG with the matte as alpha, the default),
 * mask (the matte as a greyscale PNG) or rle (the foreground as COCO RLE, in JSON);
 * `response_format` png (the PNG itself as the body, the default) or b64_json (JSON with the PNG
 * in base64, as OpenAI's images API answers).
 */
export const removeBackgroundSchema = z.strictObject({
  model: z.string().min(1),
  image: base64,
  output: z.enum(['cutout', 'mask', 'rle']).optional(),
  response_format: z.enum(['png', 'b64_json']).optional(),
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
export type SegmentBody = z.infer<typeof segmentSchema>;
export type PoseBody = z.infer<typeof poseSchema>;
export type RemoveBackgroundBody = z.infer<typeof removeBackgroundSchema>;

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

export function segmentRequest(body: SegmentBody, image: Buffer, context: RequestContext): SegmentRequest {
  return { ...detectRequest(body, image, context), polygons: body.polygons ?? false };
}

export function poseRequest(body: PoseBody, image: Buffer, context: RequestContext): PoseRequest {
  return detectRequest(body, image, context);
}

const matteOutputs = {
  cutout: MatteOutput.MATTE_OUTPUT_CUTOUT,
  mask: MatteOutput.MATTE_OUTPUT_MASK,
  rle: MatteOutput.MATTE_OUTPUT_RLE,
} as const;

export function removeBackgroundRequest(
  body: RemoveBackgroundBody,
  image: Buffer,
  context: RequestContext,
): RemoveBackgroundRequest {
  return { model: body.model, image, output: matteOutputs[body.output ?? 'cutout'], context };
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

const detection = (d: Detection | undefined) => ({
  box: d?.box,
  class_id: d?.classId ?? 0,
  label: d?.label ?? '',
  score: d?.score ?? 0,
});

export function detectResponse(model: string, response: DetectResponse) {
  return {
    model,
    detections: response.detections.map(detection),
    image: response.imageSize,
    timings: timings(response.timings),
  };
}

/**
 * Masks as COCO's uncompressed RLE (`size` is [height, width], as pycocotools takes it), with
 * their area; outlines only when asked.
 */
export function segmentResponse(model: string, response: SegmentResponse) {
  return {
    model,
    segments: response.segments.map((s) => ({
      ...detection(s.detection),
      mask: {
        size: [s.mask?.height ?? 0, s.mask?.width ?? 0],
        counts: s.mask?.counts ?? [],
        area: s.mask?.area ?? 0,
      },
      ...(s.polygons.length > 0 ? { polygons: s.polygons.map((p) => p.points) } : {}),
    })),
    image: response.imageSize,
    timings: timings(response.timings),
  };
}

export function poseResponse(model: string, response: PoseResponse) {
  return {
    model,
    poses: response.poses.map((p) => ({
      ...detection(p.detection),
      keypoints: p.keypoints.map((k) => ({ name: k.name, x: k.x, y: k.y, score: k.score })),
    })),
    skeleton: response.skeleton.map((limb) => [limb.from, limb.to]),
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

/**
 * Background removal's JSON answer (an RLE mask, or a PNG asked for as b64_json); a PNG asked
 * for as png is the body itself, and this is not used.
 */
export function removeBackgroundResponse(model: string, response: RemoveBackgroundResponse) {
  return {
    model,
    ...(response.png.length > 0 ? { b64_png: Buffer.from(response.png).toString('base64') } : {}),
    ...(response.mask
      ? {
          mask: {
            size: [response.mask.height, response.mask.width],
            counts: response.mask.counts,
            area: response.mask.area,
          },
        }
      : {}),
    foreground: response.foreground,
    image: response.imageSize,
    timings: timings(response.timings),
  };
}
