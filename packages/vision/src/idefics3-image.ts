import { DEFAULT_MAX_PIXELS, decodeRgb, probeImage } from './image-input.js';
import { normalise, resizeRgb } from './processor-steps.js';
import { cropPlanes, resizePlanes } from './resize-planes.js';

/**
 * An Idefics3 / SmolVLM image processor, as its preprocessor_config.json says: resize so the long
 * side is `longestEdge`, rescale and normalise, then cut into `tileSize` squares plus the whole
 * image at tile size (or only the whole image when `split` is off).
 */
export interface Idefics3ImageSpec {
  /** `size.longest_edge` when `do_resize`; undefined: the image keeps its size. */
  longestEdge: number | undefined;
  /** `max_image_size.longest_edge`: the vision encoder's input side. */
  tileSize: number;
  split: boolean;
  /** PIL's resample code: 0 nearest, 1 Lanczos, 2 bilinear, 3 bicubic. */
  resample: number;
  rescale: number;
  mean: readonly number[];
  std: readonly number[];
}

/** One image ready for the vision encoder. */
export interface TiledImage {
  /** [tiles, 3, tileSize, tileSize]: the tiles row by row, then the whole image. */
  pixels: Float32Array;
  tiles: number;
  /** Tile rows and columns; 0 and 0 when the image is one tile (no split). */
  rows: number;
  cols: number;
  tileSize: number;
}

/**
 * The size `longest_edge` gives, as transformers.js computes it (rounded to two decimals, then
 * floored): images are scaled up as well as down.
 */
function longestEdgeSize(width: number, height: number, edge: number): [number, number] {
  const factor = Math.min(edge / width, edge / height);
  return [Math.floor(Number((width * factor).toFixed(2))), Math.floor(Number((height * factor).toFixed(2)))];
}

/** Each side up to whole tiles, keeping the aspect ratio (Idefics3's resize_for_vision_encoder). */
function tiledSize(width: number, height: number, tile: number): [number, number] {
  const aspect = width / height;
  if (width >= height) {
    const w = Math.ceil(width / tile) * tile;
    return [w, Math.ceil(Math.floor(w / aspect) / tile) * tile];
  }
  const h = Math.ceil(height / tile) * tile;
  return [Math.ceil(Math.floor(h * aspect) / tile) * tile, h];
}

/**
 * Decodes and prepares one image as transformers.js's Idefics3ImageProcessor does, value for
 * value up to float rounding: the first resize on the decoded RGB bytes (Lanczos by default), the
 * later ones bilinear on the normalised planes (ONNX Resize's half_pixel). The pixel limit is
 * checked on the header before anything is decoded.
 */
export async function idefics3Image(
  bytes: Uint8Array,
  spec: Idefics3ImageSpec,
  maxPixels = DEFAULT_MAX_PIXELS,
): Promise<TiledImage> {
  await probeImage(bytes, maxPixels);
  const decoded = await decodeRgb(bytes, maxPixels);
  let { data } = decoded;
  let { width, height } = decoded;
  if (spec.longestEdge !== undefined) {
    const [w, h] = longestEdgeSize(width, height, spec.longestEdge);
    if (w !== width || h !== height) {
      data = await resizeRgb(data, width, height, [w, h], spec.resample);
      width = w;
      height = h;
    }
  }
  let planes = normalise(data, width, height, spec.rescale, spec.mean, spec.std);
  const tile = spec.tileSize;
  const size = tile * tile * 3;
  if (!spec.split) {
    return { pixels: resizePlanes(planes, tile, tile).data, tiles: 1, rows: 0, cols: 0, tileSize: tile };
  }
  const [w, h] = tiledSize(width, height, tile);
  planes = resizePlanes(planes, h, w);
  if (h <= tile && w <= tile) return { pixels: planes.data, tiles: 1, rows: 0, cols: 0, tileSize: tile };
  const rows = Math.ceil(h / tile);
  const cols = Math.ceil(w / tile);
  const pixels = new Float32Array((rows * cols + 1) * size);
  for (let r = 0; r < rows; r += 1) {
    for (let c = 0; c < cols; c += 1) {
      pixels.set(cropPlanes(planes, r * tile, c * tile, tile, tile), (r * cols + c) * size);
    }
  }
  pixels.set(resizePlanes(planes, tile, tile).data, rows * cols * size);
  return { pixels, tiles: rows * cols + 1, rows, cols, tileSize: tile };
}
