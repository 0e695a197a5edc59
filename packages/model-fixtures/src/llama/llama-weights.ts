import { onnx } from '@vmm/proto';
import type { GraphBuilder } from '../onnx/graph-builder.js';
import { rawBytes } from '../onnx/tensor-data.js';
import { Prng } from '../prng.js';
import { headDim, type LlamaShape } from './llama-shape.js';

interface WeightSpec {
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
 * Registers the weights on `graph` in `dtype` and returns a lookup from name to a float32
 * value: float16 weights get a Cast, which ONNX Runtime folds away when it loads the model.
 */
export function addLlamaWeights(
  graph: GraphBuilder,
  shape: LlamaShape,
  vocabSize: number,
  seed: number,
  dtype: 'float32' | 'float16',
): (name: string) => string {
  const values = new Map<string, string>();
  for (const spec of llamaWeightSpecs(shape, vocabSize)) {
    const stored = graph.weight(spec.name, dtype, spec.dims, () => rawBytes(dtype, weightValues(spec, seed)));
    values.set(
      spec.name,
      dtype === 'float16'
        ? graph.node('Cast', [stored], { to: { int: onnx.TensorProto_DataType.FLOAT } })
        : stored,
    );
  }
  return (name) => {
    const value = values.get(name);
    if (value === undefined) throw new Error(`no weight named ${name}`);
    return value;
  };
}
