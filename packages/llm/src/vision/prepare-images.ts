import { ErrorCode, VmmError } from '@vmm/errors';
import { prepareRequest, type PreparedRequest, type TextModel } from '../prepare-request.js';
import type { ChatRequest, GenerateRequest } from '../types.js';
import { type CachedPicture, imageHash, type ImageEncoder } from './image-encoder.js';
import { IMAGE_ID_BASE } from './image-features.js';
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

/** A vision-language model as preparing a request needs it: its spec and its vision encoder. */
export interface VisionModel extends TextModel {
  encoder?: ImageEncoder;
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
  const { vision, encoder } = model;
  if (!vision || !encoder) {
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
    const pictures: CachedPicture[] = [];
    for (const [i, bytes] of sources.entries()) {
      const hash = hashes[i] as string;
      const cached = encoder.cached(hash);
      if (cached) {
        pictures.push(cached);
        continue;
      }
      const picture = await preparePicture(vision, bytes, limits.maxPixels);
      const features = await encoder.encode(hash, picture, imageRows(vision, picture.grid));
      pictures.push({ grid: picture.grid, features });
    }
    const placed = pictures.map(({ grid, features: { first, count } }) => ({ grid, first, count }));
    const prepared = prepareRequest(model, request, undefined, placed);
    return { prepared, features: pictures.map((picture) => picture.features) };
  };
  // Pictures all cached: nothing to wait for behind others' encoding.
  const { prepared, features } = hashes.every((hash) => encoder.cached(hash) !== undefined)
    ? await work()
    : await encoder.exclusive(work);
  return { ...prepared, features };
}
