import type { ImageUrlOptions } from './image-urls.js';
import { Metadata } from '@grpc/grpc-js';
import type { Request, Response } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';
import { Backend, type RequestContext } from '@vmm/proto';
import { backendNames, type BackendName, type WorkerPool } from '@vmm/worker-pool';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

export interface RouteDeps {
  pool: WorkerPool;
  metrics: Metrics;
  logger: Logger;
  version: string;
  /** VMM_MAX_PROMPT_BYTES: text generation refuses larger prompts before any worker sees them. */
  maxPromptBytes: number;
  /** Remote image URLs in chat are fetched within these bounds; undefined refuses them. */
  imageUrls?: ImageUrlOptions | undefined;
}

const protoBackend: Readonly<Record<BackendName, Backend>> = {
  cpu: Backend.BACKEND_CPU,
  cuda: Backend.BACKEND_CUDA,
  openvino: Backend.BACKEND_OPENVINO,
};

export function requestIdOf(res: Response): string {
  return String(res.locals.requestId);
}

/** gRPC metadata carrying the request's id to the worker (its logs and errors name it). */
export function metadataOf(res: Response): Metadata {
  const metadata = new Metadata();
  metadata.set('x-request-id', requestIdOf(res));
  return metadata;
}

/** A request may pin a backend with `backend` in its body or the X-VMM-Backend header. */
export function pinOf(req: Request, fromBody: BackendName | undefined): BackendName | undefined {
  const header = req.get('x-vmm-backend');
  if (header === undefined) return fromBody;
  if (!(backendNames as readonly string[]).includes(header)) {
    throw new VmmError(ErrorCode.InvalidArgument, `X-VMM-Backend must be one of ${backendNames.join(', ')}`, {
      field: 'X-VMM-Backend',
    });
  }
  return header as BackendName;
}

export function requestContext(
  res: Response,
  pin: BackendName | undefined,
  keepAlive: number | undefined,
): RequestContext {
  return {
    requestId: requestIdOf(res),
    backend: pin ? protoBackend[pin] : Backend.BACKEND_UNSPECIFIED,
    keepAliveMs: keepAlive,
  };
}

/** True once the client has gone away; streaming loops stop (and so cancel the gRPC call). */
export function clientGone(req: Request, res: Response): () => boolean {
  const signal = clientSignal(req, res);
  return () => signal.aborted;
}

/** Aborted once the client has gone away: work done for it before it is answered stops. */
export function clientSignal(req: Request, res: Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  req.on('aborted', () => controller.abort());
  return controller.signal;
}
