import type { Readable } from 'node:stream';
import { Metadata } from '@grpc/grpc-js';
import { type Request, type Response, Router } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';
import {
  classifyRequest,
  classifyResponse,
  classifySchema,
  detectRequest,
  detectResponse,
  detectSchema,
  keepAliveMs,
  parseBody,
  poseRequest,
  poseResponse,
  poseSchema,
  removeBackgroundRequest,
  removeBackgroundResponse,
  removeBackgroundSchema,
  segmentRequest,
  segmentResponse,
  segmentSchema,
} from '@vmm/http-api';
import type {
  ClassifyRequest,
  ClassifyResponse,
  DetectRequest,
  DetectResponse,
  PoseRequest,
  PoseResponse,
  RemoveBackgroundRequest,
  RemoveBackgroundResponse,
  RequestContext,
  SegmentRequest,
  SegmentResponse,
  VisionTimings,
} from '@vmm/proto';
import { type BackendName, backendNames, type PendingUpload, type WorkerPool } from '@vmm/worker-pool';
import type { z } from 'zod';
import { sendError } from '../error-shapes.js';
import { recordVision, type VisionKind } from '../metrics.js';
import { readJsonImage } from '../json-image-body.js';
import { streamMultipart } from '../multipart.js';
import { pinOf, requestContext, requestIdOf, type RouteDeps } from '../request-context.js';

/** An answer with the worker's per-stage timings (the metrics read them). */
interface Timed {
  timings?: VisionTimings | undefined;
}

/** The fields every vision body has. */
type VisionBody = Pick<z.infer<typeof classifySchema>, 'model' | 'image' | 'keep_alive' | 'backend'>;

/** What differs between the vision tasks on the way to a worker and back. */
interface VisionCall<Body extends VisionBody, Call, Answer extends Timed> {
  kind: VisionKind;
  parse(body: unknown): Body;
  request(body: Body, image: Buffer, context: RequestContext): Call;
  unary(
    pool: WorkerPool,
    request: Call,
    pin: BackendName | undefined,
    metadata: Metadata,
    served: (backend: BackendName) => void,
  ): Promise<Answer>;
  upload(
    pool: WorkerPool,
    model: string,
    pin: BackendName | undefined,
    pieces: AsyncIterable<Buffer>,
    metadata: Metadata,
    served: (backend: BackendName) => void,
  ): Promise<PendingUpload<Call, Answer>>;
  response(model: string, answer: Answer): object;
  /** Answers other than with `response` as JSON (a PNG as the body); absent: JSON. */
  reply?(res: Response, model: string, answer: Answer, body: Body): void;
}

const detect: VisionCall<z.infer<typeof detectSchema>, DetectRequest, DetectResponse> = {
  kind: 'detect',
  parse: (body) => parseBody(detectSchema, body),
  request: detectRequest,
  unary: (pool, request, pin, metadata, served) => pool.detect(request, pin, metadata, served),
  upload: (pool, model, pin, pieces, metadata, served) =>
    pool.detectUpload(model, pin, pieces, metadata, served),
  response: detectResponse,
};

const classify: VisionCall<z.infer<typeof classifySchema>, ClassifyRequest, ClassifyResponse> = {
  kind: 'classify',
  parse: (body) => parseBody(classifySchema, body),
  request: classifyRequest,
  unary: (pool, request, pin, metadata, served) => pool.classify(request, pin, metadata, served),
  upload: (pool, model, pin, pieces, metadata, served) =>
    pool.classifyUpload(model, pin, pieces, metadata, served),
  response: classifyResponse,
};

const segment: VisionCall<z.infer<typeof segmentSchema>, SegmentRequest, SegmentResponse> = {
  kind: 'segment',
  parse: (body) => parseBody(segmentSchema, body),
  request: segmentRequest,
  unary: (pool, request, pin, metadata, served) => pool.segment(request, pin, metadata, served),
  upload: (pool, model, pin, pieces, metadata, served) =>
    pool.segmentUpload(model, pin, pieces, metadata, served),
  response: segmentResponse,
};

const pose: VisionCall<z.infer<typeof poseSchema>, PoseRequest, PoseResponse> = {
  kind: 'pose',
  parse: (body) => parseBody(poseSchema, body),
  request: poseRequest,
  unary: (pool, request, pin, metadata, served) => pool.pose(request, pin, metadata, served),
  upload: (pool, model, pin, pieces, metadata, served) =>
    pool.poseUpload(model, pin, pieces, metadata, served),
  response: poseResponse,
};

const removeBackground: VisionCall<
  z.infer<typeof removeBackgroundSchema>,
  RemoveBackgroundRequest,
  RemoveBackgroundResponse
> = {
  kind: 'remove-background',
  parse: (body) => parseBody(removeBackgroundSchema, body),
  request: removeBackgroundRequest,
  unary: (pool, request, pin, metadata, served) => pool.removeBackground(request, pin, metadata, served),
  upload: (pool, model, pin, pieces, metadata, served) =>
    pool.removeBackgroundUpload(model, pin, pieces, metadata, served),
  response: removeBackgroundResponse,
  reply(res, model, answer, body) {
    if (answer.png.length === 0 || body.response_format === 'b64_json') {
      res.json(removeBackgroundResponse(model, answer));
      return;
    }
    // The PNG itself, as `curl -o cut.png` wants it; what JSON would say beside it, in headers.
    res
      .type('image/png')
      .set('x-vmm-foreground', answer.foreground.toFixed(4))
      .set('x-vmm-image-size', `${answer.imageSize?.width ?? 0}x${answer.imageSize?.height ?? 0}`)
      .set('x-vmm-total-ns', String(answer.timings?.totalNs ?? 0))
      .send(Buffer.from(answer.png));
  },
};

/** A form's fields as the JSON body the schema expects (numbers and lists from their text). */
function formBody(fields: Readonly<Record<string, string>>): Record<string, unknown> {
  const body: Record<string, unknown> = { ...fields };
  if (typeof fields.class_ids === 'string') body.class_ids = fields.class_ids.split(',').filter(Boolean);
  if (typeof fields.keep_alive === 'string' && /^-?\d+(\.\d+)?$/.test(fields.keep_alive)) {
    body.keep_alive = Number(fields.keep_alive);
  }
  return body;
}

/** What a form's file became: sent on to a worker as it arrived, or held whole. */
type Received<Call, Answer> =
  { streamed: PendingUpload<Call, Answer>; backend: () => string } | { held: Buffer };

/** Vision over HTTP: multipart/form-data (file field `image`) or JSON with a base64 `image`. */
export function visionRouter(deps: RouteDeps & { maxBodyBytes: number }): Router {
  const router = Router();
  const { pool, logger } = deps;

  /**
   * Receives an image as it arrives: sent on to a worker at once when the model is named before
   * it (`named`), held whole otherwise (no worker can be picked before the model is known).
   */
  async function receiveImage<Body extends VisionBody, Call, Answer extends Timed>(
    vision: VisionCall<Body, Call, Answer>,
    req: Request,
    image: Readable,
    named: { model?: unknown; backend?: unknown },
    metadata: Metadata,
  ): Promise<Received<Call, Answer>> {
    if (typeof named.model !== 'string') {
      const pieces: Buffer[] = [];
      for await (const piece of image as AsyncIterable<Buffer>) pieces.push(piece);
      return { held: Buffer.concat(pieces) };
    }
    const backend = (backendNames as readonly unknown[]).includes(named.backend)
      ? (named.backend as BackendName)
      : undefined;
    let served = 'unknown';
    const streamed = await vision.upload(
      pool,
      named.model,
      pinOf(req, backend),
      image as AsyncIterable<Buffer>,
      metadata,
      (backend) => (served = backend),
    );
    return { streamed, backend: () => served };
  }

  /** Sends a received image's request to a worker and answers with what it found. */
  async function answer<Body extends VisionBody, Call, Answer extends Timed>(
    vision: VisionCall<Body, Call, Answer>,
    req: Request,
    res: Response,
    fields: Record<string, unknown>,
    file: Received<Call, Answer> | undefined,
    metadata: Metadata,
  ): Promise<void> {
    let body: Body;
    try {
      // The image stands in as a placeholder: its bytes have gone (or are held) already.
      body = vision.parse(file ? { ...fields, image: 'AA==' } : fields);
    } catch (error) {
      if (file && 'streamed' in file) file.streamed.cancel();
      throw error;
    }
    if (!file) throw new VmmError(ErrorCode.InvalidArgument, 'image: required', { field: 'image' });
    const pin = pinOf(req, body.backend);
    const context = requestContext(res, pin, keepAliveMs(body.keep_alive));
    if ('streamed' in file) {
      const found = await file.streamed.finish(vision.request(body, Buffer.alloc(0), context));
      respond(vision, res, body, file.backend(), found);
      return;
    }
    let backend = 'unknown';
    const found = await vision.unary(
      pool,
      vision.request(body, file.held, context),
      pin,
      metadata,
      (served) => (backend = served),
    );
    respond(vision, res, body, backend, found);
  }

  /**
   * A JSON body's base64 image is decoded and goes on to the worker while it arrives when the
   * body names the model before the image (as clients write {"model": …, "image": …});
   * otherwise the decoded image is held once. The base64 text is never held whole.
   */
  async function fromJson<Body extends VisionBody, Call, Answer extends Timed>(
    vision: VisionCall<Body, Call, Answer>,
    req: Request,
    res: Response,
    metadata: Metadata,
  ): Promise<void> {
    const read = await readJsonImage(
      req,
      deps.maxBodyBytes,
      (image, fieldsSoFar) => receiveImage(vision, req, image, fieldsSoFar, metadata),
      async (received) => {
        if ('streamed' in received) received.streamed.cancel();
      },
    );
    await answer(vision, req, res, read.fields, read.image, metadata);
  }

  /**
   * A form's image goes on to the worker while it arrives when the form names the model before
   * the file (curl -F, Python's requests and the OpenAI SDKs write fields first); the other
   * fields, wherever they are, go last, once the form is read. A form that names its model only
   * after the file has its image held whole.
   */
  async function fromForm<Body extends VisionBody, Call, Answer extends Timed>(
    vision: VisionCall<Body, Call, Answer>,
    req: Request,
    res: Response,
    metadata: Metadata,
  ): Promise<void> {
    const form = await streamMultipart(
      req,
      deps.maxBodyBytes,
      async (stream, name, fields) => {
        if (name !== 'image') {
          throw new VmmError(
            ErrorCode.InvalidArgument,
            `the form's file field is "${name}"; send the image as "image"`,
            {
              field: 'image',
            },
          );
        }
        return receiveImage(vision, req, stream, fields, metadata);
      },
      async (received) => {
        if ('streamed' in received) received.streamed.cancel();
      },
    );
    const file = form.file?.received;
    if (!file) {
      throw new VmmError(ErrorCode.InvalidArgument, 'the form has no file field "image"', { field: 'image' });
    }
    await answer(vision, req, res, formBody(form.fields), file, metadata);
  }

  function respond<Body extends VisionBody, Call, Answer extends Timed>(
    vision: VisionCall<Body, Call, Answer>,
    res: Response,
    body: Body,
    backend: string,
    answer: Answer,
  ): void {
    recordVision(deps.metrics, body.model, backend, vision.kind, answer.timings);
    if (vision.reply) vision.reply(res, body.model, answer, body);
    else res.json(vision.response(body.model, answer));
  }

  const handle =
    <Body extends VisionBody, Call, Answer extends Timed>(vision: VisionCall<Body, Call, Answer>) =>
    async (req: Request, res: Response) => {
      const requestId = requestIdOf(res);
      try {
        const metadata = new Metadata();
        metadata.set('x-request-id', requestId);
        if (req.is('multipart/form-data')) await fromForm(vision, req, res, metadata);
        else await fromJson(vision, req, res, metadata);
      } catch (error) {
        sendError(res, error, 'openai', logger, requestId);
      }
    };

  router.post('/v1/vision/detect', (req, res) => void handle(detect)(req, res));
  router.post('/v1/vision/classify', (req, res) => void handle(classify)(req, res));
  router.post('/v1/vision/segment', (req, res) => void handle(segment)(req, res));
  router.post('/v1/vision/pose', (req, res) => void handle(pose)(req, res));
  router.post('/v1/vision/remove-background', (req, res) => void handle(removeBackground)(req, res));
  return router;
}
