import { ErrorCode, VmmError } from '@vmm/errors';
import { readFolderJson, visionLanguageModelTypes } from '@vmm/runtime';
import type { Idefics3ImageSpec } from '@vmm/vision';

/**
 * How a vision-language model takes images, from its config.json, preprocessor_config.json and
 * processor_config.json: the image processor, and how one image is written into the prompt.
 * `idefics3`: Idefics3 and SmolVLM — each tile is `<fake_token_around_image><row_r_col_c>`
 * followed by image_seq_len `<image>` tokens, then the whole image after `<global-img>`.
 */
export interface VisionLanguageSpec {
  kind: 'idefics3';
  image: Idefics3ImageSpec;
  /** Feature rows per tile. */
  imageSeqLen: number;
  /** The id whose places image features take. */
  imageTokenId: number;
  /** What a chat template writes where an image goes, and the processor expands. */
  imageToken: string;
  fakeToken: string;
  globalToken: string;
}

type Json = Record<string, unknown>;

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;
const object = (value: unknown): Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
const triple = (value: unknown, fallback: number): number[] =>
  Array.isArray(value) && value.length === 3 && value.every((v) => typeof v === 'number')
    ? (value as number[])
    : num(value) !== undefined
      ? [value as number, value as number, value as number]
      : [fallback, fallback, fallback];

function invalid(message: string): VmmError {
  return new VmmError(ErrorCode.FailedPrecondition, message);
}

/** The folder's vision-language spec; undefined for a text-only model. */
export function readVisionLanguageSpec(dir: string): VisionLanguageSpec | undefined {
  const config = readFolderJson(dir, 'config.json') ?? {};
  const type = typeof config.model_type === 'string' ? config.model_type : '';
  if (!visionLanguageModelTypes.has(type)) return undefined;
  const pre = readFolderJson(dir, 'preprocessor_config.json');
  if (!pre) throw invalid(`a ${type} model needs preprocessor_config.json`);
  const processor = readFolderJson(dir, 'processor_config.json') ?? {};
  const vision = object(config.vision_config);
  const imageTokenId = num(config.image_token_id) ?? num(config.image_token_index);
  if (imageTokenId === undefined) throw invalid('config.json names no image_token_id');
  const tileSize = num(object(pre.max_image_size).longest_edge) ?? num(vision.image_size);
  if (tileSize === undefined || !Number.isInteger(tileSize) || tileSize <= 0)
    throw invalid('preprocessor_config.json names no max_image_size.longest_edge');
  const patch = num(vision.patch_size) ?? 16;
  const scale = num(config.scale_factor) ?? 1;
  const imageSeqLen = num(processor.image_seq_len) ?? (tileSize / patch) ** 2 / scale ** 2;
  if (!Number.isInteger(imageSeqLen) || imageSeqLen <= 0)
    throw invalid(`image_seq_len ${imageSeqLen} is not a whole number of tokens`);
  const longestEdge = pre.do_resize === false ? undefined : num(object(pre.size).longest_edge);
  return {
    kind: 'idefics3',
    image: {
      longestEdge,
      tileSize,
      split: pre.do_image_splitting !== false,
      resample: num(pre.resample) ?? 1,
      rescale: pre.do_rescale === false ? 1 : (num(pre.rescale_factor) ?? 1 / 255),
      mean: pre.do_normalize === false ? [0, 0, 0] : triple(pre.image_mean, 0.5),
      std: pre.do_normalize === false ? [1, 1, 1] : triple(pre.image_std, 0.5),
    },
    imageSeqLen,
    imageTokenId,
    imageToken: '<image>',
    fakeToken: '<fake_token_around_image>',
    globalToken: '<global-img>',
  };
}
