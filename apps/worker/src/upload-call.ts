import type { Metadata, ServerReadableStream } from '@grpc/grpc-js';
import { ErrorCode, VmmError } from '@vmm/errors';
import { malformedReason } from './decode-guard.js';

/** What a unary handler reads of its call: a unary call's, or an upload's once it is whole. */
export interface UnaryInput<Request> {
  request: Request;
  metadata: Metadata;
  readonly cancelled: boolean;
  on(event: 'cancelled', listener: () => void): unknown;
}

/** A message of an upload call (DetectUploadPart, ClassifyUploadPart). */
export interface UploadPart<Request> {
  imageChunk?: Uint8Array | undefined;
  request?: Request | undefined;
}

/**
 * Reads an upload call (the image's pieces, then the request) into the request with its image
 * whole, and hands that on as a unary call would be; an upload that is wrong (a piece that did
 * not decode, a piece after the request, no request, an image past `maxBytes`) goes to
 * `refuse` instead, once, and what is left of it is not read. Nothing is held but the pieces,
 * up to `maxBytes`: the same limit as one Detect or Classify message.
 */
export function receiveUpload<Request extends { image: Uint8Array }, Result>(
  call: ServerReadableStream<UploadPart<Request>, Result>,
  maxBytes: number,
  refuse: (error: VmmError) => void,
  whole: (input: UnaryInput<Request>) => void,
): void {
  const pieces: Uint8Array[] = [];
  let bytes = 0;
  let request: Request | undefined;
  let refused = false;
  const fail = (error: VmmError) => {
    if (refused) return;
    refused = true;
    pieces.length = 0;
    call.removeAllListeners('data');
    refuse(error);
  };
  call.on('data', (part: UploadPart<Request>) => {
    const malformed = malformedReason(part);
    if (malformed !== undefined) {
      fail(new VmmError(ErrorCode.InvalidArgument, `the upload part is malformed: ${malformed}`));
    } else if (request !== undefined) {
      fail(new VmmError(ErrorCode.InvalidArgument, 'the request must be the last message of an upload'));
    } else if (part.imageChunk !== undefined) {
      bytes += part.imageChunk.byteLength;
      if (bytes > maxBytes) {
        fail(
          new VmmError(ErrorCode.PayloadTooLarge, `the image is larger than ${maxBytes} bytes`, {
            field: 'image',
          }),
        );
      } else pieces.push(part.imageChunk);
    } else if (part.request !== undefined) {
      if (part.request.image.byteLength > 0) {
        fail(
          new VmmError(ErrorCode.InvalidArgument, "an upload's request carries no image: its pieces do", {
            field: 'image',
          }),
        );
      } else request = part.request;
    } else {
      fail(
        new VmmError(
          ErrorCode.InvalidArgument,
          'an upload part holds neither a piece of the image nor the request',
        ),
      );
    }
  });
  call.on('end', () => {
    if (refused || call.cancelled) return;
    if (request === undefined) {
      fail(new VmmError(ErrorCode.InvalidArgument, 'the upload ended without its request'));
      return;
    }
    const image = pieces.length === 1 ? (pieces[0] as Uint8Array) : Buffer.concat(pieces);
    pieces.length = 0;
    whole({
      request: { ...request, image },
      metadata: call.metadata,
      get cancelled() {
        return call.cancelled;
      },
      on: (event, listener) => call.on(event, listener),
    });
  });
}
