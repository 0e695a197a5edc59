import { onnx } from '@vmm/proto';
import type { GraphBuilder } from '../onnx/graph-builder.js';
import type { ElementType } from '../onnx/tensor-data.js';
import { headDim, type LlamaShape } from './llama-shape.js';

export interface LlamaGraphOptions {
  shape: LlamaShape;
  vocabSize: number;
  /** Weight, KV-cache and logits precision; the math itself always runs in float32. */
  dtype: 'float32' | 'float16';
  /** Without it, positions come from the attention mask (cumsum - 1), as some exports do. */
  positionIds: boolean;
  /** The legacy merged decoder: a `use_cache_branch` input selects an `If` branch. */
  merged: boolean;
  /**
   * `eager`: attention in plain ONNX ops (MatMul, Softmax; the KV heads tiled to every query
   * head, past and new keys concatenated), as Optimum exports it. `gqa`: one
   * com.microsoft GroupQueryAttention node per layer, as ONNX Runtime GenAI's model builder
   * exports (onnx-community's models): it reads each sequence's cache up to its length
   * (`attention_mask` sums), so a cache with room to spare costs nothing.
   */
  attention: 'eager' | 'gqa';
  /** The weights, by Hugging Face parameter name, already cast to float32 values in `graph`. */
  weight: (name: string) => string;
  /** x · W for a projection weight: a MatMul, or a quantized kernel (see addLlamaWeights). */
  linear: (graph: GraphBuilder, x: string, name: string) => string;
}

const FLOAT = onnx.TensorProto_DataType.FLOAT;
const FLOAT16 = onnx.TensorProto_DataType.FLOAT16;
const BOOL = onnx.TensorProto_DataType.BOOL;

interface AttentionContext {
  /** Rotary tables for [B, heads, S, D] (eager) and [B, S, heads, D] (gqa) layouts. */
  cos: string;
  sin: string;
  cosBsnh: string;
  sinBsnh: string;
  maskAdd: string;
  /** GroupQueryAttention's per-sequence total length - 1 (int32 [B]) and total length (int32). */
  seqlensK: string;
  totalLength: string;
}

interface LayerStack {
  hidden: string;
  /** `stored`: already in the cache's precision. */
  presents: { key: string; value: string; stored?: boolean }[];
}

/**
 * Adds a Llama decoder to `graph` with the inputs and outputs Optimum exports: input_ids,
 * attention_mask, position_ids, past_key_values.{i}.key|value → logits, present.{i}.key|value.
 */
export function addLlamaDecoder(graph: GraphBuilder, options: LlamaGraphOptions): void {
  const { shape } = options;
  const kvType: ElementType = options.dtype;
  const dim = headDim(shape);
  const inputIds = graph.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const attentionMask = graph.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const positionIds = options.positionIds
    ? graph.input('position_ids', 'int64', ['batch_size', 'sequence_length'])
    : undefined;
  const past = Array.from({ length: shape.numLayers }, (_, i) => ({
    key: graph.input(`past_key_values.${i}.key`, kvType, [
      'batch_size',
      shape.numKvHeads,
      'past_sequence_length',
      dim,
    ]),
    value: graph.input(`past_key_values.${i}.value`, kvType, [
      'batch_size',
      shape.numKvHeads,
      'past_sequence_length',
      dim,
    ]),
  }));
  const useCacheBranch = options.merged ? graph.input('use_cache_branch', 'bool', [1]) : undefined;

  const hidden = graph.node('Gather', [options.weight('model.embed_tokens.weight'), inputIds], {
    axis: { int: 0 },
  });
  const context = attentionContext(graph, options, inputIds, attentionMask, positionIds);

  const outputDims = {
    logits: ['batch_size', 'sequence_length', options.vocabSize],
    present: ['batch_size', shape.numKvHeads, 'total_sequence_length', dim],
  };
  const finish = (
    builder: GraphBuilder,
    stack: LayerStack,
    names: { logits: string; present: (i: number, kind: string) => string },
  ) => {
    const normed = rmsNorm(builder, stack.hidden, options.weight('model.norm.weight'), shape.rmsNormEps);
    const logits = options.linear(builder, normed, 'lm_head.weight');
    builder.output(toStorage(builder, logits, options.dtype), names.logits, kvType, outputDims.logits);
    stack.presents.forEach((present, i) => {
      const stored = (value: string) => (present.stored ? value : toStorage(builder, value, options.dtype));
      builder.output(stored(present.key), names.present(i, 'key'), kvType, outputDims.present);
      builder.output(stored(present.value), names.present(i, 'value'), kvType, outputDims.present);
    });
  };
  const present = (i: number, kind: string) => `present.${i}.${kind}`;

  if (!useCacheBranch) {
    finish(graph, layerStack(graph, options, hidden, context, past), { logits: 'logits', present });
    return;
  }
  // Both branches read the inputs and weights from the outer scope, like Optimum's merged decoders.
  const withPast = graph.subgraph('with_past', 'with_past/');
  finish(withPast, layerStack(withPast, options, hidden, context, past), {
    logits: 'with_past/logits',
    present: (i, kind) => `with_past/${present(i, kind)}`,
  });
  const noPast = graph.subgraph('no_past', 'no_past/');
  finish(noPast, layerStack(noPast, options, hidden, context, undefined), {
    logits: 'no_past/logits',
    present: (i, kind) => `no_past/${present(i, kind)}`,
  });
  const outputs = graph.nodeN('If', [useCacheBranch], 1 + 2 * shape.numLayers, {
    then_branch: { graph: withPast.graphProto() },
    else_branch: { graph: noPast.graphProto() },
  });
  graph.output(outputs[0] as string, 'logits', kvType, outputDims.logits);
  for (let i = 0; i < shape.numLayers; i += 1) {
    graph.output(outputs[1 + 2 * i] as string, present(i, 'key'), kvType, outputDims.present);
    graph.output(outputs[2 + 2 * i] as string, present(i, 'value'), kvType, outputDims.present);
  }
}

function toStorage(graph: GraphBuilder, value: string, dtype: 'float32' | 'float16'): string {
  return dtype === 'float16' ? graph.node('Cast', [value], { to: { int: FLOAT16 } }) : value;
}

function toCompute(graph: GraphBuilder, value: string, dtype: 'float32' | 'float16'): string {
  return dtype === 'float16' ? graph.node('Cast', [value], { to: { int: FLOAT } }) : value;
}

/** The additive causal + padding mask [B, 1, S, T] and the rotary cos/sin [B, 1, S, D]. */
function attentionContext(
  graph: GraphBuilder,
  options: LlamaGraphOptions,
  inputIds: string,
  attentionMask: string,
  positionIds: string | undefined,
): AttentionContext {
  const dim = headDim(options.shape);
  const seqLen = graph.node('Shape', [inputIds], { start: { int: 1 }, end: { int: 2 } });
  const totalLen = graph.node('Shape', [attentionMask], { start: { int: 1 }, end: { int: 2 } });
  const pastLen = graph.node('Sub', [totalLen, seqLen]);
  const zero = graph.constant('int64', [0], []);
  const one = graph.constant('int64', [1], []);
  const keyIndex = graph.node('Range', [zero, graph.node('Squeeze', [totalLen]), one]);
  const queryIndex = graph.node('Range', [
    graph.node('Squeeze', [pastLen]),
    graph.node('Squeeze', [totalLen]),
    one,
  ]);
  // Query at absolute position p may attend keys 0..p: causal[s, t] = t <= past + s.
  const causal = graph.node('LessOrEqual', [
    graph.node('Unsqueeze', [keyIndex, graph.constant('int64', [0])]),
    graph.node('Unsqueeze', [queryIndex, graph.constant('int64', [1])]),
  ]);
  const notPadding = graph.node('Unsqueeze', [
    graph.node('Cast', [attentionMask], { to: { int: BOOL } }),
    graph.constant('int64', [1, 2]),
  ]);
  const allowed = graph.node('And', [causal, notPadding]);
  // The most negative float, not -inf: a fully masked (padding) row then softmaxes to a
  // uniform distribution instead of NaN, as Hugging Face's masks do.
  const maskAdd = graph.node('Where', [
    allowed,
    graph.constant('float32', [0], []),
    graph.constant('float32', [-3.4028234663852886e38], []),
  ]);

  const positions =
    positionIds ??
    graph.node('Slice', [
      graph.node('Sub', [graph.node('CumSum', [attentionMask, graph.constant('int64', [1], [])]), one]),
      pastLen,
      totalLen,
      graph.constant('int64', [1]),
    ]);
  const inverseFrequency = Array.from(
    { length: dim / 2 },
    (_, i) => 1 / options.shape.ropeTheta ** ((2 * i) / dim),
  );
  const angles = graph.node('Mul', [
    graph.node('Unsqueeze', [
      graph.node('Cast', [positions], { to: { int: FLOAT } }),
      graph.constant('int64', [2]),
    ]),
    graph.constant('float32', inverseFrequency),
  ]);
  const embedded = graph.node('Concat', [angles, angles], { axis: { int: -1 } });
  const heads = graph.constant('int64', [1]);
  const headsBsnh = graph.constant('int64', [2]);
  const cos = graph.node('Cos', [embedded]);
  const sin = graph.node('Sin', [embedded]);
  const INT32 = onnx.TensorProto_DataType.INT32;
  return {
    cos: graph.node('Unsqueeze', [cos, heads]),
    sin: graph.node('Unsqueeze', [sin, heads]),
    cosBsnh: graph.node('Unsqueeze', [cos, headsBsnh]),
    sinBsnh: graph.node('Unsqueeze', [sin, headsBsnh]),
    maskAdd,
    // As ONNX Runtime GenAI's builder writes them: a sequence's length is its mask's sum.
    seqlensK: graph.node(
      'Cast',
      [
        graph.node('Sub', [
          graph.node('ReduceSum', [attentionMask, graph.constant('int64', [1])], { keepdims: { int: 0 } }),
          one,
        ]),
      ],
      { to: { int: INT32 } },
    ),
    totalLength: graph.node('Cast', [graph.node('Squeeze', [totalLen])], { to: { int: INT32 } }),
  };
}

function rmsNorm(graph: GraphBuilder, x: string, weight: string, eps: number): string {
  const meanSquare = graph.node('ReduceMean', [graph.node('Mul', [x, x])], {
    axes: { ints: [-1] },
    keepdims: { int: 1 },
  });
  const rms = graph.node('Sqrt', [graph.node('Add', [meanSquare, graph.constant('float32', [eps], [])])]);
  return graph.node('Mul', [graph.node('Div', [x, rms]), weight]);
}

function layerStack(
  graph: GraphBuilder,
  options: LlamaGraphOptions,
  embedded: string,
  context: AttentionContext,
  past: { key: string; value: string }[] | undefined,
): LayerStack {
  const { shape } = options;
  const dim = headDim(shape);
  const repeats = shape.numHeads / shape.numKvHeads;
  const w = (i: number, name: string) => options.weight(`model.layers.${i}.${name}`);
  const lin = (i: number, x: string, name: string) => options.linear(graph, x, `model.layers.${i}.${name}`);
  const half = graph.constant('int64', [dim / 2, dim / 2]);

  const heads = (x: string, count: number) =>
    graph.node('Transpose', [graph.node('Reshape', [x, graph.constant('int64', [0, 0, count, dim])])], {
      perm: { ints: [0, 2, 1, 3] },
    });
  const rotate = (x: string) => {
    // Llama's rotate_half: [x1, x2] -> [-x2, x1] over the two halves of the head dimension.
    const [x1, x2] = graph.nodeN('Split', [x, half], 2, { axis: { int: 3 } }) as [string, string];
    const rotated = graph.node('Concat', [graph.node('Neg', [x2]), x1], { axis: { int: 3 } });
    return graph.node('Add', [
      graph.node('Mul', [x, context.cos]),
      graph.node('Mul', [rotated, context.sin]),
    ]);
  };
  const repeatKv = (x: string) =>
    repeats === 1
      ? x
      : graph.node('Reshape', [
          graph.node('Tile', [
            graph.node('Unsqueeze', [x, graph.constant('int64', [2])]),
            graph.constant('int64', [1, 1, repeats, 1, 1]),
          ]),
          graph.constant('int64', [0, shape.numHeads, -1, dim]),
        ]);

  /** Rotary embedding in [B, S, heads·D] layout, for GroupQueryAttention. */
  const rotatePacked = (x: string, count: number) => {
    const split = graph.node('Reshape', [x, graph.constant('int64', [0, 0, count, dim])]);
    const [x1, x2] = graph.nodeN('Split', [split, half], 2, { axis: { int: 3 } }) as [string, string];
    const rotated = graph.node('Concat', [graph.node('Neg', [x2]), x1], { axis: { int: 3 } });
    const out = graph.node('Add', [
      graph.node('Mul', [split, context.cosBsnh]),
      graph.node('Mul', [rotated, context.sinBsnh]),
    ]);
    return graph.node('Reshape', [out, graph.constant('int64', [0, 0, -1])]);
  };

  let hidden = embedded;
  const presents: LayerStack['presents'] = [];
  for (let i = 0; i < shape.numLayers; i += 1) {
    const x = rmsNorm(graph, hidden, w(i, 'input_layernorm.weight'), shape.rmsNormEps);
    const layerPast = past?.[i];
    if (options.attention === 'gqa' && layerPast) {
      const query = rotatePacked(lin(i, x, 'self_attn.q_proj.weight'), shape.numHeads);
      const key = rotatePacked(lin(i, x, 'self_attn.k_proj.weight'), shape.numKvHeads);
      const value = lin(i, x, 'self_attn.v_proj.weight');
      // The kernel's element type is the cache's: in float16 models the new rows are cast down.
      const store = (v: string) => toStorage(graph, v, options.dtype);
      const [attended, presentKey, presentValue] = graph.nodeN(
        'GroupQueryAttention',
        [
          store(query),
          store(key),
          store(value),
          layerPast.key,
          layerPast.value,
          context.seqlensK,
          context.totalLength,
        ],
        3,
        { num_heads: { int: shape.numHeads }, kv_num_heads: { int: shape.numKvHeads } },
        'com.microsoft',
      ) as [string, string, string];
      // Presents are already in storage precision; finish() must not cast them again.
      presents.push({ key: presentKey, value: presentValue, stored: true });
      hidden = graph.node('Add', [
        hidden,
        lin(i, toCompute(graph, attended, options.dtype), 'self_attn.o_proj.weight'),
      ]);
      hidden = mlp(graph, hidden, i, options);
      continue;
    }
    const query = rotate(heads(lin(i, x, 'self_attn.q_proj.weight'), shape.numHeads));
    const key = rotate(heads(lin(i, x, 'self_attn.k_proj.weight'), shape.numKvHeads));
    const value = heads(lin(i, x, 'self_attn.v_proj.weight'), shape.numKvHeads);
    const presentKey = layerPast
      ? graph.node('Concat', [toCompute(graph, layerPast.key, options.dtype), key], { axis: { int: 2 } })
      : key;
    const presentValue = layerPast
      ? graph.node('Concat', [toCompute(graph, layerPast.value, options.dtype), value], { axis: { int: 2 } })
      : value;
    presents.push({ key: presentKey, value: presentValue });

    const keysT = graph.node('Transpose', [repeatKv(presentKey)], { perm: { ints: [0, 1, 3, 2] } });
    const scores = graph.node('Add', [
      graph.node('Mul', [
        graph.node('MatMul', [query, keysT]),
        graph.constant('float32', [1 / Math.sqrt(dim)], []),
      ]),
      context.maskAdd,
    ]);
    const probabilities = graph.node('Softmax', [scores], { axis: { int: -1 } });
    const attended = graph.node('Reshape', [
      graph.node('Transpose', [graph.node('MatMul', [probabilities, repeatKv(presentValue)])], {
        perm: { ints: [0, 2, 1, 3] },
      }),
      graph.constant('int64', [0, 0, -1]),
    ]);
    hidden = graph.node('Add', [hidden, lin(i, attended, 'self_attn.o_proj.weight')]);
    hidden = mlp(graph, hidden, i, options);
  }
  return { hidden, presents };
}

function mlp(graph: GraphBuilder, hidden: string, i: number, options: LlamaGraphOptions): string {
  const w = (name: string) => options.weight(`model.layers.${i}.${name}`);
  const y = rmsNorm(graph, hidden, w('post_attention_layernorm.weight'), options.shape.rmsNormEps);
  const gate = options.linear(graph, y, `model.layers.${i}.mlp.gate_proj.weight`);
  const up = options.linear(graph, y, `model.layers.${i}.mlp.up_proj.weight`);
  const activated = graph.node('Mul', [graph.node('Mul', [gate, graph.node('Sigmoid', [gate])]), up]);
  return graph.node('Add', [
    hidden,
    options.linear(graph, activated, `model.layers.${i}.mlp.down_proj.weight`),
  ]);
}
