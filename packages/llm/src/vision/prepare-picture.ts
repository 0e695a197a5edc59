import type { TensorData } from '@vmm/runtime';
import { idefics3Image, qwen2VlImage } from '@vmm/vision';
import type { ImageGrid } from './image-prompt.js';
import type { VisionLanguageSpec } from './vision-language-spec.js';

/** A picture ready for the vision encoder: how it was cut, and the encoder's inputs. */
export interface PreparedPicture {
  grid: ImageGrid;
  feeds: Record<string, TensorData>;
}

/** Decodes and prepares a picture as the model's processor does (pixel limit checked first). */
export async function preparePicture(
  spec: VisionLanguageSpec,
  bytes: Uint8Array,
  maxPixels: number,
): Promise<PreparedPicture> {
  if (spec.kind === 'qwen2-vl') {
    const patched = await qwen2VlImage(bytes, spec.image, maxPixels);
    const [t, h, w] = patched.grid;
    return {
      grid: { thw: patched.grid },
      feeds: {
        pixel_values: { type: 'float32', dims: [t * h * w, patched.patchValues], data: patched.pixels },
        grid_thw: { type: 'int64', dims: [1, 3], data: BigInt64Array.from(patched.grid.map(BigInt)) },
      },
    };
  }
  const tiled = await idefics3Image(bytes, spec.image, maxPixels);
  const side = tiled.tileSize;
  return {
    grid: { rows: tiled.rows, cols: tiled.cols },
    feeds: {
      pixel_values: { type: 'float32', dims: [1, tiled.tiles, 3, side, side], data: tiled.pixels },
      pixel_attention_mask: {
        type: 'bool',
        dims: [1, tiled.tiles, side, side],
        data: new Uint8Array(tiled.tiles * side * side).fill(1),
      },
    },
  };
}

/** The grid of the smallest picture the processor makes: a request is checked with it before any picture is decoded. */
export function smallestGrid(spec: VisionLanguageSpec): ImageGrid {
  const m = spec.kind === 'qwen2-vl' ? spec.image.mergeSize : 0;
  return spec.kind === 'qwen2-vl' ? { thw: [1, m, m] } : { rows: 0, cols: 0 };
}
