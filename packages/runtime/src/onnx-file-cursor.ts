import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { ErrorCode, VmmError } from '@vmm/errors';

/** Sequential reads with a small buffer, and seeks past what is not needed. */
export class FileCursor {
  private readonly fd: number;
  private readonly buffer = Buffer.alloc(64 * 1024);
  private bufferStart = 0;
  private bufferLength = 0;
  private position = 0;
  readonly size: number;

  constructor(private readonly path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch (error) {
      throw new VmmError(ErrorCode.NotFound, `cannot open ONNX file ${basename(path)}`, { cause: error });
    }
    this.size = fstatSync(this.fd).size;
  }

  atEnd(): boolean {
    return this.position >= this.size;
  }

  invalid(reason: string): VmmError {
    // The file's name only: a server path is nobody's business (messages reach clients).
    return new VmmError(
      ErrorCode.FailedPrecondition,
      `${basename(this.path)} is not a valid ONNX file: ${reason}`,
    );
  }

  private byte(): number {
    if (this.position >= this.size) throw this.invalid('truncated');
    if (this.position < this.bufferStart || this.position >= this.bufferStart + this.bufferLength) {
      this.bufferStart = this.position;
      this.bufferLength = readSync(this.fd, this.buffer, 0, this.buffer.length, this.position);
    }
    const value = this.buffer[this.position - this.bufferStart] as number;
    this.position += 1;
    return value;
  }

  varint(): number {
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i += 1) {
      const byte = this.byte();
      result += (byte & 0x7f) * shift;
      if (byte < 0x80) return result;
      shift *= 128;
    }
    throw this.invalid('varint too long');
  }

  bytes(length: number): Uint8Array {
    if (this.position + length > this.size) throw this.invalid('truncated');
    const out = Buffer.alloc(length);
    readSync(this.fd, out, 0, length, this.position);
    this.position += length;
    return out;
  }

  get offset(): number {
    return this.position;
  }

  skip(length: number): void {
    if (this.position + length > this.size) throw this.invalid('truncated');
    this.position += length;
  }

  close(): void {
    closeSync(this.fd);
  }
}
