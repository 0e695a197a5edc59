import { onnx } from '@vmm/proto';
import type { GraphBuilder } from '../onnx/graph-builder.js';
import { fromFloat16Bits, toFloat16Bits } from '../onnx/float16.js';
import { rawBytes } from '../onnx/tensor-data.js';
import { Prng } from '../prng.js';
import { headDim, type LlamaShape } from './llama-shape.js';

export interface WeightSpec {
  name: string;
  dims: number[];
  /** Values are base + uniform(-scale, scale). */
  base: number;
  scale: number;
}

/**
 * Every weight of a Llama decoder by its Hugging Face name; matrices are stored [in, out] as
 * Optimum exports them for MatMul. Scales keep activations near unit variance and logits
 * spread wide enough (std ≈ 3) that greedy decoding is not decided by rounding noise.
 */
export function llamaWeightSpecs(shape: LlamaShape, vocabSize: number): WeightSpec[] {
  const h = shape.hiddenSize;
  const kv = headDim(shape) * shape.numKvHeads;
  const linear = (name: string, fanIn: number, fanOut: number): WeightSpec => ({
    name,
    dims: [fanIn, fanOut],
    base: 0,
    scale: Math.sqrt(3 / fanIn),
  });
  const norm = (name: string): WeightSpec => ({ name, dims: [h], base: 1, scale: 0.1 });
  const specs: WeightSpec[] = [
    { name: 'model.embed_tokens.weight', dims: [vocabSize, h], base: 0, scale: 1 },
  ];
  for (let i = 0; i < shape.numLayers; i += 1) {
    const p = `model.layers.${i}.`;
    specs.push(
      norm(`${p}input_layernorm.weight`),
      linear(`${p}self_attn.q_proj.weight`, h, h),
      linear(`${p}self_attn.k_proj.weight`, h, kv),
      linear(`${p}self_attn.v_proj.weight`, h, kv),
      linear(`${p}self_attn.o_proj.weight`, h, h),
      norm(`${p}post_attention_layernorm.weight`),
      linear(`${p}mlp.gate_proj.weight`, h, shape.intermediateSize),
      linear(`${p}mlp.up_proj.weight`, h, shape.intermediateSize),
      linear(`${p}mlp.down_proj.weight`, shape.intermediateSize, h),
    );
  }
  specs.push(norm('model.norm.weight'), {
    name: 'lm_head.weight',
    dims: [h, vocabSize],
    base: 0,
    scale: (3 * Math.sqrt(3)) / Math.sqrt(h),
  });
  return specs;
}

export function weightValues(spec: WeightSpec, seed: number): Float32Array {
  const count = spec.dims.reduce((a, b) => a * b, 1);
  const values = new Prng(seed).fork(spec.name).uniform(count, spec.scale);
  if (spec.base !== 0) for (let i = 0; i < count; i += 1) values[i] = (values[i] ?? 0) + spec.base;
  return values;
}

/**
 * How projection weights are stored: `int8` per output column, computed by com.microsoft
 * DynamicQuantizeMatMul (what ONNX Runtime's dynamic quantizer, and so Optimum's
 * `model_quantized.onnx`, comes to); `q4` in blocks of 32 along the input, computed by
 * com.microsoft MatMulNBits (transformers.js's `model_q4.onnx`, ONNX Runtime GenAI's int4),
 * with llama.cpp's q4_0 scales and values, so both engines run the very same numbers.
 */
export type LlamaQuantization = 'int8' | 'q4';

export interface LlamaWeights {
  /** A weight as a float32 value (embeddings, norms; projections when not quantized). */
  weight: (name: string) => string;
  /** x · W for a projection weight. */
  linear: (graph: GraphBuilder, x: string, name: string) => string;
}

/**
 * Weights use 7 bits (±63), as ONNX Runtime's quantizer does with reduce_range: x86 CPUs
 * without VNNI multiply uint8 activations by int8 weights with VPMADDUBSW, whose int16 pair
 * sums saturate past ±127 weights — measured here, full-range weights put DynamicQuantizeMatMul
 * 40 % off its own dequantized product.
 */
const INT8_MAX = 63;
const Q4_BLOCK = 32;
/**
 * MatMulNBits' accuracy_level 4 quantizes the activations to int8 and uses integer dot
 * products: measured on AVX2 it more than doubles decode speed over level 0 (float compute),
 * with quality bounded by the fixtures' teacher-forcing test.
 */
const Q4_ACCURACY_LEVEL = 4;

/**
 * Registers the weights on `graph` in `dtype` (and projections quantized as asked): float16
 * weights get a Cast, which ONNX Runtime folds away when it loads the model.
 */
export function addLlamaWeights(
  graph: GraphBuilder,
  shape: LlamaShape,
  vocabSize: number,
  seed: number,
  dtype: 'float32' | 'float16',
  quantization?: LlamaQuantization,
): LlamaWeights {
  const values = new Map<string, string>();
  const quantized = new Map<string, (builder: GraphBuilder, x: string) => string>();
  for (const spec of llamaWeightSpecs(shape, vocabSize)) {
    const isProjection = spec.dims.length === 2 && spec.name !== 'model.embed_tokens.weight';
    if (quantization && isProjection) {
      quantized.set(spec.name, quantizedLinear(graph, spec, seed, quantization));
      continue;
    }
    const stored = graph.weight(spec.name, dtype, spec.dims, () => rawBytes(dtype, weightValues(spec, seed)));
    values.set(
      spec.name,
      dtype === 'float16'
        ? graph.node('Cast', [stored], { to: { int: onnx.TensorProto_DataType.FLOAT } })
        : stored,
    );
  }
  const weight = (name: string) => {
    const value = values.get(name);
    if (value === undefined) throw new Error(`no weight named ${name}`);
    return value;
  };
  return {
    weight,
    linear: (builder, x, name) =>
      quantized.get(name)?.(builder, x) ?? builder.node('MatMul', [x, weight(name)]),
  };
}

/** Registers a projection's quantized tensors; returns how to apply it. */
function quantizedLinear(
  graph: GraphBuilder,
  spec: WeightSpec,
  seed: number,
  quantization: LlamaQuantization,
): (builder: GraphBuilder, x: string) => string {
  const [inputs, outputs] = spec.dims as [number, number];
  // Quantized lazily, like every weight, so a model is never held whole in memory.
  let cached: { data: Uint8Array; scales: Float32Array } | undefined;
  const quantize = () =>
    (cached ??=
      quantization === 'int8'
        ? quantizeInt8Columns(weightValues(spec, seed), inputs, outputs)
        : quantizeQ4Blocks(weightValues(spec, seed), inputs, outputs));
  const release = <T>(value: T) => {
    cached = undefined;
    return value;
  };
  if (quantization === 'int8') {
    const b = graph.weight(`${spec.name}_quantized`, 'int8', [inputs, outputs], () => quantize().data);
    const scale = graph.weight(`${spec.name}_scale`, 'float32', [outputs], () =>
      release(rawBytes('float32', quantize().scales)),
    );
    return (builder, x) => builder.node('DynamicQuantizeMatMul', [x, b, scale], {}, 'com.microsoft');
  }
  return q4Linear(
    graph,
    spec.name,
    inputs,
    outputs,
    () => quantize().data,
    () => release(quantize().scales),
  );
}

/**
 * Registers a 4-bit projection (see quantizeQ4Blocks) as MatMulNBits' B and scales, named as
 * ONNX Runtime's quantizer names them; `scaleType` is the activations' type (float16 in the q4f16
 * exports). Returns how to apply it.
 */
export function q4Linear(
  graph: GraphBuilder,
  name: string,
  inputs: number,
  outputs: number,
  data: () => Uint8Array,
  scales: () => Float32Array,
  scaleType: 'float32' | 'float16' = 'float32',
): (builder: GraphBuilder, x: string) => string {
  const blocks = Math.ceil(inputs / Q4_BLOCK);
  const b = graph.weight(`${name}_Q4`, 'uint8', [outputs, blocks, Q4_BLOCK / 2], data);
  const scale = graph.weight(`${name}_scales`, scaleType, [outputs * blocks], () =>
    rawBytes(scaleType, scales()),
  );
  return (builder, x) =>
    builder.node(
      'MatMulNBits',
      [x, b, scale],
      {
        K: { int: inputs },
        N: { int: outputs },
        bits: { int: 4 },
        block_size: { int: Q4_BLOCK },
        accuracy_level: { int: Q4_ACCURACY_LEVEL },
      },
      'com.microsoft',
    );
}

/**
 * Symmetric int8 per output column of W [in, out] (stored [in, out]): scale = max|w| / 63,
 * q = round(w / scale). No zero point: DynamicQuantizeMatMul then takes it as 0.
 */
export function quantizeInt8Columns(
  values: Float32Array,
  inputs: number,
  outputs: number,
): { data: Uint8Array; scales: Float32Array } {
  const scales = new Float32Array(outputs);
  for (let k = 0; k < inputs; k += 1) {
    for (let n = 0; n < outputs; n += 1) {
      scales[n] = Math.max(scales[n] as number, Math.abs(values[k * outputs + n] as number));
    }
  }
  for (let n = 0; n < outputs; n += 1) scales[n] = Math.fround((scales[n] as number) / INT8_MAX);
  const data = new Int8Array(inputs * outputs);
  for (let k = 0; k < inputs; k += 1) {
    for (let n = 0; n < outputs; n += 1) {
      const scale = scales[n] as number;
      data[k * outputs + n] = scale === 0 ? 0 : Math.round((values[k * outputs + n] as number) / scale);
    }
  }
  return { data: new Uint8Array(data.buffer), scales };
}

/**
 * 4-bit blocks of 32 inputs per output column, as MatMulNBits reads them: B [out, blocks, 16]
 * with consecutive inputs in a byte's low then high nibble, value = (q - 8) · scale. Scales and
 * values are llama.cpp's q4_0 (scale = the signed value of largest magnitude / -8, stored as
 * float16; q = min(15, trunc(w / scale + 8.5))); inputs past K pad a last block with zeros.
 */
export function quantizeQ4Blocks(
  values: Float32Array,
  inputs: number,
  outputs: number,
): { data: Uint8Array; scales: Float32Array } {
  const blocks = Math.ceil(inputs / Q4_BLOCK);
  const data = new Uint8Array(outputs * blocks * (Q4_BLOCK / 2));
  const scales = new Float32Array(outputs * blocks);
  const column = new Float32Array(blocks * Q4_BLOCK);
  for (let n = 0; n < outputs; n += 1) {
    column.fill(0);
    for (let k = 0; k < inputs; k += 1) column[k] = values[k * outputs + n] as number;
    for (let block = 0; block < blocks; block += 1) {
      let max = 0;
      for (let j = 0; j < Q4_BLOCK; j += 1) {
        const v = column[block * Q4_BLOCK + j] as number;
        if (Math.abs(v) > Math.abs(max)) max = v;
      }
      const d = Math.fround(max / -8);
      const id = d ? Math.fround(1 / d) : 0;
      scales[n * blocks + block] = fromFloat16Bits(toFloat16Bits(d));
      for (let j = 0; j < Q4_BLOCK; j += 2) {
        const q = (v: number) => Math.min(15, Math.trunc(Math.fround(Math.fround(v * id) + 8.5)));
        const low = q(column[block * Q4_BLOCK + j] as number);
        const high = q(column[block * Q4_BLOCK + j + 1] as number);
        data[(n * blocks + block) * (Q4_BLOCK / 2) + j / 2] = low | (high << 4);
      }
    }
  }
  return { data, scales };
}
