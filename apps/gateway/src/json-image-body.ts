import { PassThrough, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Request } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';
import { JsonImageScanner } from './json-image-scanner.js';

/** A JSON body whose image went to a receiver as it was decoded: its fields, and what the receiver made of the image. */
export interface JsonImageBody<T> {
  /** The body's members but `image`. */
  fields: Record<string, unknown>;
  /** Undefined when the body has no top-level string `image`. */
  image?: T;
}

/** The request's body, inflated as its Content-Encoding says (as express.json does). */
function decoded(req: Request): Readable {
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'identity') return req;
  const inflate =
    encoding === 'gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined;
  if (!inflate) {
    throw new VmmError(
      ErrorCode.UnsupportedMediaType,
      `unsupported content encoding "${encoding.slice(0, 40)}"`,
      {
        field: 'content-encoding',
      },
    );
  }
  req.pipe(inflate);
  return inflate;
}

/**
 * Reads a JSON body with a base64 `image` (a vision request) without holding it: the image's
 * bytes go to `receive` as a stream while the body arrives, with the members read before the
 * image (a receiver that knows the model can send them on at once); the other members are
 * parsed at the end. At most `maxBytes` of body (after inflating). A body that fails after its
 * image was received has the receipt `discard`ed; every failure rejects once, after the
 * receiver has settled.
 */
export function readJsonImage<T>(
  req: Request,
  maxBytes: number,
  receive: (image: Readable, fieldsSoFar: Readonly<Record<string, unknown>>) => Promise<T>,
  discard: (received: T) => Promise<void>,
): Promise<JsonImageBody<T>> {
  const charset = /charset=([^;]+)/i
    .exec(String(req.headers['content-type'] ?? ''))?.[1]
    ?.trim()
    .toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    return Promise.reject(
      new VmmError(
        ErrorCode.UnsupportedMediaType,
        `unsupported charset "${charset.slice(0, 40)}": send UTF-8`,
        {
          field: 'content-type',
        },
      ),
    );
  }
  let body: Readable;
  try {
    body = decoded(req);
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise((resolve, reject) => {
    let relay: PassThrough | undefined;
    let receipt: Promise<T> | undefined;
    let settled = false;
    let bytes = 0;
    const settle = (error: VmmError | undefined, fields?: Record<string, unknown>) => {
      if (settled) return;
      settled = true;
      body.removeListener('data', onData);
      if (error) {
        // Stop reading what is left; the answer still goes out.
        req.unpipe();
        req.resume();
        if (body !== req) body.destroy();
        if (relay && !relay.destroyed) relay.destroy(error);
      }
      void (receipt ?? Promise.resolve(undefined)).then(
        async (received) => {
          if (!error)
            return resolve({
              fields: fields as Record<string, unknown>,
              ...(receipt ? { image: received as T } : {}),
            });
          if (received !== undefined) await discard(received).catch(() => undefined);
          reject(error);
        },
        (failure: unknown) => reject(error ?? VmmError.from(failure)),
      );
    };
    const scanner = new JsonImageScanner({
      start: () => {
        relay = new PassThrough();
        relay.on('error', () => undefined); // met by the receiver, never unhandled
        relay.on('drain', () => body.resume());
        receipt = receive(relay, scanner.fieldsSoFar());
        receipt.catch((error: unknown) => settle(VmmError.from(error)));
      },
      bytes: (piece) => {
        if (relay && !relay.destroyed && !relay.write(piece)) body.pause();
      },
      end: () => relay?.end(),
    });
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        settle(
          new VmmError(ErrorCode.PayloadTooLarge, `the request body is larger than ${maxBytes} bytes`, {
            field: 'body',
          }),
        );
        return;
      }
      try {
        scanner.push(chunk);
      } catch (error) {
        settle(VmmError.from(error));
      }
    };
    body.on('data', onData);
    body.on('end', () => {
      try {
        const fields = scanner.end();
        settle(undefined, fields);
      } catch (error) {
        settle(VmmError.from(error));
      }
    });
    body.on('error', (error: Error) =>
      settle(
        new VmmError(ErrorCode.InvalidArgument, `the request body could not be read: ${error.message}`, {
          field: 'body',
        }),
      ),
    );
    req.on('aborted', () => settle(new VmmError(ErrorCode.Cancelled, 'the client closed the upload')));
  });
}
