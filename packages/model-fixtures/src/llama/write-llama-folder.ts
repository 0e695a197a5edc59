import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder } from '../onnx/graph-builder.js';
import { writeOnnxModel } from '../onnx/write-onnx-model.js';
import { corpus } from '../tokenizer/corpus.js';
import { specialTokensMapJson, tokenizerConfigJson, tokenizerJson } from '../tokenizer/tokenizer-files.js';
import { trainBpe } from '../tokenizer/train-bpe.js';
import { addLlamaDecoder } from './llama-graph.js';
import {
  headDim,
  type LlamaPreset,
  llamaPresets,
  type LlamaShape,
  parameterCount,
  validateShape,
} from './llama-shape.js';
import { addLlamaWeights } from './llama-weights.js';
import { ggufFileName, type LlamaGgufType, writeLlamaGguf } from './write-llama-gguf.js';

/**
 * The ONNX files a folder can hold, named as Optimum and transformers.js name them:
 * - `fp32`: onnx/model.onnx
 * - `fp16`: onnx/model_fp16.onnx (float16 weights, KV cache and logits)
 * - `merged`: onnx/decoder_model_merged.onnx (legacy; `use_cache_branch` selects an If branch)
 * - `no-position-ids`: onnx/model.onnx without the position_ids input (replaces `fp32`)
 * - `int8`: onnx/model_quantized.onnx (projections int8 per column, DynamicQuantizeMatMul)
 * - `q4`: onnx/model_q4.onnx (projections and LM head in 4-bit blocks of 32, MatMulNBits)
 */
export type LlamaVariant = 'fp32' | 'fp16' | 'merged' | 'no-position-ids' | 'int8' | 'q4';

export interface LlamaFolderOptions {
  preset?: LlamaPreset;
  /** Overrides the preset's shape. */
  shape?: LlamaShape;
  seed?: number;
  variants?: LlamaVariant[];
  /** Weights in `<model>.onnx_data`; defaults to on when the weights exceed 1.5 GB. */
  externalData?: boolean;
  /** The same weights also as llama.cpp GGUF files, `gguf/model-<type>.gguf` (none by default). */
  gguf?: LlamaGgufType[];
  /**
   * How attention is written (see LlamaGraphOptions): `gqa` (default), as ONNX Runtime GenAI's
   * builder exports, or `eager`, as Optimum does. The `merged` variant is always eager.
   */
  attention?: 'eager' | 'gqa';
}

export interface LlamaFolder {
  dir: string;
  files: string[];
  shape: LlamaShape;
  vocabSize: number;
  parameterCount: number;
}

const OPSET = 17;
const EXTERNAL_DATA_THRESHOLD = 1.5 * 1024 ** 3;

const variantFiles: Readonly<Record<LlamaVariant, string>> = {
  fp32: 'onnx/model.onnx',
  fp16: 'onnx/model_fp16.onnx',
  merged: 'onnx/decoder_model_merged.onnx',
  'no-position-ids': 'onnx/model.onnx',
  int8: 'onnx/model_quantized.onnx',
  q4: 'onnx/model_q4.onnx',
};

/** Writes a complete Hugging Face Optimum-layout Llama folder into `dir`. */
export function writeLlamaFolder(dir: string, options: LlamaFolderOptions = {}): LlamaFolder {
  const shape = options.shape ?? llamaPresets[options.preset ?? 'tiny'];
  validateShape(shape);
  const seed = options.seed ?? 0;
  const variants = options.variants ?? ['fp32'];
  if (variants.includes('fp32') && variants.includes('no-position-ids')) {
    throw new RangeError(
      'fp32 and no-position-ids both write onnx/model.onnx; write them to different folders',
    );
  }
  const bpe = trainBpe(corpus, shape.vocabSize);
  const vocabSize = bpe.tokens.length;
  const parameters = parameterCount(shape, vocabSize);

  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const files: string[] = [];
  const writeJson = (name: string, value: object) => {
    writeFileSync(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
    files.push(join(dir, name));
  };
  writeJson('config.json', configJson(shape, vocabSize));
  writeJson('generation_config.json', {
    bos_token_id: 1,
    eos_token_id: 2,
    max_length: shape.maxPositions,
    pad_token_id: 0,
  });
  writeJson('tokenizer.json', tokenizerJson(bpe));
  writeJson('tokenizer_config.json', tokenizerConfigJson(shape.maxPositions));
  writeJson('special_tokens_map.json', specialTokensMapJson());

  for (const variant of variants) {
    const dtype = variant === 'fp16' ? 'float16' : 'float32';
    const graph = GraphBuilder.create('llama');
    const quantization = variant === 'int8' || variant === 'q4' ? variant : undefined;
    const weights = addLlamaWeights(graph, shape, vocabSize, seed, dtype, quantization);
    addLlamaDecoder(graph, {
      shape,
      vocabSize,
      dtype,
      positionIds: variant !== 'no-position-ids',
      merged: variant === 'merged',
      attention: variant === 'merged' ? 'eager' : (options.attention ?? 'gqa'),
      ...weights,
    });
    const bytes = parameters * (quantization ? 1 : dtype === 'float16' ? 2 : 4);
    files.push(
      ...writeOnnxModel(join(dir, variantFiles[variant]), graph, {
        opset: OPSET,
        externalData: options.externalData ?? bytes > EXTERNAL_DATA_THRESHOLD,
        docString: `VMM fixture: Llama decoder (${variant}), seed ${seed}`,
      }),
    );
  }
  if (options.gguf && options.gguf.length > 0) mkdirSync(join(dir, 'gguf'), { recursive: true });
  for (const type of options.gguf ?? []) {
    const path = join(dir, ggufFileName(type));
    writeLlamaGguf(path, { shape, bpe, seed, type, name: `VMM fixture Llama (seed ${seed})` });
    files.push(path);
  }
  return { dir, files, shape, vocabSize, parameterCount: parameters };
}

function configJson(shape: LlamaShape, vocabSize: number): object {
  return {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0,
    bos_token_id: 1,
    eos_token_id: 2,
    head_dim: headDim(shape),
    hidden_act: 'silu',
    hidden_size: shape.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: shape.intermediateSize,
    max_position_embeddings: shape.maxPositions,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: shape.numHeads,
    num_hidden_layers: shape.numLayers,
    num_key_value_heads: shape.numKvHeads,
    pretraining_tp: 1,
    rms_norm_eps: shape.rmsNormEps,
    rope_scaling: null,
    rope_theta: shape.ropeTheta,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    transformers_version: '4.44.2',
    use_cache: true,
    vocab_size: vocabSize,
  };
}
