import { onnx } from '@vmm/proto';
import type { GraphBuilder } from '../onnx/graph-builder.js';
import { type FamilyShape, familyTraits, inverseFrequencies, isSlidingLayer } from './family-shape.js';
import type { FamilyWeights } from './family-weights.js';

const FLOAT = onnx.TensorProto_DataType.FLOAT;
const BOOL = onnx.TensorProto_DataType.BOOL;
const LOWEST = -3.4028234663852886e38;

/**
 * A family's decoder as Optimum (and so transformers.js's onnx-community `model.onnx`) lays it
 * out: inputs input_ids, attention_mask, position_ids, past_key_values.{i}.key|value [B, kv, P, D]
 * → logits, present.{i}.key|value; eager attention in plain ops (rotary as Mul/Neg/Concat over
 * the two halves, KV heads repeated, past and new keys concatenated), every family's differences
 * spelled out in ops as its modelling code computes them.
 *
 * Masks use real positions: a sliding-window layer lets a query at position p see keys at
 * positions p - window < k <= p, counted from the attention mask, so a cache fed with unused
 * space between the past and the new rows (as VMM's engine feeds it) windows the same as a
 * contiguous one.
 */
export function addOptimumDecoder(
  graph: GraphBuilder,
  shape: FamilyShape,
  weights: FamilyWeights,
  options: OptimumDecoderOptions = {},
): void {
  const traits = familyTraits[shape.family];
  const dim = shape.headDim;
  const first = options.inputsEmbeds
    ? graph.input('inputs_embeds', 'float32', ['batch_size', 'sequence_length', shape.hiddenSize])
    : graph.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const attentionMask = graph.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const mrope = options.mrope;
  // Qwen2-VL's multimodal rotary positions: [3, B, S] (time, height, width).
  const positionIds = graph.input(
    'position_ids',
    'int64',
    mrope ? [3, 'batch_size', 'sequence_length'] : ['batch_size', 'sequence_length'],
  );
  const pastDims = ['batch_size', shape.numKvHeads, 'past_sequence_length', dim];
  const past = Array.from({ length: shape.numLayers }, (_, i) => ({
    key: graph.input(`past_key_values.${i}.key`, 'float32', pastDims),
    value: graph.input(`past_key_values.${i}.value`, 'float32', pastDims),
  }));
  const f32 = (values: number[], dims?: number[]) => graph.constant('float32', values, dims);
  const i64 = (values: number[], dims?: number[]) => graph.constant('int64', values, dims);

  let hidden = options.inputsEmbeds ? first : embedTokens(graph, shape, weights, first);

  // Masks [B, 1, S, T]: causal by position, padding from the mask, and the sliding window.
  const keyPositions = graph.node('Sub', [graph.node('CumSum', [attentionMask, i64([1], [])]), i64([1], [])]);
  // A query's place: its position, or with multimodal positions (which stand still across an
  // image and so cannot order it) its index, the mask's last S entries.
  const newTokens = () =>
    graph.node('Gather', [graph.node('Shape', [first]), i64([1])], { axis: { int: 0 } });
  const queryIndex = mrope
    ? graph.node('Slice', [keyPositions, graph.node('Neg', [newTokens()]), i64([2 ** 62]), i64([1])])
    : positionIds;
  const queryPos = graph.node('Unsqueeze', [queryIndex, i64([2])]); // [B, S, 1]
  const keyPos = graph.node('Unsqueeze', [keyPositions, i64([1])]); // [B, 1, T]
  const distance = graph.node('Sub', [queryPos, keyPos]); // [B, S, T]
  const present = graph.node('Cast', [attentionMask], { to: { int: BOOL } });
  const visible = graph.node('And', [
    graph.node('GreaterOrEqual', [distance, i64([0], [])]),
    graph.node('Unsqueeze', [present, i64([1])]),
  ]);
  const additive = (allowed: string) =>
    graph.node('Unsqueeze', [graph.node('Where', [allowed, f32([0], []), f32([LOWEST], [])]), i64([1])]);
  const globalMask = additive(visible);
  const localMask = shape.slidingWindow
    ? additive(
        graph.node('And', [visible, graph.node('Less', [distance, i64([shape.slidingWindow.size], [])])]),
      )
    : globalMask;

  // Rotary tables per rope base: cos/sin [B, 1, S, D].
  const angleCache = new Map<string, { cos: string; sin: string }>();
  const rotary = (layer: number) => {
    const frequencies = inverseFrequencies(shape, layer);
    const key = Array.from(frequencies).join(',');
    const known = angleCache.get(key);
    if (known) return known;
    const positions = graph.node('Cast', [positionIds], { to: { int: FLOAT } });
    const angles = mrope
      ? // Each frequency turns with one of the three positions: sections of the half dimension
        // (mrope_section, e.g. [16, 24, 24]) for time, height and width, in that order.
        graph.node(
          'ReduceSum',
          [
            graph.node('Mul', [
              graph.node('Mul', [
                graph.node('Unsqueeze', [positions, i64([3])]),
                f32(Array.from(frequencies)),
              ]),
              f32(mropeSelection(mrope, dim / 2), [3, 1, 1, dim / 2]),
            ]),
            i64([0]),
          ],
          { keepdims: { int: 0 } },
        )
      : graph.node('Mul', [graph.node('Unsqueeze', [positions, i64([2])]), f32(Array.from(frequencies))]);
    const embedded = graph.node('Concat', [angles, angles], { axis: { int: -1 } });
    const tables = {
      cos: graph.node('Unsqueeze', [graph.node('Cos', [embedded]), i64([1])]),
      sin: graph.node('Unsqueeze', [graph.node('Sin', [embedded]), i64([1])]),
    };
    angleCache.set(key, tables);
    return tables;
  };

  const norm = (x: string, name: string) =>
    rmsNorm(graph, x, weights.weight(name), shape.rmsNormEps, traits.normPlusOne);
  const half = i64([dim / 2, dim / 2]);
  const rotate = (x: string, tables: { cos: string; sin: string }) => {
    const [x1, x2] = graph.nodeN('Split', [x, half], 2, { axis: { int: 3 } }) as [string, string];
    const rotated = graph.node('Concat', [graph.node('Neg', [x2]), x1], { axis: { int: 3 } });
    return graph.node('Add', [graph.node('Mul', [x, tables.cos]), graph.node('Mul', [rotated, tables.sin])]);
  };
  /** [B, S, n·D] → [B, S, n, D]. */
  const split = (x: string, count: number) => graph.node('Reshape', [x, i64([0, 0, count, dim])]);
  const toHeads = (x: string) => graph.node('Transpose', [x], { perm: { ints: [0, 2, 1, 3] } });
  const repeats = shape.numHeads / shape.numKvHeads;
  const repeatKv = (x: string) =>
    repeats === 1
      ? x
      : graph.node('Reshape', [
          graph.node('Tile', [graph.node('Unsqueeze', [x, i64([2])]), i64([1, 1, repeats, 1, 1])]),
          i64([0, shape.numHeads, -1, dim]),
        ]);
  const scale = Math.fround(1 / Math.sqrt(shape.queryPreAttnScalar ?? dim));
  const q = shape.numHeads * dim;
  const kv = shape.numKvHeads * dim;

  for (let i = 0; i < shape.numLayers; i += 1) {
    const p = `model.layers.${i}.`;
    const layerPast = past[i] as { key: string; value: string };
    const x = norm(hidden, `${p}input_layernorm.weight`);
    let query: string;
    let key: string;
    let value: string;
    if (traits.packedCheckpoint) {
      const qkv = weights.linear(graph, x, `${p}self_attn.qkv_proj.weight`);
      [query, key, value] = graph.nodeN('Split', [qkv, i64([q, kv, kv])], 3, { axis: { int: -1 } }) as [
        string,
        string,
        string,
      ];
    } else {
      const project = (name: string) => {
        const out = weights.linear(graph, x, `${p}self_attn.${name}_proj.weight`);
        return traits.qkvBias
          ? graph.node('Add', [out, weights.weight(`${p}self_attn.${name}_proj.bias`)])
          : out;
      };
      query = project('q');
      key = project('k');
      value = project('v');
    }
    let queryHeads = split(query, shape.numHeads);
    let keyHeads = split(key, shape.numKvHeads);
    if (traits.qkNorm) {
      queryHeads = norm(queryHeads, `${p}self_attn.q_norm.weight`);
      keyHeads = norm(keyHeads, `${p}self_attn.k_norm.weight`);
    }
    const tables = rotary(i);
    const rotatedQuery = rotate(toHeads(queryHeads), tables);
    const newKey = rotate(toHeads(keyHeads), tables);
    const newValue = toHeads(split(value, shape.numKvHeads));
    const presentKey = graph.node('Concat', [layerPast.key, newKey], { axis: { int: 2 } });
    const presentValue = graph.node('Concat', [layerPast.value, newValue], { axis: { int: 2 } });
    graph.output(presentKey, `present.${i}.key`, 'float32', [
      'batch_size',
      shape.numKvHeads,
      'total_sequence_length',
      dim,
    ]);
    graph.output(presentValue, `present.${i}.value`, 'float32', [
      'batch_size',
      shape.numKvHeads,
      'total_sequence_length',
      dim,
    ]);
    const scores = graph.node('Add', [
      graph.node('Mul', [
        graph.node('MatMul', [
          rotatedQuery,
          graph.node('Transpose', [repeatKv(presentKey)], { perm: { ints: [0, 1, 3, 2] } }),
        ]),
        f32([scale], []),
      ]),
      isSlidingLayer(shape, i) ? localMask : globalMask,
    ]);
    const attended = graph.node('Reshape', [
      graph.node(
        'Transpose',
        [
          graph.node('MatMul', [
            graph.node('Softmax', [scores], { axis: { int: -1 } }),
            repeatKv(presentValue),
          ]),
        ],
        {
          perm: { ints: [0, 2, 1, 3] },
        },
      ),
      i64([0, 0, q]),
    ]);
    let attentionOut = weights.linear(graph, attended, `${p}self_attn.o_proj.weight`);
    if (traits.sandwichNorms) {
      attentionOut = norm(attentionOut, `${p}post_attention_layernorm.weight`);
      hidden = graph.node('Add', [hidden, attentionOut]);
      const mlpOut = mlp(graph, shape, weights, norm(hidden, `${p}pre_feedforward_layernorm.weight`), p);
      hidden = graph.node('Add', [hidden, norm(mlpOut, `${p}post_feedforward_layernorm.weight`)]);
    } else {
      hidden = graph.node('Add', [hidden, attentionOut]);
      hidden = graph.node('Add', [
        hidden,
        mlp(graph, shape, weights, norm(hidden, `${p}post_attention_layernorm.weight`), p),
      ]);
    }
  }
  const logits = weights.linear(graph, norm(hidden, 'model.norm.weight'), 'lm_head.weight');
  graph.output(logits, 'logits', 'float32', ['batch_size', 'sequence_length', shape.vocabSize]);
}

/** [3 × half]: 1 where frequency i takes the section's position (time, height, width). */
function mropeSelection(sections: readonly number[], half: number): number[] {
  if (sections.reduce((a, b) => a + b, 0) !== half)
    throw new RangeError(`mrope sections ${sections.join('+')} must add up to head_dim / 2 = ${half}`);
  const out = new Array<number>(3 * half).fill(0);
  let i = 0;
  sections.forEach((length, k) => {
    for (let j = 0; j < length; j += 1, i += 1) out[k * half + i] = 1;
  });
  return out;
}

export interface OptimumDecoderOptions {
  /**
   * The decoder of a vision-language export: it takes `inputs_embeds` [B, S, hidden] instead of
   * token ids, and a separate `embed_tokens` graph (addEmbedTokens) turns ids into them, so
   * image features can take the place of image tokens in between.
   */
  inputsEmbeds?: boolean;
  /**
   * Qwen2-VL's multimodal rotary embedding (`rope_scaling.mrope_section`): position_ids are
   * [3, B, S] and each section of frequencies turns with its own position; the causal mask then
   * orders queries by index (the mask's count), not by position.
   */
  mrope?: readonly number[];
}

/** The token embedding (scaled by √hidden for Gemma), as the decoder and `embed_tokens` compute it. */
function embedTokens(graph: GraphBuilder, shape: FamilyShape, weights: FamilyWeights, ids: string): string {
  const hidden = graph.node('Gather', [weights.weight('model.embed_tokens.weight'), ids], {
    axis: { int: 0 },
  });
  return familyTraits[shape.family].embedScale
    ? graph.node('Mul', [hidden, graph.constant('float32', [Math.fround(Math.sqrt(shape.hiddenSize))], [])])
    : hidden;
}

/**
 * A vision-language export's `embed_tokens.onnx`: input_ids [B, S] → inputs_embeds [B, S, hidden]
 * (transformers.js's `encode_text`).
 */
export function addEmbedTokens(graph: GraphBuilder, shape: FamilyShape, weights: FamilyWeights): void {
  const ids = graph.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  graph.output(embedTokens(graph, shape, weights, ids), 'inputs_embeds', 'float32', [
    'batch_size',
    'sequence_length',
    shape.hiddenSize,
  ]);
}

/** RMSNorm over the last axis: x / √(mean(x²) + ε) · w, or · (1 + w) (Gemma). */
function rmsNorm(graph: GraphBuilder, x: string, weight: string, eps: number, plusOne: boolean): string {
  const meanSquare = graph.node('ReduceMean', [graph.node('Mul', [x, x])], {
    axes: { ints: [-1] },
    keepdims: { int: 1 },
  });
  const rms = graph.node('Sqrt', [graph.node('Add', [meanSquare, graph.constant('float32', [eps], [])])]);
  const scale = plusOne ? graph.node('Add', [weight, graph.constant('float32', [1], [])]) : weight;
  return graph.node('Mul', [graph.node('Div', [x, rms]), scale]);
}

/** The gated MLP: down(act(gate(x)) · up(x)), Phi-3's gate and up cut from one packed product. */
function mlp(graph: GraphBuilder, shape: FamilyShape, weights: FamilyWeights, x: string, p: string): string {
  const traits = familyTraits[shape.family];
  let gate: string;
  let up: string;
  if (traits.packedCheckpoint) {
    const both = weights.linear(graph, x, `${p}mlp.gate_up_proj.weight`);
    [gate, up] = graph.nodeN(
      'Split',
      [both, graph.constant('int64', [shape.intermediateSize, shape.intermediateSize])],
      2,
      {
        axis: { int: -1 },
      },
    ) as [string, string];
  } else {
    gate = weights.linear(graph, x, `${p}mlp.gate_proj.weight`);
    up = weights.linear(graph, x, `${p}mlp.up_proj.weight`);
  }
  const activated =
    traits.activation === 'silu'
      ? graph.node('Mul', [gate, graph.node('Sigmoid', [gate])])
      : geluTanh(graph, gate);
  return weights.linear(graph, graph.node('Mul', [activated, up]), `${p}mlp.down_proj.weight`);
}

/** PyTorch's gelu(approximate='tanh'): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as opset 17 spells it. */
export function geluTanh(graph: GraphBuilder, x: string): string {
  const c = (value: number) => graph.constant('float32', [value], []);
  const cube = graph.node('Mul', [graph.node('Mul', [x, x]), x]);
  const inner = graph.node('Mul', [
    graph.node('Add', [x, graph.node('Mul', [cube, c(0.044715)])]),
    c(Math.sqrt(2 / Math.PI)),
  ]);
  return graph.node('Mul', [
    graph.node('Mul', [x, c(0.5)]),
    graph.node('Add', [graph.node('Tanh', [inner]), c(1)]),
  ]);
}
