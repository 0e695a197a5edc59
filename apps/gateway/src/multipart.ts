import busboy from 'busboy';
import type { Request } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';

export interface MultipartForm {
  fields: Record<string, string>;
  files: Record<string, Buffer>;
}

/** Reads a multipart/form-data body with limits: one file, a few small fields. */
export function readMultipart(req: Request, maxBytes: number): Promise<MultipartForm> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: 64 * 1024 },
      });
    } catch (error) {
      reject(
        new VmmError(ErrorCode.InvalidArgument, `malformed multipart body: ${(error as Error).message}`, {
          field: 'body',
        }),
      );
      return;
    }
    const form: MultipartForm = { fields: {}, files: {} };
    let failure: VmmError | undefined;
    parser.on('field', (name, value) => (form.fields[name] = value));
    parser.on('file', (name, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
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
      failure = new VmmError(ErrorCode.InvalidArgument, 'send one image per request', { field: 'image' });
    });
    parser.on('error', (error: Error) =>
      reject(
        new VmmError(ErrorCode.InvalidArgument, `malformed multipart body: ${error.message}`, {
          field: 'body',
        }),
      ),
    );
    parser.on('close', () => (failure ? reject(failure) : resolve(form)));
    req.pipe(parser);
  });
}
