import { ErrorCode, VmmError } from '@vmm/errors';
import { readFolderJson, visionLanguageModelTypes } from '@vmm/runtime';
import type { Idefics3ImageSpec, Qwen2VlImageSpec } from '@vmm/vision';

/**
 * How a vision-language model takes images, from its config.json, preprocessor_config.json and
 * processor_config.json: the image processor, and how one image is written into the prompt.
 * - `idefics3`: Idefics3 and SmolVLM — each tile is `<fake_token_around_image><row_r_col_c>`
 *   followed by image_seq_len `<image>` tokens, then the whole image after `<global-img>`.
 * - `qwen2-vl`: Qwen2-VL and Qwen2.5-VL — the template writes one `<|image_pad|>` between
 *   `<|vision_start|>` and `<|vision_end|>`, repeated once per merged patch; positions are
 *   multimodal (time, height, width).
 */
export type VisionLanguageSpec = Idefics3Spec | Qwen2VlSpec;

interface SpecBase {
  /** The id whose places image features take. */
  imageTokenId: number;
  /** What a chat template writes where an image goes, and the processor expands. */
  imageToken: string;
}

export interface Idefics3Spec extends SpecBase {
  kind: 'idefics3';
  image: Idefics3ImageSpec;
  /** Feature rows per tile. */
  imageSeqLen: number;
  fakeToken: string;
  globalToken: string;
}

export interface Qwen2VlSpec extends SpecBase {
  kind: 'qwen2-vl';
  image: Qwen2VlImageSpec;
  /** The token before each picture's pads: where multimodal positions look for pictures. */
  visionStartId: number;
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
  return type.startsWith('qwen2') ? qwen2VlSpec(config, pre) : idefics3Spec(dir, config, pre);
}

function normalisation(pre: Json): { rescale: number; mean: number[]; std: number[] } {
  return {
    rescale: pre.do_rescale === false ? 1 : (num(pre.rescale_factor) ?? 1 / 255),
    mean: pre.do_normalize === false ? [0, 0, 0] : triple(pre.image_mean, 0.5),
    std: pre.do_normalize === false ? [1, 1, 1] : triple(pre.image_std, 0.5),
  };
}

function qwen2VlSpec(config: Json, pre: Json): Qwen2VlSpec {
  const vision = object(config.vision_config);
  const imageTokenId = num(config.image_token_id);
  const visionStartId = num(config.vision_start_token_id);
  if (imageTokenId === undefined || visionStartId === undefined)
    throw invalid('config.json names no image_token_id or vision_start_token_id');
  const size = object(pre.size);
  const patchSize = num(pre.patch_size) ?? num(vision.patch_size) ?? 14;
  const mergeSize = num(pre.merge_size) ?? num(vision.spatial_merge_size) ?? 2;
  return {
    kind: 'qwen2-vl',
    image: {
      minPixels: num(pre.min_pixels) ?? num(size.shortest_edge) ?? 56 * 56,
      maxPixels: num(pre.max_pixels) ?? num(size.longest_edge) ?? 28 * 28 * 1280,
      patchSize,
      mergeSize,
      temporalPatchSize: num(pre.temporal_patch_size) ?? num(vision.temporal_patch_size) ?? 2,
      resample: num(pre.resample) ?? 3,
      ...normalisation(pre),
    },
    imageTokenId,
    imageToken: '<|image_pad|>',
    visionStartId,
  };
}

function idefics3Spec(dir: string, config: Json, pre: Json): Idefics3Spec {
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
      ...normalisation(pre),
    },
    imageSeqLen,
    imageTokenId,
    imageToken: '<image>',
    fakeToken: '<fake_token_around_image>',
    globalToken: '<global-img>',
  };
}
