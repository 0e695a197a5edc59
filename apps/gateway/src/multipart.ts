import { PassThrough, type Readable } from 'node:stream';
import busboy from 'busboy';
import type { Request } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';

/** A form whose one file went to a receiver as it arrived: what the receiver made of it. */
export interface StreamedForm<T> {
  fields: Record<string, string>;
  file?: { name: string; filename: string; received: T };
}

const malformed = (error: Error) =>
  new VmmError(ErrorCode.InvalidArgument, `malformed multipart body: ${error.message}`, { field: 'body' });

/**
 * Reads a multipart/form-data body with limits (one file, a few small fields), handing the file
 * part to `receive` as a stream while it arrives: nothing holds the whole file unless the
 * receiver does. Every way a body can be wrong (truncated, cut off by the client, a part too
 * large) fails the file's stream, so the receiver cleans up, and rejects once, after the
 * receiver has settled; no error is left without a listener (that would end the process).
 */
export function streamMultipart<T>(
  req: Request,
  maxBytes: number,
  /** `fields`: those read before the file (later ones are added to it as they come). */
  receive: (stream: Readable, name: string, fields: Readonly<Record<string, string>>) => Promise<T>,
  /** Undoes a receipt when the form fails after its file was received (nothing is left behind). */
  discard: (received: T) => Promise<void> = () => Promise.resolve(),
): Promise<StreamedForm<T>> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let receiving: Promise<unknown> = Promise.resolve();
    let fileStream: PassThrough | undefined;
    let received: T | undefined;
    const settle = (error: VmmError | undefined, form?: StreamedForm<T>) => {
      if (settled) return;
      settled = true;
      if (error) {
        // Stop reading what is left of the body; the response still goes out.
        req.unpipe();
        req.resume();
        if (fileStream && !fileStream.destroyed) fileStream.destroy(error);
      }
      // Answer only once the receiver has finished (or cleaned up after the failure).
      void receiving.then(
        async () => {
          if (!error) return resolve(form as StreamedForm<T>);
          if (received !== undefined) await discard(received).catch(() => undefined);
          reject(error);
        },
        (failure: unknown) => reject(error ?? failure),
      );
    };
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: 64 * 1024, parts: 40 },
      });
    } catch (error) {
      settle(malformed(error as Error));
      return;
    }
    const form: StreamedForm<T> = { fields: {} };
    let failure: VmmError | undefined;
    parser.on('field', (name, value) => (form.fields[name] = value));
    parser.on('file', (name, stream, info) => {
      const filename = info.filename ?? 'upload';
      // The receiver reads a relay, never busboy's own stream: busboy finishes the form only
      // once its stream has ended, so that one is always read to its end, whatever happens to
      // the receiver; failing the relay tells the receiver to stop and clean up.
      const relay = new PassThrough();
      // The receiver may not read at once (it checks its store first): a failure before then
      // stays in the relay's errored state, where the receiver meets it, never unhandled.
      relay.on('error', () => undefined);
      fileStream = relay;
      stream.on('data', (chunk: Buffer) => {
        if (relay.destroyed) return;
        if (!relay.write(chunk)) {
          stream.pause();
          relay.once('drain', () => stream.resume());
        }
      });
      stream.on('end', () => {
        if (!relay.destroyed) relay.end();
      });
      relay.on('close', () => stream.resume());
      // A body cut short fails busboy's stream ("Unexpected end of file"): pass it on.
      stream.on('error', (error: Error) => relay.destroy(malformed(error)));
      stream.on('limit', () => {
        // busboy truncates the part and ends it normally: fail it, so it is never taken whole.
        failure = new VmmError(
          ErrorCode.PayloadTooLarge,
          `the file "${name}" is larger than ${maxBytes} bytes`,
          {
            field: name,
          },
        );
        relay.destroy(failure);
      });
      const receipt = receive(relay, name, form.fields).then((value) => {
        received = value;
        form.file = { name, filename, received: value };
      });
      receipt.catch((error: unknown) => {
        failure ??= VmmError.from(error);
        relay.destroy();
      });
      receiving = receipt;
    });
    parser.on('filesLimit', () => {
      failure = new VmmError(ErrorCode.InvalidArgument, 'send one file per request', { field: 'body' });
    });
    parser.on('partsLimit', () => {
      failure = new VmmError(ErrorCode.InvalidArgument, 'the form has too many parts', { field: 'body' });
    });
    parser.on('error', (error: Error) => settle(malformed(error)));
    parser.on('close', () => settle(failure, form));
    req.on('error', (error: Error) => settle(malformed(error)));
    req.on('aborted', () => settle(new VmmError(ErrorCode.Cancelled, 'the client closed the upload')));
    req.pipe(parser);
  });
}
