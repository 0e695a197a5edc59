import type { OnnxGraph, OnnxNode, TensorType } from '@vmm/runtime';

/** [batch, seq, kv_heads·head_dim] (GroupQueryAttention's key/value inputs) or [batch, kv_heads, seq, head_dim]. */
export type RowLayout = 'bsnh' | 'bnsh';

/** A graph value holding one layer's new key or value rows, exposed as an extra output. */
export interface RowSource {
  value: string;
  layout: RowLayout;
  type: TensorType;
}

/**
 * How a decoder's KV cache is read and extended.
 * - `attention`: `gqa` reads each row's cache up to its length (the sum of its attention mask);
 *   `eager` attends to every cache position the mask allows, so the cache it is fed should be
 *   no longer than needed.
 * - `rows`: per layer, where the new key and value rows are; undefined when the graph does not
 *   say (an `If` of a merged decoder, GroupQueryAttention that rotates or packs inside): the
 *   rows are then cut out of the `present.*` outputs, at the cost of moving whole caches.
 */
export interface KvPlan {
  attention: 'gqa' | 'eager';
  rows: { key: RowSource; value: RowSource }[] | undefined;
  /**
   * Which path a step takes, as the docs name them: `new-rows` (the graph's own new rows),
   * `unfused-rotary` (rows made reachable by taking rotation out of GroupQueryAttention, see
   * unfuseRotary), `presents` (whole caches cut out of the present.* outputs: the fallback) or
   * `shared-buffer` (GroupQueryAttention writes its new rows into the cache in place, through
   * ONNX Runtime's I/O binding: nothing is copied; see sharesKvBuffers).
   */
  path: 'new-rows' | 'unfused-rotary' | 'presents' | 'shared-buffer';
}

const ONNX_FLOAT = 1;
const ONNX_FLOAT16 = 10;

/** Finds the new KV rows of every layer: the values a load-time rewrite adds as outputs. */
export function planKvRows(graph: OnnxGraph, layers: number, kvType: TensorType): KvPlan {
  const producer = new Map<string, OnnxNode>();
  for (const node of graph.nodes) for (const output of node.outputs) producer.set(output, node);
  const isGqa = (node: OnnxNode | undefined) =>
    node?.opType === 'GroupQueryAttention' && node.domain === 'com.microsoft';
  const attention = graph.nodes.some(isGqa) ? 'gqa' : 'eager';

  /** The node that computes `value`, looking through renames and casts. */
  const source = (value: string): { node: OnnxNode | undefined; value: string } => {
    let current = value;
    for (let hops = 0; hops < 8; hops += 1) {
      const node = producer.get(current);
      if (!node || (node.opType !== 'Identity' && node.opType !== 'Cast')) return { node, value: current };
      current = node.inputs[0] ?? '';
    }
    return { node: undefined, value: current };
  };

  const find = (layer: number, kind: 'key' | 'value'): RowSource | undefined => {
    const present = `present.${layer}.${kind}`;
    if (!graph.outputs.includes(present)) return undefined;
    const { node, value } = source(present);
    if (!node) return undefined;
    if (isGqa(node)) {
      const index = kind === 'key' ? 1 : 2;
      const rows = node.inputs[index];
      // Rotated inside the kernel, or packed into the query input: the rows here are not the cache's.
      if (node.ints.do_rotary === 1 || !rows || node.outputs[index] !== value) return undefined;
      return { value: rows, layout: 'bsnh', type: kvType };
    }
    const axis = node.ints.axis;
    if (node.opType !== 'Concat' || node.inputs.length !== 2 || (axis !== 2 && axis !== -2)) return undefined;
    const past = source(node.inputs[0] ?? '');
    if (past.value !== `past_key_values.${layer}.${kind}`) return undefined;
    // A cache stored in float16 may be concatenated in float32 (cast up first): the rows then are too.
    const castTo = producer.get(node.inputs[0] ?? '')?.ints.to;
    const type: TensorType = castTo === ONNX_FLOAT ? 'float32' : castTo === ONNX_FLOAT16 ? 'float16' : kvType;
    return { value: node.inputs[1] ?? '', layout: 'bnsh', type };
  };

  const rows: NonNullable<KvPlan['rows']> = [];
  for (let layer = 0; layer < layers; layer += 1) {
    const key = find(layer, 'key');
    const value = find(layer, 'value');
    if (!key || !value) return { attention, rows: undefined, path: 'presents' };
    rows.push({ key, value });
  }
  return { attention, rows, path: 'new-rows' };
}

/**
 * Whether every layer's cache goes straight from a `past_key_values.*` input into a
 * GroupQueryAttention node and out of it as the matching `present.*` output, with nothing in
 * between but Identity nodes that ONNX Runtime's optimizer removes (the exporters' renames): no
 * cast, no other consumer. Bound to the same buffer, past and present then let the kernel
 * append its new rows in place (ONNX Runtime's past_present_share_buffer: it writes each row's
 * new keys and values at its past length, read from `seqlens_k`, when both have one address);
 * rotation inside the kernel (`do_rotary`, ONNX Runtime GenAI's builder) is then no obstacle.
 */
export function sharesKvBuffers(graph: OnnxGraph, layers: number): boolean {
  if (layers === 0) return false;
  const producer = new Map<string, OnnxNode>();
  const consumers = new Map<string, number>();
  for (const node of graph.nodes) {
    for (const output of node.outputs) producer.set(output, node);
    for (const input of node.inputs) consumers.set(input, (consumers.get(input) ?? 0) + 1);
  }
  /** The GroupQueryAttention output behind a present, through Identity nodes that ONNX Runtime removes. */
  const source = (name: string): { node: OnnxNode; index: number } | undefined => {
    let node = producer.get(name);
    let value = name;
    while (node?.opType === 'Identity' && node.domain === '') {
      value = node.inputs[0] ?? '';
      // ONNX Runtime keeps an Identity whose input goes anywhere else: the present would be a copy.
      if (consumers.get(value) !== 1 || graph.outputs.includes(value)) return undefined;
      node = producer.get(value);
    }
    return node ? { node, index: node.outputs.indexOf(value) } : undefined;
  };
  for (let layer = 0; layer < layers; layer += 1) {
    const key = source(`present.${layer}.key`);
    const value = source(`present.${layer}.value`);
    const node = key?.node;
    if (
      node?.opType !== 'GroupQueryAttention' ||
      node.domain !== 'com.microsoft' ||
      value?.node !== node ||
      key?.index !== 1 ||
      value.index !== 2 ||
      node.inputs[3] !== `past_key_values.${layer}.key` ||
      node.inputs[4] !== `past_key_values.${layer}.value` ||
      !graph.outputs.includes(`present.${layer}.key`) ||
      !graph.outputs.includes(`present.${layer}.value`)
    ) {
      return false;
    }
  }
  return true;
}
