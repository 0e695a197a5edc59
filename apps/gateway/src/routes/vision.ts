import { Metadata } from '@grpc/grpc-js';
import { type Request, type Response, Router } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';
import type { ClassifyResponse, DetectResponse, VisionTimings } from '@vmm/proto';
import { z } from 'zod';
import { sendError } from '../error-shapes.js';
import { readMultipart } from '../multipart.js';
import {
  backendField,
  keepAliveField,
  keepAliveMs,
  pinOf,
  requestContext,
  requestIdOf,
  type RouteDeps,
} from '../request-context.js';
import { parseBody } from '../validation.js';

// Vision over HTTP: multipart/form-data (file field `image`, other fields as text) or JSON
// with a base64 `image`.

const base64 = z
  .string()
  .min(1)
  .regex(/^(data:[\w/+.-]+;base64,)?[A-Za-z0-9+/\s]+={0,2}$/, 'must be base64 (optionally a data: URL)');
const number = z.coerce.number();
const detectSchema = z.object({
  model: z.string().min(1),
  image: base64,
  confidence_threshold: number.min(0).max(1).optional(),
  iou_threshold: number.min(0).max(1).optional(),
  max_detections: number.int().min(1).max(10_000).optional(),
  class_ids: z.array(z.coerce.number().int().min(0)).optional(),
  keep_alive: keepAliveField,
  backend: backendField,
});
const classifySchema = z.object({
  model: z.string().min(1),
  image: base64,
  top_k: number.int().min(1).max(1000).optional(),
  keep_alive: keepAliveField,
  backend: backendField,
});

function decodeBase64(text: string): Buffer {
  return Buffer.from(text.replace(/^data:[\w/+.-]+;base64,/, ''), 'base64');
}

/** Multipart forms carry the image as a file; the rest of the fields become the JSON body. */
async function readInput(
  req: Request,
  maxBytes: number,
): Promise<{ body: Record<string, unknown>; image: Buffer | undefined }> {
  if (req.is('multipart/form-data')) {
    const form = await readMultipart(req, maxBytes);
    const image = form.files.image;
    if (!image)
      throw new VmmError(ErrorCode.InvalidArgument, 'the form has no file field "image"', { field: 'image' });
    const body: Record<string, unknown> = { ...form.fields, image: 'AA==' };
    if (typeof form.fields.class_ids === 'string')
      body.class_ids = form.fields.class_ids.split(',').filter(Boolean);
    if (typeof form.fields.keep_alive === 'string' && /^-?\d+(\.\d+)?$/.test(form.fields.keep_alive)) {
      body.keep_alive = Number(form.fields.keep_alive);
    }
    return { body, image };
  }
  return { body: req.body as Record<string, unknown>, image: undefined };
}

const timingsJson = (t: VisionTimings | undefined) => ({
  load_ns: t?.loadNs ?? 0,
  decode_ns: t?.decodeNs ?? 0,
  preprocess_ns: t?.preprocessNs ?? 0,
  inference_ns: t?.inferenceNs ?? 0,
  postprocess_ns: t?.postprocessNs ?? 0,
  total_ns: t?.totalNs ?? 0,
});

export function visionRouter(deps: RouteDeps & { maxBodyBytes: number }): Router {
  const router = Router();
  const { pool, logger } = deps;

  const handle = (kind: 'detect' | 'classify') => async (req: Request, res: Response) => {
    const requestId = requestIdOf(res);
    try {
      const input = await readInput(req, deps.maxBodyBytes);
      const metadata = new Metadata();
      metadata.set('x-request-id', requestId);
      if (kind === 'detect') {
        const body = parseBody(detectSchema, input.body);
        const pin = pinOf(req, body.backend);
        const image = input.image ?? decodeBase64(body.image);
        const response = await pool.unary(
          body.model,
          pin,
          (worker) =>
            new Promise<DetectResponse>((resolve, reject) =>
              worker.inference.detect(
                {
                  model: body.model,
                  image,
                  confidenceThreshold: body.confidence_threshold,
                  iouThreshold: body.iou_threshold,
                  maxDetections: body.max_detections,
                  classIds: body.class_ids ?? [],
                  context: requestContext(res, pin, keepAliveMs(body.keep_alive)),
                },
                metadata,
                (error, value) => (error ? reject(error) : resolve(value)),
              ),
            ),
        );
        res.json({
          model: body.model,
          detections: response.detections.map((d) => ({
            box: d.box,
            class_id: d.classId,
            label: d.label,
            score: d.score,
          })),
          image: response.imageSize,
          timings: timingsJson(response.timings),
        });
      } else {
        const body = parseBody(classifySchema, input.body);
        const pin = pinOf(req, body.backend);
        const image = input.image ?? decodeBase64(body.image);
        const response = await pool.unary(
          body.model,
          pin,
          (worker) =>
            new Promise<ClassifyResponse>((resolve, reject) =>
              worker.inference.classify(
                {
                  model: body.model,
                  image,
                  topK: body.top_k,
                  context: requestContext(res, pin, keepAliveMs(body.keep_alive)),
                },
                metadata,
                (error, value) => (error ? reject(error) : resolve(value)),
              ),
            ),
        );
        res.json({
          model: body.model,
          classes: response.classes.map((c) => ({ class_id: c.classId, label: c.label, score: c.score })),
          image: response.imageSize,
          timings: timingsJson(response.timings),
        });
      }
    } catch (error) {
      sendError(res, error, 'vmm', logger, requestId);
    }
  };

  router.post('/v1/vision/detect', (req, res) => void handle('detect')(req, res));
  router.post('/v1/vision/classify', (req, res) => void handle('classify')(req, res));
  return router;
}
