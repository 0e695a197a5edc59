import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoImageProcessor, RawImage } from '@huggingface/transformers';
import { writeVlmFolder } from '@vmm/model-fixtures';
import sharp from 'sharp';
import { idefics3Image, type Idefics3ImageSpec } from '../src/index.js';

/** A picture with detail everywhere (so every resize shows), of any size, as PNG or JPEG. */
async function picture(width: number, height: number, format: 'png' | 'jpeg'): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const i = (y * width + x) * 3;
      data[i] = (x * 7 + y * 3) % 256;
      data[i + 1] = ((x ^ y) * 5) % 256;
      data[i + 2] = Math.round(127.5 + 127.5 * Math.sin((x + 2 * y) / 9));
    }
  }
  const image = sharp(data, { raw: { width, height, channels: 3 } });
  return format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: 90 }).toBuffer();
}

describe('idefics3Image', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmm-idefics3-image-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const specFor = (longestEdge: number, split: boolean): Idefics3ImageSpec => ({
    longestEdge,
    tileSize: 512,
    split,
    resample: 1,
    rescale: 1 / 255,
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
  });

  it.each([
    [300, 200, 'png', 2048, true],
    [640, 480, 'jpeg', 2048, true],
    [333, 901, 'png', 1536, true],
    [512, 512, 'png', 512, true],
    [700, 300, 'jpeg', 1024, false],
  ] as const)(
    'tiles a %ix%i %s (longest edge %i, split %s) as transformers.js does',
    async (width, height, format, longestEdge, split) => {
      const folder = join(dir, `${width}x${height}-${longestEdge}-${split}`);
      writeVlmFolder(folder, { layout: 'idefics3', processor: { longestEdge, splitImages: split } });
      const bytes = await picture(width, height, format);
      const processor = await AutoImageProcessor.from_pretrained(folder, { local_files_only: true });
      const expected = (await processor(await RawImage.fromBlob(new Blob([bytes])), {
        return_row_col_info: true,
      })) as { pixel_values: { dims: number[]; data: Float32Array }; rows: number[][]; cols: number[][] };
      const got = await idefics3Image(new Uint8Array(bytes), specFor(longestEdge, split));
      expect([got.rows, got.cols]).toEqual([expected.rows[0]?.[0], expected.cols[0]?.[0]]);
      expect([1, got.tiles, 3, 512, 512]).toEqual(expected.pixel_values.dims);
      let worst = 0;
      const want = expected.pixel_values.data;
      for (let i = 0; i < want.length; i += 1)
        worst = Math.max(worst, Math.abs((got.pixels[i] as number) - (want[i] as number)));
      // Float rounding of the bilinear steps only: a pixel value apart would be 2/255 ≈ 0.008.
      expect(worst).toBeLessThan(1e-4);
    },
    60_000,
  );

  it('refuses a picture over the pixel limit before decoding it', async () => {
    const bytes = await picture(400, 300, 'png');
    await expect(idefics3Image(new Uint8Array(bytes), specFor(2048, true), 100_000)).rejects.toMatchObject({
      code: 'payload_too_large',
    });
  });
});
