import busboy from 'busboy';
import type { Request } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';

export interface MultipartForm {
  fields: Record<string, string>;
  files: Record<string, Buffer>;
  /** The file name the client gave each file part. */
  filenames: Record<string, string>;
}

const malformed = (error: Error) =>
  new VmmError(ErrorCode.InvalidArgument, `malformed multipart body: ${error.message}`, { field: 'body' });

/**
 * Reads a multipart/form-data body with limits: one file, a few small fields. Every way a body
 * can be wrong (truncated, cut off by the client, a part too large) rejects the promise once;
 * no error is left without a listener, since an unhandled stream error would end the process.
 */
export function readMultipart(req: Request, maxBytes: number): Promise<MultipartForm> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error: VmmError | undefined, form?: MultipartForm) => {
      if (settled) return;
      settled = true;
      if (error) {
        // Stop reading what is left of the body; the response still goes out.
        req.unpipe();
        req.resume();
        reject(error);
      } else resolve(form as MultipartForm);
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
    const form: MultipartForm = { fields: {}, files: {}, filenames: {} };
    let failure: VmmError | undefined;
    parser.on('field', (name, value) => (form.fields[name] = value));
    parser.on('file', (name, stream, info) => {
      form.filenames[name] = info.filename ?? 'upload';
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error: Error) => settle(malformed(error)));
      stream.on('limit', () => {
        failure = new VmmError(
          ErrorCode.PayloadTooLarge,
          `the file "${name}" is larger than ${maxBytes} bytes`,
          { field: name },
        );
      });
      stream.on('end', () => (form.files[name] = Buffer.concat(chunks)));
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
