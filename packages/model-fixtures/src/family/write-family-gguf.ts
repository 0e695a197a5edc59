import { readFileSync } from 'node:fs';
import { fitsRows, type GgmlType } from '../gguf/ggml-types.js';
import { type GgufTensor, type GgufValue, writeGguf } from '../gguf/gguf-writer.js';
import { permuteRotaryRows } from '../llama/write-llama-gguf.js';
import { type DecoderFamily, type FamilyShape, familyTraits, inverseFrequencies } from './family-shape.js';
import { FamilyWeightValues } from './family-weights.js';

/** The families llama.cpp's converter (convert_hf_to_gguf.py) takes, by its architecture names. */
export const ggufArchitectures: Readonly<Partial<Record<DecoderFamily, string>>> = {
  llama3: 'llama',
  qwen2: 'qwen2',
  qwen3: 'qwen3',
  gemma3: 'gemma3',
  phi3: 'phi3',
};

export interface FamilyGgufOptions {
  shape: FamilyShape;
  seed: number;
  type: GgmlType;
  /** The folder with the family's tokenizer.json and tokenizer_config.json. */
  tokenizerDir: string;
  name: string;
}

// llama.cpp `llama_ftype` and `llama_token_type`.
const fileTypes: Readonly<Record<GgmlType, number>> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7 };
const TOKEN = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/**
 * Writes the same weights as a family folder's ONNX files as a GGUF v3 file, named and laid out
 * as llama.cpp's converter writes them from the Hugging Face checkpoint: matrices as PyTorch's
 * [out, in]; Llama's Q and K rows permuted (llama.cpp rotates interleaved pairs for `llama`,
 * halves — NEOX — for the others); Llama 3's scaling as a `rope_freqs` tensor of per-frequency
 * divisors; Gemma's norms stored as 1 + w; a tied head left out (llama.cpp reads token_embd);
 * 1-D tensors in f32; a matrix whose rows do not fill whole blocks falls back to f16. The
 * vocabulary is the real tokenizer's: byte-level BPE (`gpt2`, with merges and the pre-tokenizer
 * llama.cpp names) for Llama 3 and Qwen, SentencePiece-style (`llama`) for Gemma and Phi-3, padded with
 * unused `[PADn]` entries to the model's vocabulary size, as the converter pads.
 */
export function writeFamilyGguf(path: string, options: FamilyGgufOptions): void {
  const { shape, type } = options;
  const arch = ggufArchitectures[shape.family];
  if (!arch) throw new RangeError(`llama.cpp's converter does not take the ${shape.family} family here`);
  const traits = familyTraits[shape.family];
  const source = new FamilyWeightValues(shape, options.seed);
  const h = shape.hiddenSize;
  const matrixType = (rowLength: number): GgmlType =>
    fitsRows(type, rowLength) ? type : type === 'f32' ? 'f32' : 'f16';
  const vector = (name: string, hf: string, plusOne = false): GgufTensor => ({
    name,
    dims: [source.dims(hf)[0] as number],
    type: 'f32',
    values: () => {
      const values = source.values(hf);
      if (plusOne) for (let i = 0; i < values.length; i += 1) values[i] = (values[i] as number) + 1;
      return values;
    },
  });
  const norm = (name: string, hf: string) => vector(name, hf, traits.normPlusOne);
  /** An [in, out] weight as PyTorch's [out, in] rows, optionally permuted per head (llama). */
  const linear = (name: string, hf: string, permuteHeads?: number): GgufTensor => {
    const [fanIn, fanOut] = source.dims(hf) as [number, number];
    return {
      name,
      dims: [fanIn, fanOut],
      type: matrixType(fanIn),
      values: () => {
        const transposed = transpose(source.values(hf), fanIn, fanOut);
        return permuteHeads ? permuteRotaryRows(transposed, permuteHeads, fanIn) : transposed;
      },
    };
  };
  const permute = arch === 'llama';

  const tensors: GgufTensor[] = [
    {
      name: 'token_embd.weight',
      dims: [h, shape.vocabSize],
      type: matrixType(h),
      values: () => source.values('model.embed_tokens.weight'),
    },
  ];
  if (shape.ropeScaling) {
    tensors.push({
      name: 'rope_freqs.weight',
      dims: [shape.headDim / 2],
      type: 'f32',
      values: () => ropeDivisors(shape),
    });
  }
  for (let i = 0; i < shape.numLayers; i += 1) {
    const hf = `model.layers.${i}.`;
    const blk = `blk.${i}.`;
    tensors.push(norm(`${blk}attn_norm.weight`, `${hf}input_layernorm.weight`));
    if (traits.packedCheckpoint)
      // Phi-3: llama.cpp keeps the checkpoint's packing (attn_qkv; ffn_up holds gate then up).
      tensors.push(linear(`${blk}attn_qkv.weight`, `${hf}self_attn.qkv_proj.weight`));
    else
      tensors.push(
        linear(`${blk}attn_q.weight`, `${hf}self_attn.q_proj.weight`, permute ? shape.numHeads : undefined),
        linear(`${blk}attn_k.weight`, `${hf}self_attn.k_proj.weight`, permute ? shape.numKvHeads : undefined),
        linear(`${blk}attn_v.weight`, `${hf}self_attn.v_proj.weight`),
      );
    tensors.push(linear(`${blk}attn_output.weight`, `${hf}self_attn.o_proj.weight`));
    if (traits.qkvBias)
      for (const x of ['q', 'k', 'v'])
        tensors.push(vector(`${blk}attn_${x}.bias`, `${hf}self_attn.${x}_proj.bias`));
    if (traits.qkNorm)
      tensors.push(
        norm(`${blk}attn_q_norm.weight`, `${hf}self_attn.q_norm.weight`),
        norm(`${blk}attn_k_norm.weight`, `${hf}self_attn.k_norm.weight`),
      );
    if (traits.sandwichNorms)
      tensors.push(
        norm(`${blk}post_attention_norm.weight`, `${hf}post_attention_layernorm.weight`),
        norm(`${blk}ffn_norm.weight`, `${hf}pre_feedforward_layernorm.weight`),
        norm(`${blk}post_ffw_norm.weight`, `${hf}post_feedforward_layernorm.weight`),
      );
    else tensors.push(norm(`${blk}ffn_norm.weight`, `${hf}post_attention_layernorm.weight`));
    if (traits.packedCheckpoint) tensors.push(linear(`${blk}ffn_up.weight`, `${hf}mlp.gate_up_proj.weight`));
    else
      tensors.push(
        linear(`${blk}ffn_gate.weight`, `${hf}mlp.gate_proj.weight`),
        linear(`${blk}ffn_up.weight`, `${hf}mlp.up_proj.weight`),
      );
    tensors.push(linear(`${blk}ffn_down.weight`, `${hf}mlp.down_proj.weight`));
  }
  tensors.push(norm('output_norm.weight', 'model.norm.weight'));
  if (!shape.tieWordEmbeddings) tensors.push(linear('output.weight', 'lm_head.weight'));
  writeGguf(path, metadata(arch, options), tensors);
}

/**
 * convert_hf_to_gguf.py's Llama 3 `rope_freqs`: per frequency, what llama.cpp divides the plain
 * frequency by (1 for high frequencies, the factor for low ones, a blend between).
 */
function ropeDivisors(shape: FamilyShape): Float32Array {
  const scaled = inverseFrequencies(shape, 0);
  const plain = inverseFrequencies({ ...shape, ropeScaling: undefined }, 0);
  return Float32Array.from(plain, (frequency, i) => frequency / (scaled[i] as number));
}

interface TokenizerJson {
  model: {
    type: string;
    vocab: Record<string, number>;
    merges?: (string | [string, string])[];
    byte_fallback?: boolean;
  };
  added_tokens?: { id: number; content: string; special: boolean }[];
}

function metadata(arch: string, options: FamilyGgufOptions): Map<string, GgufValue> {
  const { shape, type } = options;
  const u32 = (value: number): GgufValue => ({ type: 'uint32', value });
  const f32 = (value: number): GgufValue => ({ type: 'float32', value });
  const tokenizer = JSON.parse(
    readFileSync(`${options.tokenizerDir}/tokenizer.json`, 'utf8'),
  ) as TokenizerJson;
  const config = JSON.parse(readFileSync(`${options.tokenizerDir}/tokenizer_config.json`, 'utf8')) as {
    chat_template?: string;
    bos_token?: string | null;
    eos_token?: string | null;
    add_bos_token?: boolean;
  };
  const tokens = Array.from({ length: shape.vocabSize }, (_, id) => `[PAD${id}]`);
  const types: number[] = Array.from({ length: shape.vocabSize }, () => TOKEN.unused);
  const ids = new Map<string, number>();
  for (const [text, id] of Object.entries(tokenizer.model.vocab)) {
    if (id >= shape.vocabSize) continue;
    tokens[id] = text;
    types[id] =
      /^<0x[0-9A-F]{2}>$/.test(text) && tokenizer.model.byte_fallback === true ? TOKEN.byte : TOKEN.normal;
    ids.set(text, id);
  }
  for (const added of tokenizer.added_tokens ?? []) {
    if (added.id >= shape.vocabSize) continue;
    tokens[added.id] = added.content;
    types[added.id] = added.special ? TOKEN.control : TOKEN.userDefined;
    ids.set(added.content, added.id);
  }
  const entries: [string, GgufValue][] = [
    ['general.architecture', { type: 'string', value: arch }],
    ['general.type', { type: 'string', value: 'model' }],
    ['general.name', { type: 'string', value: options.name }],
    ['general.file_type', u32(fileTypes[type])],
    ['general.quantization_version', u32(2)],
    [`${arch}.vocab_size`, u32(shape.vocabSize)],
    [`${arch}.context_length`, u32(shape.maxPositions)],
    [`${arch}.embedding_length`, u32(shape.hiddenSize)],
    [`${arch}.block_count`, u32(shape.numLayers)],
    [`${arch}.feed_forward_length`, u32(shape.intermediateSize)],
    [`${arch}.rope.dimension_count`, u32(shape.headDim)],
    [`${arch}.attention.head_count`, u32(shape.numHeads)],
    [`${arch}.attention.head_count_kv`, u32(shape.numKvHeads)],
    [`${arch}.attention.key_length`, u32(shape.headDim)],
    [`${arch}.attention.value_length`, u32(shape.headDim)],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(shape.rmsNormEps)],
    [`${arch}.rope.freq_base`, f32(shape.ropeTheta)],
  ];
  if (shape.slidingWindow) entries.push([`${arch}.attention.sliding_window`, u32(shape.slidingWindow.size)]);
  // Byte-level BPE (Llama 3, Qwen) as `gpt2`; SentencePiece-converted BPE with byte fallback
  // (Gemma; Llama 2's, so Phi-3's) as `llama`.
  if (tokenizer.model.type === 'BPE' && tokenizer.model.byte_fallback !== true) {
    entries.push(
      ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
      ['tokenizer.ggml.pre', { type: 'string', value: arch === 'llama' ? 'llama-bpe' : 'qwen2' }],
      ['tokenizer.ggml.tokens', { type: 'string[]', value: tokens }],
      ['tokenizer.ggml.token_type', { type: 'int32[]', value: types }],
      [
        'tokenizer.ggml.merges',
        {
          type: 'string[]',
          value: (tokenizer.model.merges ?? []).map((merge) =>
            typeof merge === 'string' ? merge : merge.join(' '),
          ),
        },
      ],
    );
  } else {
    // SentencePiece-style: a piece's score is minus its id (earlier pieces merge first).
    if (tokenizer.model.vocab['<unk>'] !== undefined) types[tokenizer.model.vocab['<unk>']] = TOKEN.unknown;
    entries.push(
      ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
      ['tokenizer.ggml.tokens', { type: 'string[]', value: tokens }],
      ['tokenizer.ggml.scores', { type: 'float32[]', value: tokens.map((_, id) => -id) }],
      ['tokenizer.ggml.token_type', { type: 'int32[]', value: types }],
    );
    const unknown = ids.get('<unk>');
    if (unknown !== undefined) entries.push(['tokenizer.ggml.unknown_token_id', u32(unknown)]);
  }
  const bos = config.bos_token ? ids.get(config.bos_token) : undefined;
  const eos = config.eos_token ? ids.get(config.eos_token) : undefined;
  if (bos !== undefined) entries.push(['tokenizer.ggml.bos_token_id', u32(bos)]);
  if (eos !== undefined) entries.push(['tokenizer.ggml.eos_token_id', u32(eos)]);
  entries.push([
    'tokenizer.ggml.add_bos_token',
    { type: 'bool', value: config.add_bos_token ?? bos !== undefined },
  ]);
  if (config.chat_template)
    entries.push(['tokenizer.chat_template', { type: 'string', value: config.chat_template }]);
  return new Map(entries);
}

function transpose(values: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r += 1) {
    for (let c = 0; c < columns; c += 1) out[c * rows + r] = values[r * columns + c] ?? 0;
  }
  return out;
}
