import type { GgmlType } from '../gguf/ggml-types.js';
import { fitsRows } from '../gguf/ggml-types.js';
import { type GgufTensor, type GgufValue, writeGguf } from '../gguf/gguf-writer.js';
import { CHAT_TEMPLATE } from '../tokenizer/tokenizer-files.js';
import { type BpeModel, SPECIAL_TOKENS } from '../tokenizer/train-bpe.js';
import { headDim, type LlamaShape } from './llama-shape.js';
import { llamaWeightSpecs, weightValues } from './llama-weights.js';

/** GGUF files a Llama folder can hold, named as llama.cpp's converter names its outputs. */
export type LlamaGgufType = GgmlType;
export const llamaGgufTypes: readonly LlamaGgufType[] = ['f32', 'f16', 'q8_0', 'q4_0'];

export function ggufFileName(type: LlamaGgufType): string {
  return `gguf/model-${type}.gguf`;
}

// llama.cpp `llama_ftype`: what general.file_type says the bulk of the weights are.
const fileTypes: Readonly<Record<LlamaGgufType, number>> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7 };
// llama.cpp `llama_token_type`.
const TOKEN_NORMAL = 1;
const TOKEN_UNKNOWN = 2;
const TOKEN_CONTROL = 3;
const TOKEN_BYTE = 6;

export interface LlamaGgufOptions {
  shape: LlamaShape;
  bpe: BpeModel;
  seed: number;
  type: LlamaGgufType;
  name: string;
}

/**
 * Writes the same weights as the folder's ONNX files as a GGUF v3 file with llama.cpp's `llama`
 * architecture, tensor names and metadata, as its `convert_hf_to_gguf.py` would from the
 * Hugging Face checkpoint. Matrices go from ONNX's [in, out] to PyTorch's [out, in]; the Q and
 * K rows are permuted because llama.cpp rotates interleaved pairs (x0, x1), (x2, x3)… where
 * Hugging Face rotates the two halves of each head. Norms stay f32; a matrix whose rows do not
 * fill whole quantization blocks falls back to f16, as the converter does.
 */
export function writeLlamaGguf(path: string, options: LlamaGgufOptions): void {
  const { shape, bpe, seed, type } = options;
  const vocabSize = bpe.tokens.length;
  const specs = new Map(llamaWeightSpecs(shape, vocabSize).map((spec) => [spec.name, spec]));
  const values = (name: string) => {
    const spec = specs.get(name);
    if (!spec) throw new Error(`no weight named ${name}`);
    return { spec, data: weightValues(spec, seed) };
  };
  const matrixType = (rowLength: number): GgmlType =>
    fitsRows(type, rowLength) ? type : type === 'f32' ? 'f32' : 'f16';

  const norm = (ggufName: string, hfName: string): GgufTensor => ({
    name: ggufName,
    dims: [shape.hiddenSize],
    type: 'f32',
    values: () => values(hfName).data,
  });
  /** An ONNX [in, out] MatMul weight as PyTorch's [out, in], its rows optionally permuted. */
  const linear = (ggufName: string, hfName: string, permuteHeads?: number): GgufTensor => {
    const spec = specs.get(hfName);
    const [fanIn = 0, fanOut = 0] = spec?.dims ?? [];
    return {
      name: ggufName,
      dims: [fanIn, fanOut],
      type: matrixType(fanIn),
      values: () => {
        const transposed = transpose(values(hfName).data, fanIn, fanOut);
        return permuteHeads ? permuteRotaryRows(transposed, permuteHeads, fanIn) : transposed;
      },
    };
  };

  const tensors: GgufTensor[] = [
    {
      name: 'token_embd.weight',
      dims: [shape.hiddenSize, vocabSize],
      type: matrixType(shape.hiddenSize),
      values: () => values('model.embed_tokens.weight').data,
    },
  ];
  for (let i = 0; i < shape.numLayers; i += 1) {
    const hf = `model.layers.${i}.`;
    const blk = `blk.${i}.`;
    tensors.push(
      norm(`${blk}attn_norm.weight`, `${hf}input_layernorm.weight`),
      linear(`${blk}attn_q.weight`, `${hf}self_attn.q_proj.weight`, shape.numHeads),
      linear(`${blk}attn_k.weight`, `${hf}self_attn.k_proj.weight`, shape.numKvHeads),
      linear(`${blk}attn_v.weight`, `${hf}self_attn.v_proj.weight`),
      linear(`${blk}attn_output.weight`, `${hf}self_attn.o_proj.weight`),
      norm(`${blk}ffn_norm.weight`, `${hf}post_attention_layernorm.weight`),
      linear(`${blk}ffn_gate.weight`, `${hf}mlp.gate_proj.weight`),
      linear(`${blk}ffn_up.weight`, `${hf}mlp.up_proj.weight`),
      linear(`${blk}ffn_down.weight`, `${hf}mlp.down_proj.weight`),
    );
  }
  tensors.push(norm('output_norm.weight', 'model.norm.weight'), linear('output.weight', 'lm_head.weight'));
  writeGguf(path, llamaMetadata(options), tensors);
}

function llamaMetadata({ shape, bpe, type, name }: LlamaGgufOptions): Map<string, GgufValue> {
  const [unk, bos, eos] = SPECIAL_TOKENS.map((_, id) => id) as [number, number, number];
  const firstLearned = SPECIAL_TOKENS.length + 256;
  const u32 = (value: number): GgufValue => ({ type: 'uint32', value });
  return new Map<string, GgufValue>([
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.type', { type: 'string', value: 'model' }],
    ['general.name', { type: 'string', value: name }],
    ['general.file_type', u32(fileTypes[type])],
    ['general.quantization_version', u32(2)],
    ['llama.vocab_size', u32(bpe.tokens.length)],
    ['llama.context_length', u32(shape.maxPositions)],
    ['llama.embedding_length', u32(shape.hiddenSize)],
    ['llama.block_count', u32(shape.numLayers)],
    ['llama.feed_forward_length', u32(shape.intermediateSize)],
    ['llama.rope.dimension_count', u32(headDim(shape))],
    ['llama.attention.head_count', u32(shape.numHeads)],
    ['llama.attention.head_count_kv', u32(shape.numKvHeads)],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'float32', value: shape.rmsNormEps }],
    ['llama.rope.freq_base', { type: 'float32', value: shape.ropeTheta }],
    // SentencePiece-style vocabulary: a piece's score is minus its id, so llama.cpp's
    // highest-score-first merging follows tokenizer.json's merge ranks (see sentencePieceMerges).
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: bpe.tokens }],
    [
      'tokenizer.ggml.scores',
      { type: 'float32[]', value: bpe.tokens.map((_, id) => (id < firstLearned ? 0 : -id)) },
    ],
    [
      'tokenizer.ggml.token_type',
      {
        type: 'int32[]',
        value: bpe.tokens.map((_, id) =>
          id === unk
            ? TOKEN_UNKNOWN
            : id < SPECIAL_TOKENS.length
              ? TOKEN_CONTROL
              : id < firstLearned
                ? TOKEN_BYTE
                : TOKEN_NORMAL,
        ),
      },
    ],
    ['tokenizer.ggml.bos_token_id', u32(bos)],
    ['tokenizer.ggml.eos_token_id', u32(eos)],
    ['tokenizer.ggml.unknown_token_id', u32(unk)],
    ['tokenizer.ggml.padding_token_id', u32(eos)],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: true }],
    ['tokenizer.ggml.add_eos_token', { type: 'bool', value: false }],
    ['tokenizer.chat_template', { type: 'string', value: CHAT_TEMPLATE }],
  ]);
}

function transpose(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r += 1) {
    for (let c = 0; c < columns; c += 1) out[c * rows + r] = values[r * columns + c] ?? 0;
  }
  return out;
}

/**
 * convert_hf_to_gguf.py's `LlamaModel.permute`: within each head, output row (half, j) moves
 * to row 2j + half, so that llama.cpp's interleaved rotation pairs the rows Hugging Face's
 * rotate_half pairs (j with j + head_dim / 2).
 */
export function permuteRotaryRows(values: Float32Array, heads: number, rowLength: number): Float32Array {
  const rows = values.length / rowLength;
  const dim = rows / heads;
  const out = new Float32Array(values.length);
  for (let head = 0; head < heads; head += 1) {
    for (let half = 0; half < 2; half += 1) {
      for (let j = 0; j < dim / 2; j += 1) {
        const from = head * dim + half * (dim / 2) + j;
        const to = head * dim + 2 * j + half;
        out.set(values.subarray(from * rowLength, (from + 1) * rowLength), to * rowLength);
      }
    }
  }
  return out;
}
