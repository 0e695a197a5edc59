import { ErrorCode, VmmError } from '@vmm/errors';
import { halfToFloat, type TensorData } from '@vmm/runtime';
import sharp from 'sharp';
import { decodeRgb, type ImageInfo } from './image-input.js';
import { encodeRle } from './segmentation-output.js';
import type { BackgroundResult, MatteOutput } from './types.js';

const OUTPUTS: readonly MatteOutput[] = ['cutout', 'mask', 'rle', 'alpha'];

export function resolveMatteOutput(value: unknown): MatteOutput {
  if (value === undefined) return 'cutout';
  if (!(OUTPUTS as readonly unknown[]).includes(value)) {
    throw new VmmError(
      ErrorCode.InvalidArgument,
      `output must be one of ${OUTPUTS.join(', ')}, got ${String(value)}`,
      { field: 'output' },
    );
  }
  return value as MatteOutput;
}

/**
 * One image's matte from a matting model's output ([batch, 1, height, width] or [batch, height,
 * width], float32 or float16), as alpha bytes at the image's own size: through a sigmoid where
 * the model gives logits (told, or seen from values outside [0, 1]), then stretched back over the
 * whole image as it was stretched over the input.
 */
export async function readMatte(
  output: TensorData,
  row: number,
  sigmoid: boolean | undefined,
  info: ImageInfo,
): Promise<Uint8Array> {
  const dims = output.dims;
  const height = dims.at(-2) ?? 0;
  const width = dims.at(-1) ?? 0;
  const plane = width * height;
  if ((dims.length !== 4 && dims.length !== 3) || plane === 0) {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `the matte has shape [${dims.join(', ')}]; expected [batch, 1, height, width]`,
    );
  }
  const from = row * plane;
  const values =
    output.type === 'float16'
      ? halfToFloat((output.data as Uint16Array).subarray(from, from + plane))
      : (output.data as Float32Array).subarray(from, from + plane);
  const logits = sigmoid ?? values.some((value) => value < 0 || value > 1);
  const alpha = new Uint8Array(plane);
  for (let i = 0; i < plane; i += 1) {
    const value = logits ? 1 / (1 + Math.exp(-(values[i] as number))) : (values[i] as number);
    alpha[i] = Math.round(Math.min(Math.max(value, 0), 1) * 255);
  }
  if (width === info.width && height === info.height) return alpha;
  // One channel out as in: sharp would otherwise hand back sRGB.
  const resized = await sharp(alpha, { raw: { width, height, channels: 1 } })
    .resize(info.width, info.height, { fit: 'fill', kernel: 'linear' })
    .extractChannel(0)
    .raw()
    .toBuffer();
  return new Uint8Array(resized.buffer, resized.byteOffset, resized.byteLength);
}

/** The matte as the caller asked for it (see MatteOutput). */
export async function encodeMatte(
  alpha: Uint8Array,
  info: ImageInfo,
  output: MatteOutput,
  source: Uint8Array,
  maxPixels: number,
): Promise<Omit<BackgroundResult, 'timings'>> {
  const { width, height } = info;
  let foreground = 0;
  for (const value of alpha) if (value >= 128) foreground += 1;
  const answer = { foreground: foreground / (width * height), imageSize: { width, height } };
  const grey = { raw: { width, height, channels: 1 as const } };
  switch (output) {
    case 'alpha':
      return { ...answer, alpha };
    case 'mask':
      return {
        ...answer,
        png: new Uint8Array(await sharp(alpha, grey).toColourspace('b-w').png().toBuffer()),
      };
    case 'rle': {
      const bits = Uint8Array.from(alpha, (value) => (value >= 128 ? 1 : 0));
      return {
        ...answer,
        mask: encodeRle({ left: 0, top: 0, width, height, bits, area: foreground }, { width, height }),
      };
    }
    case 'cutout': {
      const rgb = await decodeRgb(source, maxPixels);
      const png = await sharp(rgb.data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
        .joinChannel(Buffer.from(alpha.buffer, alpha.byteOffset, alpha.byteLength), grey)
        .png()
        .toBuffer();
      return { ...answer, png: new Uint8Array(png) };
    }
  }
}
