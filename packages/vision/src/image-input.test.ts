import { describe, expect, it } from '@jest/globals';
import { crc32 } from 'node:zlib';
import { ErrorCode } from '@vmm/errors';
import sharp from 'sharp';
import { DEFAULT_MAX_PIXELS, letterboxInto, probeImage } from './image-input.js';

function pngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  // A few bytes of (empty) zlib data: the header's claim is all that matters.
  const idat = chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    idat,
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const solid = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 200, g: 10, b: 10 } } });

describe('probeImage', () => {
  it.each([
    ['jpeg', () => solid(30, 20).jpeg().toBuffer()],
    ['png', () => solid(30, 20).png().toBuffer()],
    ['webp', () => solid(30, 20).webp().toBuffer()],
  ])('reads a %s header', async (format, make) => {
    expect(await probeImage(await make())).toEqual({ format, width: 30, height: 20 });
  });

  it('reports the displayed size of an EXIF-rotated JPEG', async () => {
    const rotated = await solid(30, 20).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    expect(await probeImage(rotated)).toMatchObject({ width: 20, height: 30 });
  });

  it.each([
    ['empty bytes', async () => Buffer.alloc(0), ErrorCode.InvalidArgument, /empty/],
    [
      'a text file',
      async () => Buffer.from('hello, I am not an image\n'),
      ErrorCode.InvalidArgument,
      /not a readable image/,
    ],
    [
      'a GIF',
      async () => solid(4, 4).gif().toBuffer(),
      ErrorCode.InvalidArgument,
      /unsupported image format "gif"/,
    ],
    [
      'a PNG header claiming 30000×30000',
      async () => pngHeader(30000, 30000),
      ErrorCode.PayloadTooLarge,
      new RegExp(`30000×30000 pixels; the limit is ${DEFAULT_MAX_PIXELS}`),
    ],
  ])('refuses %s with a clear error', async (_name, make, code, message) => {
    const failure = await probeImage(await make()).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code, field: 'image', message: expect.stringMatching(message) });
  });
});

describe('letterboxInto', () => {
  it('refuses a truncated JPEG when decoding its pixels', async () => {
    // Noise, so the entropy-coded scan is long and the cut falls inside it, after the header.
    const noise = Buffer.from(Array.from({ length: 256 * 256 * 3 }, (_, i) => (i * 7919) % 251));
    const jpeg = await sharp(noise, { raw: { width: 256, height: 256, channels: 3 } })
      .jpeg()
      .toBuffer();
    const truncated = jpeg.subarray(0, Math.floor(jpeg.length / 2));
    const info = await probeImage(truncated);
    const into = new Float32Array(3 * 32 * 32);
    await expect(
      letterboxInto(truncated, info, { width: 32, height: 32, padValue: 114 }, into),
    ).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      field: 'image',
      message: expect.stringContaining('cannot be decoded'),
    });
  });

  it('pads with 114 grey and scales pixels to [0, 1], channels first', async () => {
    const png = await solid(32, 16).png().toBuffer();
    const into = new Float32Array(3 * 32 * 32);
    const geometry = await letterboxInto(
      png,
      await probeImage(png),
      { width: 32, height: 32, padValue: 114 },
      into,
    );
    expect(geometry).toMatchObject({ top: 8, bottom: 8, left: 0, right: 0 });
    expect(into[0]).toBeCloseTo(114 / 255, 5); // top-left: padding, red channel
    expect(into[16 * 32 + 16]).toBeCloseTo(200 / 255, 2); // centre, red channel
    expect(into[32 * 32 + 16 * 32 + 16]).toBeCloseTo(10 / 255, 2); // centre, green channel
  });
});
