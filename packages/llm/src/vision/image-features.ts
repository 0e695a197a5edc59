/**
 * Prompt ids from this value up stand for rows of image features, not tokens. An image's rows get
 * ids from its content hash (ImageEncoder.encode), so two prompts with the same picture at the same place
 * share a prefix and the scheduler's prefix reuse covers images without knowing of them.
 */
export const IMAGE_ID_BASE = 2 ** 40;

export const isImageId = (id: number): boolean => id >= IMAGE_ID_BASE;

/** An encoded image: `count` rows of `hidden` floats, fed at the prompt ids first … first + count - 1. */
export interface ImageFeatures {
  first: number;
  count: number;
  hidden: number;
  data: Float32Array;
}

/** The feature row an image id stands for, from the features a sequence carries. */
export function featureRow(features: readonly ImageFeatures[], id: number): Float32Array | undefined {
  for (const image of features) {
    const row = id - image.first;
    if (row >= 0 && row < image.count)
      return image.data.subarray(row * image.hidden, (row + 1) * image.hidden);
  }
  return undefined;
}
