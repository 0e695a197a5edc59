import { Metadata } from '@grpc/grpc-js';
import { type Request, type Response, Router } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';
import {
  classifyRequest,
  classifyResponse,
  classifySchema,
  decodeBase64Image,
  detectRequest,
  detectResponse,
  detectSchema,
  keepAliveMs,
  parseBody,
} from '@vmm/http-api';
import { sendError } from '../error-shapes.js';
import { recordVision } from '../metrics.js';
import { readMultipart } from '../multipart.js';
import { pinOf, requestContext, requestIdOf, type RouteDeps } from '../request-context.js';

/** Multipart forms carry the image as a file; the rest of the fields become the JSON body. */
async function readInput(
  req: Request,
  maxBytes: number,
): Promise<{ body: Record<string, unknown>; image: Buffer | undefined }> {
  if (!req.is('multipart/form-data')) return { body: req.body as Record<string, unknown>, image: undefined };
  const form = await readMultipart(req, maxBytes);
  const image = form.files.image;
  if (!image)
    throw new VmmError(ErrorCode.InvalidArgument, 'the form has no file field "image"', { field: 'image' });
  // The file stands in for the base64 field the schema expects.
  const body: Record<string, unknown> = { ...form.fields, image: 'AA==' };
  if (typeof form.fields.class_ids === 'string')
    body.class_ids = form.fields.class_ids.split(',').filter(Boolean);
  if (typeof form.fields.keep_alive === 'string' && /^-?\d+(\.\d+)?$/.test(form.fields.keep_alive)) {
    body.keep_alive = Number(form.fields.keep_alive);
  }
  return { body, image };
}

/** Vision over HTTP: multipart/form-data (file field `image`) or JSON with a base64 `image`. */
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
        const request = detectRequest(
          body,
          input.image ?? decodeBase64Image(body.image),
          requestContext(res, pin, keepAliveMs(body.keep_alive)),
        );
        let backend = 'unknown';
        const response = await pool.detect(request, pin, metadata, (served) => (backend = served));
        recordVision(deps.metrics, body.model, backend, 'detect', response.timings);
        res.json(detectResponse(body.model, response));
      } else {
        const body = parseBody(classifySchema, input.body);
        const pin = pinOf(req, body.backend);
        const request = classifyRequest(
          body,
          input.image ?? decodeBase64Image(body.image),
          requestContext(res, pin, keepAliveMs(body.keep_alive)),
        );
        let backend = 'unknown';
        const response = await pool.classify(request, pin, metadata, (served) => (backend = served));
        recordVision(deps.metrics, body.model, backend, 'classify', response.timings);
        res.json(classifyResponse(body.model, response));
      }
    } catch (error) {
      sendError(res, error, 'openai', logger, requestId);
    }
  };

  router.post('/v1/vision/detect', (req, res) => void handle('detect')(req, res));
  router.post('/v1/vision/classify', (req, res) => void handle('classify')(req, res));
  return router;
}
