/**
 * The model families users pull, by what sets their math apart from a plain Llama decoder. Each
 * is written from its Hugging Face modelling code (transformers 4.5x):
 * - `llama3`: Llama 3.x — GQA, rope scaling of type `llama3`, tied head (3.2 1B/3B).
 * - `qwen2`: Qwen 2.5 — biases on the Q, K and V projections, tied head (0.5B–3B).
 * - `qwen3`: Qwen 3 — no biases; an RMSNorm over each head of Q and K before rotation; its own
 *   head dimension (not hidden / heads).
 * - `gemma3`: Gemma 3 (text) — RMSNorm scaling by (1 + w), embeddings scaled by √hidden, GeGLU
 *   (tanh GELU), four norms per layer, Q/K norms, sliding-window layers with their own rope base,
 *   attention scaled by query_pre_attn_scalar^-½.
 * - `phi3`: Phi-3 — the checkpoint packs Q, K and V into `qkv_proj` and gate and up into
 *   `gate_up_proj`; untied head.
 */
export type DecoderFamily = 'llama3' | 'qwen2' | 'qwen3' | 'gemma3' | 'phi3';

export const decoderFamilies: readonly DecoderFamily[] = ['llama3', 'qwen2', 'qwen3', 'gemma3', 'phi3'];

export interface FamilyShape {
  family: DecoderFamily;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** config.json's vocab_size: the tokenizer's size, or more (Qwen pads its matrices to 151936). */
  vocabSize: number;
  maxPositions: number;
  ropeTheta: number;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
  /** Llama 3.1+'s frequency-dependent scaling of the rotary frequencies. */
  ropeScaling?: {
    factor: number;
    lowFreqFactor: number;
    highFreqFactor: number;
    originalMaxPositions: number;
  };
  /** Gemma 3: every layer but each `pattern`-th attends to the last `size` positions only. */
  slidingWindow?: { size: number; pattern: number; localRopeTheta: number };
  /** Gemma 3: attention scores are scaled by this ^ -½ instead of head_dim ^ -½. */
  queryPreAttnScalar?: number;
}

/** What a family does differently, as switches the graph writers read. */
export interface FamilyTraits {
  modelType: string;
  architecture: string;
  qkvBias: boolean;
  qkNorm: boolean;
  /** Gemma's RMSNorm multiplies by (1 + weight); its stored weights are centred on 0. */
  normPlusOne: boolean;
  embedScale: boolean;
  activation: 'silu' | 'gelu_pytorch_tanh';
  /** Gemma 2/3's pre- and post-feed-forward norms around the MLP and after attention. */
  sandwichNorms: boolean;
  /** The checkpoint stores qkv_proj and gate_up_proj (Phi-3). */
  packedCheckpoint: boolean;
}

export const familyTraits: Readonly<Record<DecoderFamily, FamilyTraits>> = {
  llama3: {
    modelType: 'llama',
    architecture: 'LlamaForCausalLM',
    qkvBias: false,
    qkNorm: false,
    normPlusOne: false,
    embedScale: false,
    activation: 'silu',
    sandwichNorms: false,
    packedCheckpoint: false,
  },
  qwen2: {
    modelType: 'qwen2',
    architecture: 'Qwen2ForCausalLM',
    qkvBias: true,
    qkNorm: false,
    normPlusOne: false,
    embedScale: false,
    activation: 'silu',
    sandwichNorms: false,
    packedCheckpoint: false,
  },
  qwen3: {
    modelType: 'qwen3',
    architecture: 'Qwen3ForCausalLM',
    qkvBias: false,
    qkNorm: true,
    normPlusOne: false,
    embedScale: false,
    activation: 'silu',
    sandwichNorms: false,
    packedCheckpoint: false,
  },
  gemma3: {
    modelType: 'gemma3_text',
    architecture: 'Gemma3ForCausalLM',
    qkvBias: false,
    qkNorm: true,
    normPlusOne: true,
    embedScale: true,
    activation: 'gelu_pytorch_tanh',
    sandwichNorms: true,
    packedCheckpoint: false,
  },
  phi3: {
    modelType: 'phi3',
    architecture: 'Phi3ForCausalLM',
    qkvBias: false,
    qkNorm: false,
    normPlusOne: false,
    embedScale: false,
    activation: 'silu',
    sandwichNorms: false,
    packedCheckpoint: true,
  },
};

/**
 * Small shapes with each family's real vocabulary size, rope base and quirks: a few MB of layers
 * beside an embedding of the real vocabulary. Gemma's window is 16 (not 512) so that a test's
 * 32 generated tokens cross it, on five sliding layers and a global one (its real pattern, which
 * llama.cpp assumes); Llama's rope scaling is Llama 3.2's.
 */
export const familyPresets: Readonly<Record<DecoderFamily, FamilyShape>> = {
  llama3: {
    family: 'llama3',
    hiddenSize: 64,
    intermediateSize: 160,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 16,
    vocabSize: 128256,
    maxPositions: 4096,
    ropeTheta: 500000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: true,
    ropeScaling: { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 },
  },
  qwen2: {
    family: 'qwen2',
    hiddenSize: 64,
    intermediateSize: 160,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 16,
    vocabSize: 151936,
    maxPositions: 4096,
    ropeTheta: 1000000,
    rmsNormEps: 1e-6,
    tieWordEmbeddings: true,
  },
  qwen3: {
    family: 'qwen3',
    hiddenSize: 64,
    intermediateSize: 160,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 32,
    vocabSize: 151936,
    maxPositions: 4096,
    ropeTheta: 1000000,
    rmsNormEps: 1e-6,
    tieWordEmbeddings: true,
  },
  gemma3: {
    family: 'gemma3',
    hiddenSize: 64,
    intermediateSize: 160,
    numLayers: 6,
    numHeads: 4,
    numKvHeads: 1,
    headDim: 32,
    vocabSize: 262144,
    maxPositions: 4096,
    ropeTheta: 1000000,
    rmsNormEps: 1e-6,
    tieWordEmbeddings: true,
    slidingWindow: { size: 16, pattern: 6, localRopeTheta: 10000 },
    queryPreAttnScalar: 32,
  },
  phi3: {
    family: 'phi3',
    hiddenSize: 64,
    intermediateSize: 160,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 4,
    headDim: 16,
    vocabSize: 32064,
    maxPositions: 4096,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: false,
  },
};

/** Whether layer `i` attends to a sliding window (Gemma 3: all but every `pattern`-th layer). */
export function isSlidingLayer(shape: FamilyShape, layer: number): boolean {
  const window = shape.slidingWindow;
  return window !== undefined && (layer + 1) % window.pattern !== 0;
}

/**
 * The rotary inverse frequencies of a layer, as transformers computes them (its
 * `_compute_llama3_parameters` for Llama 3's scaling).
 */
export function inverseFrequencies(shape: FamilyShape, layer: number): Float32Array {
  const theta =
    isSlidingLayer(shape, layer) && shape.slidingWindow
      ? shape.slidingWindow.localRopeTheta
      : shape.ropeTheta;
  const dim = shape.headDim;
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i += 1) out[i] = 1 / theta ** ((2 * i) / dim);
  const scaling = shape.ropeScaling;
  if (!scaling) return out;
  const lowWavelength = scaling.originalMaxPositions / scaling.lowFreqFactor;
  const highWavelength = scaling.originalMaxPositions / scaling.highFreqFactor;
  for (let i = 0; i < out.length; i += 1) {
    const frequency = out[i] as number;
    const wavelength = (2 * Math.PI) / frequency;
    if (wavelength < highWavelength) continue;
    if (wavelength > lowWavelength) {
      out[i] = frequency / scaling.factor;
      continue;
    }
    const smooth =
      (scaling.originalMaxPositions / wavelength - scaling.lowFreqFactor) /
      (scaling.highFreqFactor - scaling.lowFreqFactor);
    out[i] = (1 - smooth) * (frequency / scaling.factor) + smooth * frequency;
  }
  return out;
}

export function validateFamilyShape(shape: FamilyShape): void {
  if (shape.numHeads % shape.numKvHeads !== 0)
    throw new RangeError('numHeads must be a multiple of numKvHeads');
  if (shape.headDim % 2 !== 0) throw new RangeError('the head dimension must be even for rotary embeddings');
  if (shape.family === 'phi3' && shape.headDim * shape.numHeads !== shape.hiddenSize)
    throw new RangeError('Phi-3 has head_dim = hidden_size / num_attention_heads');
}

/** Parameters of a model of this shape (a tied head counts once, as Hugging Face counts). */
export function familyParameterCount(shape: FamilyShape): number {
  const traits = familyTraits[shape.family];
  const h = shape.hiddenSize;
  const q = shape.numHeads * shape.headDim;
  const kv = shape.numKvHeads * shape.headDim;
  const norms = (traits.sandwichNorms ? 4 : 2) * h + (traits.qkNorm ? 2 * shape.headDim : 0);
  const perLayer =
    norms + h * (q + 2 * kv) + (traits.qkvBias ? q + 2 * kv : 0) + q * h + 3 * h * shape.intermediateSize;
  const head = shape.tieWordEmbeddings ? 0 : shape.vocabSize * h;
  return shape.vocabSize * h + head + h + shape.numLayers * perLayer;
}
