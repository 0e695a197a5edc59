import { ErrorCode, VmmError } from '@vmm/errors';
import sharp from 'sharp';
import type { Planes } from './resize-planes.js';

// The steps Hugging Face image processors share, as transformers.js computes them in Node.

/** RGB bytes resized as PIL (by way of sharp, as transformers.js does) would. */
export async function resizeRgb(
  data: Buffer,
  width: number,
  height: number,
  to: [number, number],
  resample: number,
): Promise<Buffer> {
  const raw = sharp(data, { raw: { width, height, channels: 3 } });
  const [w, h] = to;
  const resized =
    resample === 1
      ? raw.resize({ width: w, height: h, fit: 'fill', kernel: 'lanczos3' })
      : raw.affine([w / width, 0, 0, h / height], {
          interpolator: resample === 0 ? 'nearest' : resample === 3 ? 'bicubic' : 'bilinear',
        });
  const { data: out, info } = await resized.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== w || info.height !== h || info.channels !== 3) {
    throw new VmmError(ErrorCode.Internal, `resizing gave ${info.width}×${info.height}×${info.channels}`);
  }
  return out;
}

/** HWC bytes → CHW floats, each (v · rescale − mean) / std rounded to float32 at each step. */
export function normalise(
  data: Buffer,
  width: number,
  height: number,
  rescale: number,
  mean: readonly number[],
  std: readonly number[],
): Planes {
  const tables = [0, 1, 2].map((c) =>
    Float32Array.from({ length: 256 }, (_, v) => (Math.fround(v * rescale) - (mean[c] ?? 0)) / (std[c] ?? 1)),
  );
  const pixels = width * height;
  const out = new Float32Array(3 * pixels);
  const [red, green, blue] = tables as [Float32Array, Float32Array, Float32Array];
  const [g, b] = [pixels, 2 * pixels];
  for (let i = 0, j = 0; i < pixels; i += 1, j += 3) {
    out[i] = red[data[j] as number] as number;
    out[g + i] = green[data[j + 1] as number] as number;
    out[b + i] = blue[data[j + 2] as number] as number;
  }
  return { data: out, channels: 3, height, width };
}
