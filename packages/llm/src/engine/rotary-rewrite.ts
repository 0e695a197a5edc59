import { type EditedNode, editOnnxGraph, type NewNode, type OnnxGraph, type TensorType } from '@vmm/runtime';
import type { KvPlan } from './kv-plan.js';

/** A decoder rewritten so that its new KV rows are values of the graph (see unfuseRotary). */
export interface RotaryRewrite {
  model: Uint8Array;
  rows: NonNullable<KvPlan['rows']>;
}

// GroupQueryAttention's inputs (com.microsoft, ONNX Runtime 1.2x).
const QUERY = 0;
const KEY = 1;
const VALUE = 2;
const COS = 7;
const SIN = 8;
const POSITION_IDS = 9;

/**
 * ONNX Runtime GenAI's builder fuses rotation into GroupQueryAttention (`do_rotary`) and packs Q,
 * K and V into its query input: the rotated key rows that the cache keeps then exist only inside
 * the kernel, and the engine would have to copy every sequence's whole cache out of `present.*`
 * at each step. This rewrite takes the rotation out, as the project's own GQA layout has it:
 *
 *   packed ─ Split ─┬ q ─ RotaryEmbedding ─┐
 *                   ├ k ─ RotaryEmbedding ─┼─ GroupQueryAttention (do_rotary 0, same caches)
 *                   └ v ───────────────────┘
 *
 * with the node's own cos/sin caches, `rotary_interleaved` and positions (its position_ids input,
 * or a new `position_ids` graph input the engine feeds: each row's past length onwards, which is
 * what the kernel derives from `seqlens_k`). The key and value rows are then graph values the
 * engine reads as extra outputs. Returns undefined when some layer's attention is not such a node.
 */
export function unfuseRotary(
  /** The model's bytes, read only once the graph is known to need the rewrite. */
  readModel: () => Uint8Array,
  graph: OnnxGraph,
  layers: number,
  kvType: TensorType,
): RotaryRewrite | undefined {
  const producer = new Map<string, number>();
  graph.nodes.forEach((node, index) => {
    for (const output of node.outputs) producer.set(output, index);
  });
  const through = (value: string): number | undefined => {
    let current = value;
    for (let hops = 0; hops < 8; hops += 1) {
      const index = producer.get(current);
      const node = index === undefined ? undefined : graph.nodes[index];
      if (!node || (node.opType !== 'Identity' && node.opType !== 'Cast')) return index;
      current = node.inputs[0] ?? '';
    }
    return undefined;
  };

  const layerOf = new Map<number, number>();
  for (let layer = 0; layer < layers; layer += 1) {
    const index = through(`present.${layer}.key`);
    const node = index === undefined ? undefined : graph.nodes[index];
    if (
      index === undefined ||
      !node ||
      node.opType !== 'GroupQueryAttention' ||
      node.domain !== 'com.microsoft' ||
      node.ints.do_rotary !== 1 ||
      through(`present.${layer}.value`) !== index ||
      !node.inputs[COS] ||
      !node.inputs[SIN]
    )
      return undefined;
    layerOf.set(index, layer);
  }

  const inputNames = new Set(graph.inputs.map((input) => input.name));
  const needsPositions = [...layerOf.keys()].some((index) => !graph.nodes[index]?.inputs[POSITION_IDS]);
  if (needsPositions && inputNames.has('position_ids')) return undefined;
  // In layer order: layerOf was filled layer by layer.
  const rows: NonNullable<KvPlan['rows']> = [];
  const plans = new Map<number, (node: EditedNode) => NewNode[]>();
  for (const [index, layer] of layerOf) {
    const node = graph.nodes[index];
    if (!node) return undefined;
    const heads = node.ints.num_heads ?? 0;
    const kvHeads = node.ints.kv_num_heads ?? 0;
    const past = graph.inputs.find((input) => input.name === `past_key_values.${layer}.key`);
    const headSize = past?.dims[3];
    const cosDims = graph.initializerDims.get(node.inputs[COS] ?? '');
    if (heads <= 0 || kvHeads <= 0 || typeof headSize !== 'number') return undefined;
    // The rotated part of each head: the cos cache's width × 2 (partial rotary rotates a prefix).
    const rotaryDim = cosDims?.length === 2 ? (cosDims[1] as number) * 2 : headSize;
    const prefix = `/vmm/unfused_rotary/layer${layer}`;
    const packed = !node.inputs[KEY];
    const query = packed ? `${prefix}/q` : (node.inputs[QUERY] as string);
    const key = packed ? `${prefix}/k` : (node.inputs[KEY] as string);
    const value = packed ? `${prefix}/v` : (node.inputs[VALUE] as string);
    const rotatedKey = `${prefix}/k_rotated`;
    rows.push({
      key: { value: rotatedKey, layout: 'bsnh', type: kvType },
      value: { value, layout: 'bsnh', type: kvType },
    });
    plans.set(index, (original) => {
      const positions = original.inputs[POSITION_IDS] || 'position_ids';
      const rotary = (input: string, output: string, count: number): NewNode => ({
        name: `${output}/RotaryEmbedding`,
        opType: 'RotaryEmbedding',
        domain: 'com.microsoft',
        inputs: [input, positions, original.inputs[COS] as string, original.inputs[SIN] as string],
        outputs: [output],
        ints: {
          interleaved: node.ints.rotary_interleaved ?? 0,
          num_heads: count,
          ...(rotaryDim < headSize ? { rotary_embedding_dim: rotaryDim } : {}),
        },
      });
      const nodes: NewNode[] = [];
      if (packed) {
        const sizes = `${prefix}/split_sizes`;
        nodes.push(
          {
            name: sizes,
            opType: 'Constant',
            inputs: [],
            outputs: [sizes],
            int64Value: [heads * headSize, kvHeads * headSize, kvHeads * headSize],
          },
          {
            name: `${prefix}/Split`,
            opType: 'Split',
            inputs: [original.inputs[QUERY] as string, sizes],
            outputs: [query, key, value],
            ints: { axis: -1 },
          },
        );
      }
      const rotatedQuery = `${prefix}/q_rotated`;
      nodes.push(rotary(query, rotatedQuery, heads), rotary(key, rotatedKey, kvHeads));
      // The same node without its rotation: its caches, lengths, window, scale and softcap.
      const rest = original.inputs.slice(POSITION_IDS + 1);
      nodes.push({
        name: original.name,
        opType: original.opType,
        domain: original.domain,
        inputs: [
          rotatedQuery,
          rotatedKey,
          value,
          ...original.inputs.slice(VALUE + 1, COS),
          ...(rest.length > 0 ? ['', '', '', ...rest] : []),
        ],
        outputs: original.outputs,
        attributesOf: original,
        ints: { do_rotary: 0 },
      });
      return nodes;
    });
  }
  const edited = editOnnxGraph(readModel(), {
    replace: (node, index) => plans.get(index)?.(node),
    inputs: needsPositions
      ? [{ name: 'position_ids', type: 'int64', dims: ['batch_size', 'sequence_length'] }]
      : [],
  });
  return { model: edited, rows };
}
