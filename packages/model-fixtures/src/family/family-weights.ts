import { onnx } from '@vmm/proto';
import type { GraphBuilder } from '../onnx/graph-builder.js';
import { rawBytes } from '../onnx/tensor-data.js';
import { q4Linear, quantizeQ4Blocks, type WeightSpec, weightValues } from '../llama/llama-weights.js';
import { type FamilyShape, familyTraits } from './family-shape.js';

/**
 * Every weight of a family's checkpoint by its Hugging Face name, matrices stored [in, out] as
 * exports store them for MatMul. Scales as the Llama fixtures' (activations near unit variance,
 * logits spread wide enough that greedy decoding is not decided by rounding). Gemma's norm weights
 * are centred on 0 because it multiplies by (1 + w).
 */
export function familyWeightSpecs(shape: FamilyShape): WeightSpec[] {
  const traits = familyTraits[shape.family];
  const h = shape.hiddenSize;
  const q = shape.numHeads * shape.headDim;
  const kv = shape.numKvHeads * shape.headDim;
  const inter = shape.intermediateSize;
  const linear = (name: string, fanIn: number, fanOut: number): WeightSpec => ({
    name,
    dims: [fanIn, fanOut],
    base: 0,
    scale: Math.sqrt(3 / fanIn),
  });
  const norm = (name: string, size = h): WeightSpec => ({
    name,
    dims: [size],
    base: traits.normPlusOne ? 0 : 1,
    scale: 0.1,
  });
  const bias = (name: string, size: number): WeightSpec => ({ name, dims: [size], base: 0, scale: 0.5 });
  const specs: WeightSpec[] = [
    { name: 'model.embed_tokens.weight', dims: [shape.vocabSize, h], base: 0, scale: 1 },
  ];
  for (let i = 0; i < shape.numLayers; i += 1) {
    const p = `model.layers.${i}.`;
    specs.push(norm(`${p}input_layernorm.weight`));
    if (traits.packedCheckpoint) specs.push(linear(`${p}self_attn.qkv_proj.weight`, h, q + 2 * kv));
    else
      specs.push(
        linear(`${p}self_attn.q_proj.weight`, h, q),
        linear(`${p}self_attn.k_proj.weight`, h, kv),
        linear(`${p}self_attn.v_proj.weight`, h, kv),
      );
    if (traits.qkvBias)
      specs.push(
        bias(`${p}self_attn.q_proj.bias`, q),
        bias(`${p}self_attn.k_proj.bias`, kv),
        bias(`${p}self_attn.v_proj.bias`, kv),
      );
    if (traits.qkNorm)
      specs.push(
        norm(`${p}self_attn.q_norm.weight`, shape.headDim),
        norm(`${p}self_attn.k_norm.weight`, shape.headDim),
      );
    specs.push(linear(`${p}self_attn.o_proj.weight`, q, h), norm(`${p}post_attention_layernorm.weight`));
    if (traits.sandwichNorms)
      specs.push(norm(`${p}pre_feedforward_layernorm.weight`), norm(`${p}post_feedforward_layernorm.weight`));
    if (traits.packedCheckpoint) specs.push(linear(`${p}mlp.gate_up_proj.weight`, h, 2 * inter));
    else specs.push(linear(`${p}mlp.gate_proj.weight`, h, inter), linear(`${p}mlp.up_proj.weight`, h, inter));
    specs.push(linear(`${p}mlp.down_proj.weight`, inter, h));
  }
  specs.push(norm('model.norm.weight'));
  if (!shape.tieWordEmbeddings)
    specs.push({
      name: 'lm_head.weight',
      dims: [h, shape.vocabSize],
      base: 0,
      scale: (3 * Math.sqrt(3)) / Math.sqrt(h),
    });
  return specs;
}

/** A matrix [rows, columns] row-major, or a vector (rows 1). */
interface Matrix {
  rows: number;
  columns: number;
  values: Float32Array;
}

/**
 * The values of a family's weights, and of the tensors exporters derive from them: a tied head
 * (`lm_head.weight`, the embedding transposed), packed projections (`qkv_proj`, `gate_up_proj`)
 * where the checkpoint has them apart, and apart where it packs them (Phi-3).
 */
export class FamilyWeightValues {
  private readonly specs: Map<string, WeightSpec>;

  constructor(
    readonly shape: FamilyShape,
    readonly seed: number,
  ) {
    this.specs = new Map(familyWeightSpecs(shape).map((spec) => [spec.name, spec]));
  }

  /** [in, out] for matrices, [size] for vectors. */
  dims(name: string): number[] {
    const spec = this.specs.get(name);
    if (spec) return spec.dims;
    const derived = this.derive(name);
    if (!derived) throw new Error(`no weight named ${name}`);
    return derived.dims;
  }

  matrix(name: string): Matrix {
    const spec = this.specs.get(name);
    if (spec) {
      const [rows, columns] =
        spec.dims.length === 2 ? (spec.dims as [number, number]) : [1, spec.dims[0] as number];
      return { rows, columns, values: weightValues(spec, this.seed) };
    }
    const derived = this.derive(name);
    if (!derived) throw new Error(`no weight named ${name}`);
    return derived.values();
  }

  values(name: string): Float32Array {
    return this.matrix(name).values;
  }

  private derive(name: string): { dims: number[]; values: () => Matrix } | undefined {
    const { shape } = this;
    const traits = familyTraits[shape.family];
    const q = shape.numHeads * shape.headDim;
    const kv = shape.numKvHeads * shape.headDim;
    const inter = shape.intermediateSize;
    if (name === 'lm_head.weight' && shape.tieWordEmbeddings) {
      return {
        dims: [shape.hiddenSize, shape.vocabSize],
        values: () => transpose(this.matrix('model.embed_tokens.weight')),
      };
    }
    const layer = /^(model\.layers\.\d+\.)(.+)$/.exec(name);
    if (!layer) return undefined;
    const [, p, rest] = layer as unknown as [string, string, string];
    const h = shape.hiddenSize;
    if (!traits.packedCheckpoint) {
      if (rest === 'self_attn.qkv_proj.weight')
        return {
          dims: [h, q + 2 * kv],
          values: () =>
            concatColumns(['q', 'k', 'v'].map((x) => this.matrix(`${p}self_attn.${x}_proj.weight`))),
        };
      if (rest === 'self_attn.qkv_proj.bias' && traits.qkvBias)
        return {
          dims: [q + 2 * kv],
          values: () =>
            concatColumns(['q', 'k', 'v'].map((x) => this.matrix(`${p}self_attn.${x}_proj.bias`))),
        };
      if (rest === 'mlp.gate_up_proj.weight')
        return {
          dims: [h, 2 * inter],
          values: () => concatColumns(['gate', 'up'].map((x) => this.matrix(`${p}mlp.${x}_proj.weight`))),
        };
      return undefined;
    }
    const slices: Record<string, [string, number, number]> = {
      'self_attn.q_proj.weight': ['self_attn.qkv_proj.weight', 0, q],
      'self_attn.k_proj.weight': ['self_attn.qkv_proj.weight', q, q + kv],
      'self_attn.v_proj.weight': ['self_attn.qkv_proj.weight', q + kv, q + 2 * kv],
      'mlp.gate_proj.weight': ['mlp.gate_up_proj.weight', 0, inter],
      'mlp.up_proj.weight': ['mlp.gate_up_proj.weight', inter, 2 * inter],
    };
    const slice = slices[rest];
    if (!slice) return undefined;
    const [source, from, to] = slice;
    return { dims: [h, to - from], values: () => sliceColumns(this.matrix(`${p}${source}`), from, to) };
  }
}

function transpose(m: Matrix): Matrix {
  const out = new Float32Array(m.values.length);
  for (let r = 0; r < m.rows; r += 1)
    for (let c = 0; c < m.columns; c += 1) out[c * m.rows + r] = m.values[r * m.columns + c] as number;
  return { rows: m.columns, columns: m.rows, values: out };
}

function concatColumns(parts: Matrix[]): Matrix {
  const rows = parts[0]?.rows ?? 0;
  const columns = parts.reduce((sum, part) => sum + part.columns, 0);
  const out = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r += 1) {
    let offset = r * columns;
    for (const part of parts) {
      out.set(part.values.subarray(r * part.columns, (r + 1) * part.columns), offset);
      offset += part.columns;
    }
  }
  return { rows, columns, values: out };
}

function sliceColumns(m: Matrix, from: number, to: number): Matrix {
  const columns = to - from;
  const out = new Float32Array(m.rows * columns);
  for (let r = 0; r < m.rows; r += 1)
    out.set(m.values.subarray(r * m.columns + from, r * m.columns + to), r * columns);
  return { rows: m.rows, columns, values: out };
}

/** How a graph holds its weights: their storage type and whether projections are 4-bit. */
export interface FamilyWeightOptions {
  /** Storage and compute type of non-quantized weights (the builder's io dtype). */
  dtype: 'float32' | 'float16';
  /** MatMulNBits for every projection and the head (not the embedding). */
  q4: boolean;
  /**
   * Whether float16 weights are cast to float32 in the graph (Optimum's fp16 files compute in
   * float32 here) or used as they are (the builder's q4f16: float16 activations).
   */
  computeIn: 'float32' | 'storage';
  /** Added to every norm weight when registered (the builder bakes Gemma's 1 + w in). */
  normOffset: number;
  /**
   * A tied head as the embedding read through a Transpose node (PyTorch's exporter: one
   * initializer for both) or as its own transposed copy (the builder's `lm_head` initializer).
   */
  tiedHead: 'transpose' | 'copy';
}

/** Registers a family's weights on a graph as they are asked for, each once. */
export class FamilyWeights {
  private readonly registered = new Map<string, string>();
  private readonly linears = new Map<string, (graph: GraphBuilder, x: string) => string>();

  constructor(
    private readonly graph: GraphBuilder,
    readonly source: FamilyWeightValues,
    readonly options: FamilyWeightOptions,
  ) {}

  /** A weight as a graph value in the compute type. */
  weight(name: string): string {
    const known = this.registered.get(name);
    if (known) return known;
    const { dtype, computeIn, normOffset } = this.options;
    const isNorm = /(layernorm|norm)\.weight$/.test(name);
    const stored = this.graph.weight(name, dtype, this.source.dims(name), () => {
      const values = this.source.values(name);
      if (isNorm && normOffset !== 0)
        for (let i = 0; i < values.length; i += 1) values[i] = (values[i] as number) + normOffset;
      return rawBytes(dtype, values);
    });
    const value =
      dtype === 'float16' && computeIn === 'float32'
        ? this.graph.node('Cast', [stored], { to: { int: onnx.TensorProto_DataType.FLOAT } })
        : stored;
    this.registered.set(name, value);
    return value;
  }

  /** x · W for the projection `name` ([in, out]): MatMul, or MatMulNBits when 4-bit. */
  linear(graph: GraphBuilder, x: string, name: string): string {
    if (
      name === 'lm_head.weight' &&
      this.source.shape.tieWordEmbeddings &&
      this.options.tiedHead === 'transpose' &&
      !this.options.q4
    ) {
      const embedding = this.weight('model.embed_tokens.weight');
      return graph.node('MatMul', [x, graph.node('Transpose', [embedding], { perm: { ints: [1, 0] } })]);
    }
    if (!this.options.q4) return graph.node('MatMul', [x, this.weight(name)]);
    let apply = this.linears.get(name);
    if (!apply) {
      const [inputs, outputs] = this.source.dims(name) as [number, number];
      let cached: { data: Uint8Array; scales: Float32Array } | undefined;
      const quantize = () => (cached ??= quantizeQ4Blocks(this.source.values(name), inputs, outputs));
      apply = q4Linear(
        this.graph,
        name,
        inputs,
        outputs,
        () => quantize().data,
        () => {
          const { scales } = quantize();
          cached = undefined;
          return scales;
        },
        this.options.computeIn === 'storage' ? this.options.dtype : 'float32',
      );
      this.linears.set(name, apply);
    }
    return apply(graph, x);
  }
}
