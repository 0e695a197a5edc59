import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FamilyShape, familyPresets, validateFamilyShape } from '../family/family-shape.js';
import { corpus } from '../tokenizer/corpus.js';
import { addedToken, tokenizerJson } from '../tokenizer/tokenizer-files.js';
import { SPECIAL_TOKENS, trainBpe } from '../tokenizer/train-bpe.js';
import { writeVlmGraphs } from './write-vlm-graphs.js';
import { addIdefics3VisionEncoder, type Idefics3VisionShape, imageSeqLen } from './idefics3-vision-graph.js';

/**
 * Vision-language layouts as onnx-community publishes them for transformers.js's
 * `image-text-to-text`: `onnx/vision_encoder.onnx`, `onnx/embed_tokens.onnx` and
 * `onnx/decoder_model_merged.onnx` (inputs_embeds and a KV cache), beside the checkpoint's
 * config, processor and tokenizer files.
 * - `idefics3`: SmolVLM-256M/500M-Instruct and Idefics3 (config model_type `idefics3`).
 * - `smolvlm`: SmolVLM2 (model_type `smolvlm`): the same graphs and processor.
 */
export type VlmLayout = 'idefics3' | 'smolvlm';

export interface VlmProcessorShape {
  /** `size.longest_edge`: the image is resized (up or down) to this longest side first. */
  longestEdge: number;
  /** Whether images larger than a tile are split into tiles plus a global view. */
  splitImages: boolean;
}

export interface VlmFolderOptions {
  layout: VlmLayout;
  seed?: number;
  /** Changes to the text model's shape (a Llama decoder, as SmolLM2 is). */
  text?: Partial<Omit<FamilyShape, 'family' | 'vocabSize'>>;
  /** Changes to the vision tower's shape. */
  vision?: Partial<Omit<Idefics3VisionShape, 'textHiddenSize'>>;
  processor?: Partial<VlmProcessorShape>;
}

export interface VlmFolder {
  dir: string;
  files: string[];
  text: FamilyShape;
  vision: Idefics3VisionShape;
  processor: VlmProcessorShape;
  imageTokenId: number;
  eosTokenIds: number[];
}

/**
 * The text model: a Llama decoder as SmolLM2 is, smaller (rope base 100000, no rope scaling);
 * vocabulary: the fixtures' BPE plus SmolVLM's added tokens. Its head is not tied (SmolLM2's
 * is): with random weights a tied head repeats the token it was fed, whatever the image, and
 * four layers let what the picture holds change what is written.
 */
const TEXT_SHAPE: Omit<FamilyShape, 'vocabSize'> = {
  ...familyPresets.llama3,
  hiddenSize: 64,
  intermediateSize: 160,
  numLayers: 4,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 16,
  maxPositions: 8192,
  ropeTheta: 100000,
  rmsNormEps: 1e-5,
  tieWordEmbeddings: false,
  ropeScaling: undefined,
};

/** SigLIP-base-patch16-512's tiling and SmolVLM's 4× shuffle (64 tokens a tile), narrower and shallower. */
const VISION_SHAPE: Omit<Idefics3VisionShape, 'textHiddenSize'> = {
  imageSize: 512,
  patchSize: 16,
  hiddenSize: 32,
  intermediateSize: 64,
  numLayers: 1,
  numHeads: 2,
  layerNormEps: 1e-6,
  scaleFactor: 4,
};

/** SmolVLM-256M-Instruct's: images to 2048 on their long side, then 512-pixel tiles. */
const PROCESSOR_SHAPE: VlmProcessorShape = { longestEdge: 2048, splitImages: true };

/** The tokens SmolVLM adds to SmolLM2's vocabulary, in its order. */
const ROW_COL_TOKENS = Array.from(
  { length: 36 },
  (_, i) => `<row_${Math.floor(i / 6) + 1}_col_${(i % 6) + 1}>`,
);
const VLM_TOKENS = [
  '<|im_start|>',
  '<|im_end|>',
  '<global-img>',
  ...ROW_COL_TOKENS,
  '<fake_token_around_image>',
  '<image>',
  '<end_of_utterance>',
];

/** SmolVLM-256M-Instruct's chat template, verbatim: content is a list of text and image parts. */
export const SMOLVLM_CHAT_TEMPLATE =
  "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

const BPE_SIZE = 512;

/** Writes a vision-language model folder in `layout`, random weights from `seed`. */
export function writeVlmFolder(dir: string, options: VlmFolderOptions): VlmFolder {
  const seed = options.seed ?? 0;
  const bpe = trainBpe(corpus, BPE_SIZE);
  const ids = new Map(VLM_TOKENS.map((token, i) => [token, bpe.tokens.length + i]));
  const idOf = (token: string) => ids.get(token) as number;
  const text: FamilyShape = {
    ...TEXT_SHAPE,
    ...options.text,
    family: 'llama3',
    vocabSize: bpe.tokens.length + VLM_TOKENS.length,
  };
  validateFamilyShape(text);
  const vision: Idefics3VisionShape = { ...VISION_SHAPE, ...options.vision, textHiddenSize: text.hiddenSize };
  const side = vision.imageSize / vision.patchSize;
  if (!Number.isInteger(side) || side % vision.scaleFactor !== 0 || vision.hiddenSize % vision.numHeads !== 0)
    throw new RangeError(
      'the tile must be whole patches, a multiple of the scale factor a side, and heads must divide the width',
    );
  const processor: VlmProcessorShape = { ...PROCESSOR_SHAPE, ...options.processor };

  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const files: string[] = [];
  const writeJson = (name: string, value: object) => {
    writeFileSync(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
    files.push(join(dir, name));
  };
  const bos = idOf('<|im_start|>');
  const eos = idOf('<end_of_utterance>');
  const pad = idOf('<|im_end|>');
  const imageTokenId = idOf('<image>');
  const architecture =
    options.layout === 'smolvlm' ? 'SmolVLMForConditionalGeneration' : 'Idefics3ForConditionalGeneration';
  writeJson('config.json', {
    architectures: [architecture],
    model_type: options.layout,
    image_token_id: imageTokenId,
    scale_factor: vision.scaleFactor,
    tie_word_embeddings: text.tieWordEmbeddings,
    torch_dtype: 'float32',
    use_cache: true,
    vocab_size: text.vocabSize,
    text_config: {
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
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
      tie_word_embeddings: text.tieWordEmbeddings,
      hidden_act: 'silu',
      bos_token_id: bos,
      eos_token_id: eos,
      pad_token_id: pad,
    },
    vision_config: {
      model_type: options.layout === 'smolvlm' ? 'smolvlm_vision' : 'idefics3_vision',
      hidden_size: vision.hiddenSize,
      intermediate_size: vision.intermediateSize,
      num_hidden_layers: vision.numLayers,
      num_attention_heads: vision.numHeads,
      image_size: vision.imageSize,
      patch_size: vision.patchSize,
      layer_norm_eps: vision.layerNormEps,
      hidden_act: 'gelu_pytorch_tanh',
      num_channels: 3,
    },
  });
  writeJson('generation_config.json', {
    bos_token_id: bos,
    eos_token_id: eos,
    pad_token_id: pad,
    do_sample: false,
  });
  const processorClass = options.layout === 'smolvlm' ? 'SmolVLMProcessor' : 'Idefics3Processor';
  writeJson('preprocessor_config.json', {
    do_convert_rgb: true,
    do_image_splitting: processor.splitImages,
    do_normalize: true,
    do_pad: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_processor_type: options.layout === 'smolvlm' ? 'SmolVLMImageProcessor' : 'Idefics3ImageProcessor',
    image_std: [0.5, 0.5, 0.5],
    max_image_size: { longest_edge: vision.imageSize },
    processor_class: processorClass,
    resample: 1,
    rescale_factor: 1 / 255,
    size: { longest_edge: processor.longestEdge },
  });
  writeJson('processor_config.json', { image_seq_len: imageSeqLen(vision), processor_class: processorClass });

  // SmolLM2's tokenizer adds no BOS: the template opens with <|im_start|>.
  const tokenizer = tokenizerJson(bpe) as { added_tokens: object[]; post_processor: unknown };
  const added = VLM_TOKENS.map((content) => addedToken(idOf(content), content));
  tokenizer.added_tokens = [...tokenizer.added_tokens, ...added];
  tokenizer.post_processor = null;
  writeJson('tokenizer.json', tokenizer);
  const [unk] = SPECIAL_TOKENS;
  writeJson('tokenizer_config.json', {
    add_bos_token: false,
    add_eos_token: false,
    added_tokens_decoder: Object.fromEntries(added.map(({ id, ...token }) => [String(id), token])),
    additional_special_tokens: ['<fake_token_around_image>', '<image>', '<end_of_utterance>'],
    bos_token: '<|im_start|>',
    chat_template: SMOLVLM_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: '<end_of_utterance>',
    legacy: false,
    model_max_length: text.maxPositions,
    pad_token: '<|im_end|>',
    processor_class: processorClass,
    tokenizer_class: 'GPT2Tokenizer',
    unk_token: unk,
  });

  files.push(
    ...writeVlmGraphs(dir, {
      label: options.layout,
      seed,
      text,
      addEncoder: (graph, prng) => addIdefics3VisionEncoder(graph, vision, prng),
    }),
  );
  return { dir, files, text, vision, processor, imageTokenId, eosTokenIds: [eos] };
}
