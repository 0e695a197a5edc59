import { onnx } from '@vmm/proto';
import type { GraphBuilder } from '../onnx/graph-builder.js';
import { rawBytes } from '../onnx/tensor-data.js';
import { type FamilyShape, familyTraits, inverseFrequencies, isSlidingLayer } from './family-shape.js';
import type { FamilyWeights } from './family-weights.js';

const INT32 = onnx.TensorProto_DataType.INT32;

/**
 * A family's decoder as ONNX Runtime GenAI's model builder (`onnxruntime_genai.models.builder`,
 * whose int4 exports onnx-community republishes as `onnx/model_q4*.onnx`) lays it out:
 * - inputs input_ids, attention_mask, past_key_values.{i}.key|value [B, kv, P, D] in the io
 *   dtype; no position_ids (GroupQueryAttention derives positions from each row's length);
 * - `seqlens_k` = ReduceSum(attention_mask) - 1 and `total_seq_len` = its width, as int32;
 * - one SimplifiedLayerNormalization on the embeddings, then SkipSimplifiedLayerNormalization
 *   carrying the residual stream from norm to norm (Gemma's extra norms: plain ones);
 * - Q, K and V in one packed MatMul (bias as one Add), or apart where Q/K norms come between
 *   (Qwen 3, Gemma 3: a SimplifiedLayerNormalization per head);
 * - GroupQueryAttention with `do_rotary` = 1 and the model's cos/sin caches [max positions, D/2]
 *   (one pair per rope base), `local_window_size` on sliding layers, its `scale`;
 * - the MLP as gate and up MatMuls, SiLU as Sigmoid · x, tanh GELU as com.microsoft FastGelu;
 * - MatMulNBits for every projection and the head in the int4 files (`weights.options.q4`).
 * Norm weights hold Gemma's 1 + w already (`normOffset`), as the builder writes them.
 */
export function addGenaiDecoder(
  graph: GraphBuilder,
  shape: FamilyShape,
  weights: FamilyWeights,
  io: 'float32' | 'float16',
): void {
  const traits = familyTraits[shape.family];
  const dim = shape.headDim;
  const inputIds = graph.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const attentionMask = graph.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const pastDims = ['batch_size', shape.numKvHeads, 'past_sequence_length', dim];
  const past = Array.from({ length: shape.numLayers }, (_, i) => ({
    key: graph.input(`past_key_values.${i}.key`, io, pastDims),
    value: graph.input(`past_key_values.${i}.value`, io, pastDims),
  }));
  const i64 = (values: number[], dims?: number[]) => graph.constant('int64', values, dims);
  const ioConstant = (value: number) => graph.constant(io, [value], []);

  let embedded = graph.node('Gather', [weights.weight('model.embed_tokens.weight'), inputIds], {
    axis: { int: 0 },
  });
  if (traits.embedScale) embedded = graph.node('Mul', [embedded, ioConstant(Math.sqrt(shape.hiddenSize))]);

  const seqlensK = graph.node(
    'Cast',
    [
      graph.node('Sub', [
        graph.node('ReduceSum', [attentionMask, i64([1])], { keepdims: { int: 0 } }),
        i64([1], []),
      ]),
    ],
    { to: { int: INT32 } },
  );
  const totalSeqLen = graph.node(
    'Cast',
    [graph.node('Squeeze', [graph.node('Shape', [attentionMask], { start: { int: 1 }, end: { int: 2 } })])],
    { to: { int: INT32 } },
  );

  const caches = new Map<string, { cos: string; sin: string }>();
  const rotaryCaches = (layer: number) => {
    const frequencies = inverseFrequencies(shape, layer);
    const key = Array.from(frequencies).join(',');
    const known = caches.get(key);
    if (known) return known;
    const cos = new Float32Array(shape.maxPositions * (dim / 2));
    const sin = new Float32Array(shape.maxPositions * (dim / 2));
    for (let position = 0; position < shape.maxPositions; position += 1) {
      for (let i = 0; i < dim / 2; i += 1) {
        // The angle in float32, as transformers computes it (inv_freq · position in float32).
        const angle = Math.fround(position * (frequencies[i] as number));
        cos[position * (dim / 2) + i] = Math.cos(angle);
        sin[position * (dim / 2) + i] = Math.sin(angle);
      }
    }
    const suffix = caches.size === 0 ? '' : `_${caches.size}`;
    const made = {
      cos: graph.weight(`cos_cache${suffix}`, io, [shape.maxPositions, dim / 2], () => rawBytes(io, cos)),
      sin: graph.weight(`sin_cache${suffix}`, io, [shape.maxPositions, dim / 2], () => rawBytes(io, sin)),
    };
    caches.set(key, made);
    return made;
  };

  const epsilon = { float: shape.rmsNormEps };
  const simplified = (x: string, name: string) =>
    graph.node('SimplifiedLayerNormalization', [x, weights.weight(name)], {
      axis: { int: -1 },
      epsilon,
      stash_type: { int: 1 },
    });
  /** Normalises x + skip; returns the normed value and the sum (the residual stream). */
  const skipSimplified = (x: string, skip: string, name: string): [string, string] => {
    const [normed, , , sum] = graph.nodeN(
      'SkipSimplifiedLayerNormalization',
      [x, skip, weights.weight(name)],
      4,
      { epsilon },
      'com.microsoft',
    );
    return [normed as string, sum as string];
  };

  let residual = embedded;
  let pending: string | undefined; // the last block's output, not yet added to the residual
  for (let i = 0; i < shape.numLayers; i += 1) {
    const p = `model.layers.${i}.`;
    const layerPast = past[i] as { key: string; value: string };
    let x: string;
    if (pending === undefined) x = simplified(residual, `${p}input_layernorm.weight`);
    else [x, residual] = skipSimplified(pending, residual, `${p}input_layernorm.weight`);

    let attentionInputs: [string, string, string];
    if (traits.qkNorm) {
      const perHead = (value: string, count: number, name: string) =>
        graph.node('Reshape', [
          simplified(graph.node('Reshape', [value, i64([0, 0, count, dim])]), name),
          i64([0, 0, count * dim]),
        ]);
      attentionInputs = [
        perHead(
          weights.linear(graph, x, `${p}self_attn.q_proj.weight`),
          shape.numHeads,
          `${p}self_attn.q_norm.weight`,
        ),
        perHead(
          weights.linear(graph, x, `${p}self_attn.k_proj.weight`),
          shape.numKvHeads,
          `${p}self_attn.k_norm.weight`,
        ),
        weights.linear(graph, x, `${p}self_attn.v_proj.weight`),
      ];
    } else {
      let packed = weights.linear(graph, x, `${p}self_attn.qkv_proj.weight`);
      if (traits.qkvBias) packed = graph.node('Add', [packed, weights.weight(`${p}self_attn.qkv_proj.bias`)]);
      attentionInputs = [packed, '', ''];
    }
    const rotary = rotaryCaches(i);
    const window = isSlidingLayer(shape, i) && shape.slidingWindow ? shape.slidingWindow.size : -1;
    const [attended, presentKey, presentValue] = graph.nodeN(
      'GroupQueryAttention',
      [...attentionInputs, layerPast.key, layerPast.value, seqlensK, totalSeqLen, rotary.cos, rotary.sin],
      3,
      {
        num_heads: { int: shape.numHeads },
        kv_num_heads: { int: shape.numKvHeads },
        scale: { float: 1 / Math.sqrt(shape.queryPreAttnScalar ?? dim) },
        local_window_size: { int: window },
        do_rotary: { int: 1 },
        rotary_interleaved: { int: 0 },
      },
      'com.microsoft',
    ) as [string, string, string];
    const presentDims = ['batch_size', shape.numKvHeads, 'total_sequence_length', dim];
    graph.output(presentKey, `present.${i}.key`, io, presentDims);
    graph.output(presentValue, `present.${i}.value`, io, presentDims);
    let attentionOut = weights.linear(graph, attended, `${p}self_attn.o_proj.weight`);

    let mlpInput: string;
    if (traits.sandwichNorms) {
      attentionOut = simplified(attentionOut, `${p}post_attention_layernorm.weight`);
      [mlpInput, residual] = skipSimplified(attentionOut, residual, `${p}pre_feedforward_layernorm.weight`);
    } else {
      [mlpInput, residual] = skipSimplified(attentionOut, residual, `${p}post_attention_layernorm.weight`);
    }
    const gate = weights.linear(graph, mlpInput, `${p}mlp.gate_proj.weight`);
    const up = weights.linear(graph, mlpInput, `${p}mlp.up_proj.weight`);
    const activated =
      traits.activation === 'silu'
        ? graph.node('Mul', [gate, graph.node('Sigmoid', [gate])])
        : graph.node('FastGelu', [gate], {}, 'com.microsoft');
    let mlpOut = weights.linear(graph, graph.node('Mul', [activated, up]), `${p}mlp.down_proj.weight`);
    if (traits.sandwichNorms) mlpOut = simplified(mlpOut, `${p}post_feedforward_layernorm.weight`);
    pending = mlpOut;
  }
  const [normed] = skipSimplified(pending as string, residual, 'model.norm.weight');
  const logits = weights.linear(graph, normed, 'lm_head.weight');
  graph.output(logits, 'logits', io, ['batch_size', 'sequence_length', shape.vocabSize]);
}
