import { ErrorCode, VmmError } from '@vmm/errors';
import type { OneAtATime } from '@vmm/vision';
import {
  type PlacedImage,
  prepareRequest,
  type PreparedRequest,
  type TextModel,
} from '../prepare-request.js';
import type { ChatRequest, GenerateRequest } from '../types.js';
import { imageHash, type ImageEncoder } from './image-encoder.js';
import { IMAGE_ID_BASE, type ImageFeatures } from './image-features.js';
import { imageRows, orderedImages } from './image-prompt.js';
import { preparePicture, smallestGrid } from './prepare-picture.js';

/** Bounds on what one request may ask of the vision encoder, checked before any pixel is decoded. */
export interface ImageLimits {
  /** Images in one request, across its messages. */
  maxImages: number;
  /** Pixels of one image (width × height, from its header). */
  maxPixels: number;
}

export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = { maxImages: 8, maxPixels: 40_000_000 };

/** A vision-language model as preparing a request needs it. */
export interface VisionModel extends TextModel {
  encoder?: ImageEncoder;
  /**
   * Requests' new pictures are decoded and encoded one request at a time, in arrival order: eight
   * requests encoding at once would each take the cores from the others and all start late; one
   * after another, the first starts decoding while the next encodes.
   */
  imageQueue?: OneAtATime;
  /** The decoder's width: the features' row size. */
  hiddenSize?: number;
}

/** A request's images in prompt order: message by message, each message's in their text order. */
export function requestImages(request: GenerateRequest | ChatRequest): Uint8Array[] {
  if ('messages' in request) {
    return (Array.isArray(request.messages) ? request.messages : []).flatMap((message) =>
      orderedImages(message).map((image) => image.data),
    );
  }
  return request.images ?? [];
}

/**
 * Validates and tokenizes a request (prepareRequest), its images decoded and cut as the model's
 * processor does and encoded (or taken from the encoder's cache). Limits, and the rest of the
 * request, are checked before any picture is decoded; a text-only model refuses images.
 */
export async function prepareWithImages(
  model: VisionModel,
  request: GenerateRequest | ChatRequest,
  limits: ImageLimits,
  signal?: AbortSignal,
): Promise<PreparedRequest> {
  const sources = requestImages(request);
  const { vision, encoder, hiddenSize } = model;
  if (!vision || !encoder || hiddenSize === undefined) {
    if (sources.length > 0) {
      throw new VmmError(
        ErrorCode.InvalidArgument,
        'this model does not read images; send text only, or use a vision-language model',
        {
          field: 'images',
        },
      );
    }
    return prepareRequest(model, request);
  }
  if (sources.length > limits.maxImages) {
    throw new VmmError(
      ErrorCode.InvalidArgument,
      `${sources.length} images in one request; at most ${limits.maxImages} are read`,
      { field: 'images' },
    );
  }
  for (const bytes of sources) {
    if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) {
      throw new VmmError(ErrorCode.InvalidArgument, 'an image is empty', { field: 'images' });
    }
  }
  // Everything but the pictures is checked before any is decoded: a dry run with each picture as
  // one tile (the fewest rows it can take) refuses a bad request before the work.
  prepareRequest(
    model,
    request,
    undefined,
    sources.map(() => ({
      grid: smallestGrid(vision),
      first: IMAGE_ID_BASE,
      count: imageRows(vision, smallestGrid(vision)),
    })),
  );
  const hashes = sources.map(imageHash);
  const work = async () => {
    if (signal?.aborted)
      throw new VmmError(ErrorCode.Cancelled, 'the request was cancelled before its images were read');
    // Each picture is decoded and encoded before the next is decoded: one picture's pixels (tens
    // of MB for a tiled one) are held at a time. A picture sent twice is encoded once.
    const features: ImageFeatures[] = [];
    const placed: PlacedImage[] = [];
    for (const [i, bytes] of sources.entries()) {
      const hash = hashes[i] as string;
      const cached = encoder.cached(hash, hiddenSize);
      if (cached) {
        features.push(cached.features);
        placed.push({ grid: cached.grid, first: cached.features.first, count: cached.features.count });
        continue;
      }
      const picture = await preparePicture(vision, bytes, limits.maxPixels);
      const count = imageRows(vision, picture.grid);
      const first = encoder.ids(hash, count);
      features.push(await encoder.features(hash, picture, hiddenSize));
      placed.push({ grid: picture.grid, first, count });
    }
    const prepared = prepareRequest(model, request, undefined, placed);
    return { prepared, features };
  };
  // Pictures all cached: nothing to wait for behind others' encoding.
  const allCached = hashes.every((hash) => encoder.cached(hash, hiddenSize) !== undefined);
  const { prepared, features } =
    allCached || !model.imageQueue ? await work() : await model.imageQueue.run(work);
  return { ...prepared, features };
}
