import { ErrorCode, VmmError } from '@vmm/errors';
import { idefics3Image, type TiledImage } from '@vmm/vision';
import {
  type PlacedImage,
  prepareRequest,
  type PreparedRequest,
  type TextModel,
} from '../prepare-request.js';
import { orderedImages } from './image-prompt.js';
import type { ChatRequest, GenerateRequest } from '../types.js';
import { imageHash, type ImageEncoder } from './image-encoder.js';
import type { ImageFeatures } from './image-features.js';
import { imageRows } from './image-prompt.js';

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
 * Validates and tokenizes a request (prepareRequest), its images first decoded and cut as the
 * model's processor does, then encoded (or taken from the encoder's cache). Limits are checked
 * before decoding; a text-only model refuses images.
 */
export async function prepareWithImages(
  model: VisionModel,
  request: GenerateRequest | ChatRequest,
  limits: ImageLimits,
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
  const images: { hash: string; tiled?: TiledImage; cached?: ImageFeatures; placed: PlacedImage }[] = [];
  for (const bytes of sources) {
    if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) {
      throw new VmmError(ErrorCode.InvalidArgument, 'an image is empty', { field: 'images' });
    }
    const hash = imageHash(bytes);
    const cached = encoder.cached(hash, hiddenSize);
    if (cached) {
      images.push({
        hash,
        cached: cached.features,
        placed: { grid: cached.grid, first: cached.features.first, count: cached.features.count },
      });
      continue;
    }
    const tiled = await idefics3Image(bytes, vision.image, limits.maxPixels);
    const count = imageRows(vision, tiled);
    images.push({ hash, tiled, placed: { grid: tiled, first: encoder.ids(hash, count), count } });
  }
  const prepared = prepareRequest(
    model,
    request,
    undefined,
    images.map((image) => image.placed),
  );
  const features: ImageFeatures[] = [];
  for (const image of images) {
    features.push(
      image.cached ?? (await encoder.features(image.hash, image.tiled as TiledImage, hiddenSize)),
    );
  }
  return { ...prepared, features };
}
