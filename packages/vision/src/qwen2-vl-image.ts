import { ErrorCode, VmmError } from '@vmm/errors';
import { DEFAULT_MAX_PIXELS, decodeRgb, probeImage } from './image-input.js';
import { normalise, resizeRgb } from './processor-steps.js';

/**
 * A Qwen2-VL / Qwen2.5-VL image processor, as its preprocessor_config.json says: each side
 * rounded to whole merged patches (`patchSize × mergeSize`) with the pixel count kept within
 * [minPixels, maxPixels] (smart_resize), rescale and normalise, then cut into patches of
 * `patchSize`² × `temporalPatchSize` frames (a still image is repeated in time).
 */
export interface Qwen2VlImageSpec {
  minPixels: number;
  maxPixels: number;
  patchSize: number;
  mergeSize: number;
  temporalPatchSize: number;
  /** PIL's resample code: 3 (bicubic) in Qwen's configs. */
  resample: number;
  rescale: number;
  mean: readonly number[];
  std: readonly number[];
}

/** One image as Qwen2-VL's vision encoder takes it. */
export interface PatchedImage {
  /** [patches, 3 × temporalPatchSize × patchSize²], in the encoder's order (merge blocks together). */
  pixels: Float32Array;
  /** Patches in time, height and width (grid_thw). */
  grid: [number, number, number];
  /** The row width: 3 × temporalPatchSize × patchSize². */
  patchValues: number;
}

/** transformers.js's smart_resize: [width, height] in whole `factor`s, the pixel count bounded. */
export function smartResize(
  height: number,
  width: number,
  factor: number,
  minPixels: number,
  maxPixels: number,
): [number, number] {
  let h = height;
  let w = width;
  if (h < factor || w < factor) {
    const scale = Math.max(factor / h, factor / w);
    h = Math.round(h * scale);
    w = Math.round(w * scale);
  }
  if (Math.max(h, w) / Math.min(h, w) > 200) {
    throw new VmmError(
      ErrorCode.InvalidArgument,
      `the image is ${width}×${height}: its sides may differ by a factor of 200 at most`,
      { field: 'image' },
    );
  }
  let hBar = Math.round(h / factor) * factor;
  let wBar = Math.round(w / factor) * factor;
  if (hBar * wBar > maxPixels) {
    const beta = Math.sqrt((h * w) / maxPixels);
    hBar = Math.max(factor, Math.floor(h / beta / factor) * factor);
    wBar = Math.max(factor, Math.floor(w / beta / factor) * factor);
  } else if (hBar * wBar < minPixels) {
    const beta = Math.sqrt(minPixels / (h * w));
    hBar = Math.ceil((h * beta) / factor) * factor;
    wBar = Math.ceil((w * beta) / factor) * factor;
  }
  return [wBar, hBar];
}

/**
 * Decodes and prepares one image as transformers.js's Qwen2VLImageProcessor does, value for
 * value: the resize on the decoded RGB through sharp (bicubic by default), then the patches in
 * the order the encoder reads them — each 2×2 block of patches that the merger joins together.
 */
export async function qwen2VlImage(
  bytes: Uint8Array,
  spec: Qwen2VlImageSpec,
  maxPixels = DEFAULT_MAX_PIXELS,
): Promise<PatchedImage> {
  await probeImage(bytes, maxPixels);
  const decoded = await decodeRgb(bytes, maxPixels);
  const { patchSize: p, mergeSize: m, temporalPatchSize: frames } = spec;
  const [width, height] = smartResize(decoded.height, decoded.width, p * m, spec.minPixels, spec.maxPixels);
  const data =
    width === decoded.width && height === decoded.height
      ? decoded.data
      : await resizeRgb(decoded.data, decoded.width, decoded.height, [width, height], spec.resample);
  const planes = normalise(data, width, height, spec.rescale, spec.mean, spec.std).data;
  const gridH = height / p;
  const gridW = width / p;
  const patchValues = 3 * frames * p * p;
  const pixels = new Float32Array(gridH * gridW * patchValues);
  const plane = width * height;
  // view (t, T, C, gh/m, m, p, gw/m, m, p) → permute (t, gh/m, gw/m, m, m, C, T, p, p).
  let row = 0;
  for (let bh = 0; bh < gridH / m; bh += 1)
    for (let bw = 0; bw < gridW / m; bw += 1)
      for (let mh = 0; mh < m; mh += 1)
        for (let mw = 0; mw < m; mw += 1) {
          const top = (bh * m + mh) * p;
          const left = (bw * m + mw) * p;
          let at = row * patchValues;
          for (let c = 0; c < 3; c += 1)
            for (let t = 0; t < frames; t += 1)
              for (let y = 0; y < p; y += 1) {
                const from = c * plane + (top + y) * width + left;
                pixels.set(planes.subarray(from, from + p), at);
                at += p;
              }
          row += 1;
        }
  return { pixels, grid: [1, gridH, gridW], patchValues };
}
