import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoImageProcessor, RawImage } from '@huggingface/transformers';
import { qwen2VlPreprocessorConfig } from '@vmm/model-fixtures';
import sharp from 'sharp';
import { qwen2VlImage, type Qwen2VlImageSpec, smartResize } from '../src/index.js';

/** A picture with detail everywhere (so every resize shows), as PNG or JPEG. */
async function picture(width: number, height: number, format: 'png' | 'jpeg'): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1)
    for (let x = 0; x < width; x += 1) {
      const i = (y * width + x) * 3;
      data[i] = (x * 5 + y * 3) % 256;
      data[i + 1] = ((x ^ y) * 7) % 256;
      data[i + 2] = Math.round(127.5 + 127.5 * Math.cos((x - 2 * y) / 7));
    }
  const image = sharp(data, { raw: { width, height, channels: 3 } });
  return format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: 90 }).toBuffer();
}

// Qwen2-VL-2B-Instruct's preprocessor_config.json.
const QWEN2_VL = qwen2VlPreprocessorConfig() as {
  min_pixels: number;
  max_pixels: number;
  image_mean: number[];
  image_std: number[];
};

describe('qwen2VlImage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmm-qwen2-vl-image-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    [640, 480, 'jpeg', QWEN2_VL.max_pixels],
    [300, 200, 'png', QWEN2_VL.max_pixels],
    [1000, 700, 'png', 200_704],
    [20, 90, 'png', QWEN2_VL.max_pixels],
    [448, 448, 'png', QWEN2_VL.max_pixels],
  ] as const)(
    'patches a %ix%i %s (max_pixels %i) as transformers.js does',
    async (width, height, format, maxPixels) => {
      const folder = join(dir, `${width}x${height}-${maxPixels}`);
      mkdirSync(folder);
      const config = { ...QWEN2_VL, max_pixels: maxPixels };
      writeFileSync(join(folder, 'preprocessor_config.json'), JSON.stringify(config));
      const bytes = await picture(width, height, format);
      const processor = await AutoImageProcessor.from_pretrained(folder, { local_files_only: true });
      const expected = (await processor(await RawImage.fromBlob(new Blob([bytes])))) as {
        pixel_values: { dims: number[]; data: Float32Array };
        image_grid_thw: { data: BigInt64Array };
      };
      const spec: Qwen2VlImageSpec = {
        minPixels: config.min_pixels,
        maxPixels: config.max_pixels,
        patchSize: 14,
        mergeSize: 2,
        temporalPatchSize: 2,
        resample: 3,
        rescale: 1 / 255,
        mean: config.image_mean,
        std: config.image_std,
      };
      const got = await qwen2VlImage(new Uint8Array(bytes), spec);
      expect(got.grid).toEqual([...expected.image_grid_thw.data].map(Number));
      expect([got.grid[1] * got.grid[2], got.patchValues]).toEqual(expected.pixel_values.dims);
      let worst = 0;
      const want = expected.pixel_values.data;
      for (let i = 0; i < want.length; i += 1)
        worst = Math.max(worst, Math.abs((got.pixels[i] as number) - (want[i] as number)));
      expect(worst).toBeLessThan(1e-5);
    },
    60_000,
  );

  it('keeps the pixel count within its bounds and refuses a sliver', () => {
    const [w, h] = smartResize(4000, 3000, 28, 3136, 200_704);
    expect(w * h).toBeLessThanOrEqual(200_704);
    expect([w % 28, h % 28]).toEqual([0, 0]);
    expect(() => smartResize(10, 3000, 28, 3136, 200_704)).toThrow(/factor of 200/);
  });
});
