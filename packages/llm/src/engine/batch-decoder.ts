import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCode, VmmError } from '@vmm/errors';
import {
  boolTensor,
  createModelSession,
  type ModelSession,
  readOnnxGraph,
  type SessionOptions,
  type TensorData,
  type TensorType,
  withGraphOutputs,
} from '@vmm/runtime';
import { type DecoderLayout, readDecoderLayout } from '../decoder-model.js';
import type { ModelConfig } from '../model-config.js';
import { halfToFloat } from './half-float.js';
import { type KvPlan, planKvRows } from './kv-plan.js';
import { KvStore } from './kv-store.js';
import { unfuseRotary } from './rotary-rewrite.js';

/** One sequence's part of a forward pass: `tokens` follow the `past` positions it has cached. */
export interface StepRow {
  slot: number;
  tokens: readonly number[];
  past: number;
}

const ONNX_FLOAT16 = 10;

/**
 * Runs a decoder over the sequences of a KvStore: one forward pass for any set of slots, every
 * row with its own length, position and mask. Only the logits of each row's last position and
 * the new KV rows leave ONNX Runtime: at load, the graph gains outputs for the new rows (see
 * planKvRows), so a step never hands the whole cache back to JS.
 */
export class BatchDecoder {
  private constructor(
    readonly session: ModelSession,
    readonly layout: DecoderLayout,
    readonly plan: KvPlan,
    readonly store: KvStore,
  ) {}

  static async open(
    dir: string,
    file: string,
    options: SessionOptions,
    config: ModelConfig,
  ): Promise<BatchDecoder> {
    const path = join(dir, file);
    const graph = readOnnxGraph(path);
    const pasts = graph.inputs.filter((input) => /^past_key_values\.\d+\.key$/.test(input.name));
    const kvType: TensorType = pasts[0]?.elemType === ONNX_FLOAT16 ? 'float16' : 'float32';
    const found = planKvRows(graph, pasts.length, kvType);
    // OpenVINO compiles the graph itself; it gets the original and the presents.
    let plan: KvPlan =
      options.backend === 'openvino' ? { ...found, rows: undefined, path: 'presents' } : found;
    let model: Uint8Array | undefined;
    if (!plan.rows && options.backend !== 'openvino') {
      // Rotation fused into the attention kernel (ONNX Runtime GenAI's builder): taken out.
      const rewrite = unfuseRotary(() => readFileSync(path), graph, pasts.length, kvType);
      if (rewrite) {
        model = rewrite.model;
        plan = { attention: 'gqa', rows: rewrite.rows, path: 'unfused-rotary' };
      }
    }
    const session = plan.rows
      ? await createModelSession(
          withGraphOutputs(
            model ?? readFileSync(path),
            plan.rows
              .flatMap((layer) => [layer.key, layer.value])
              .map((row) => ({
                name: row.value,
                type: row.type,
              })),
          ),
          { ...options, externalDataDir: dirname(path) },
        )
      : await createModelSession(path, options);
    const layout = readDecoderLayout(session, config);
    if (layout.kvType !== 'float32' && layout.kvType !== 'float16') {
      await session.release();
      throw new VmmError(ErrorCode.FailedPrecondition, `a ${layout.kvType} KV cache is not supported`);
    }
    const store = new KvStore({
      layers: layout.layers,
      kvHeads: layout.kvHeads,
      headDim: layout.headDim,
      type: layout.kvType,
    });
    return new BatchDecoder(session, layout, plan, store);
  }

  /**
   * One forward pass over slots [first, first + count): `rows` name the slots that take part, all
   * with the same number of tokens; the other slots in the range ride along on a dummy token
   * whose results are dropped. Stores the new KV rows and returns each row's last logits.
   * The store must hold at least `past + tokens` positions for every row.
   */
  async step(rows: readonly StepRow[], first: number, count: number): Promise<Float32Array[]> {
    const length = rows[0]?.tokens.length ?? 0;
    if (length === 0 || rows.some((row) => row.tokens.length !== length)) {
      throw new RangeError('every row of a step needs the same, non-zero number of tokens');
    }
    const { layout, plan, store } = this;
    const capacity = store.capacity;
    const width = capacity + length;
    const bySlot = new Map(rows.map((row) => [row.slot, row]));
    const ids = new BigInt64Array(count * length);
    const mask = new BigInt64Array(count * width);
    const positions = new BigInt64Array(count * length);
    for (let b = 0; b < count; b += 1) {
      const row = bySlot.get(first + b);
      const past = row?.past ?? 0;
      if (past + length > capacity) throw new RangeError(`slot ${first + b} does not fit the store`);
      // The cache holds `past` positions of `capacity`; the new tokens come after all of it.
      mask.fill(1n, b * width, b * width + past);
      mask.fill(1n, b * width + capacity, (b + 1) * width);
      for (let s = 0; s < length; s += 1) {
        ids[b * length + s] = BigInt(row?.tokens[s] ?? 0);
        positions[b * length + s] = BigInt(past + s);
      }
    }
    const feeds: Record<string, TensorData> = {
      input_ids: { type: 'int64', dims: [count, length], data: ids },
      attention_mask: { type: 'int64', dims: [count, width], data: mask },
    };
    if (layout.positionIds) feeds.position_ids = { type: 'int64', dims: [count, length], data: positions };
    if (layout.useCacheBranch) feeds.use_cache_branch = boolTensor([true], [1]);
    for (let layer = 0; layer < layout.layers; layer += 1) {
      feeds[`past_key_values.${layer}.key`] = store.past(layer, 'key', first, count);
      feeds[`past_key_values.${layer}.value`] = store.past(layer, 'value', first, count);
    }
    const fetch = ['logits'];
    for (let layer = 0; layer < layout.layers; layer += 1) {
      const sources = plan.rows?.[layer];
      if (sources) fetch.push(sources.key.value, sources.value.value);
      else fetch.push(`present.${layer}.key`, `present.${layer}.value`);
    }
    const outputs = await this.session.run(feeds, fetch);

    for (let layer = 0; layer < layout.layers; layer += 1) {
      for (const kind of ['key', 'value'] as const) {
        const source = plan.rows?.[layer]?.[kind];
        const name = source ? source.value : `present.${layer}.${kind}`;
        const output = outputs[name];
        if (!output) throw new VmmError(ErrorCode.Internal, `the decoder returned no ${name}`);
        const seqLength = output.dims[source?.layout === 'bsnh' ? 1 : 2] ?? length;
        const data = output.data as Float32Array | Uint16Array;
        for (const row of rows) {
          const b = row.slot - first;
          // Presents hold the whole cache: eager ones after the fed capacity, GroupQueryAttention
          // ones at each row's length.
          const rowOffset = source ? 0 : plan.attention === 'gqa' ? row.past : capacity;
          store.write(
            layer,
            kind,
            row.slot,
            row.past,
            { data, type: output.type, layout: source?.layout ?? 'bnsh', seqLength },
            b,
            rowOffset,
            length,
          );
        }
      }
    }
    const logits = outputs.logits;
    if (!logits) throw new VmmError(ErrorCode.Internal, 'the decoder returned no logits');
    const vocab = logits.dims[logits.dims.length - 1] ?? 0;
    return rows.map((row) => {
      const offset = ((row.slot - first) * length + length - 1) * vocab;
      if (logits.type === 'float16')
        return halfToFloat((logits.data as Uint16Array).subarray(offset, offset + vocab));
      return (logits.data as Float32Array).slice(offset, offset + vocab);
    });
  }
}
