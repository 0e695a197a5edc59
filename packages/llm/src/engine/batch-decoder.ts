import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCode, VmmError } from '@vmm/errors';
import {
  type BoundMemory,
  type BoundSession,
  boolTensor,
  createBoundSession,
  createModelSession,
  ELEMENT_BYTES,
  halfToFloat,
  type ModelSession,
  readOnnxGraph,
  type SessionOptions,
  type TensorData,
  tensorArray,
  type TensorType,
  floatToHalf,
  withGraphOutputs,
} from '@vmm/runtime';
import { type DecoderLayout, readDecoderLayout } from '../decoder-model.js';
import type { ModelConfig } from '../model-config.js';
import { type KvPlan, planKvRows, sharesKvBuffers } from './kv-plan.js';
import { KvStore } from './kv-store.js';
import { unfuseRotary } from './rotary-rewrite.js';
import { featureRow, type ImageFeatures, isImageId } from '../vision/image-features.js';
import { mropeAt, type MropePositions } from '../vision/mrope-positions.js';

/**
 * One sequence's part of a forward pass: `tokens` follow the `past` positions it has cached.
 * Image ids among the tokens (a vision-language prompt) are fed the rows of `features`.
 */
export interface StepRow {
  slot: number;
  tokens: readonly number[];
  past: number;
  features?: readonly ImageFeatures[];
  /** Multimodal rotary positions (Qwen2-VL); without them a token's three positions are its index. */
  mrope?: MropePositions | undefined;
}

const ONNX_FLOAT16 = 10;

/** Where a decoder that takes inputs_embeds finds its token embedding. */
interface EmbedSource {
  dir: string;
  file: string;
  embedFile: string | undefined;
  options: SessionOptions;
}

/**
 * Runs a decoder over the sequences of a KvStore: one forward pass for any set of slots, every
 * row with its own length, position and mask. Only the logits of each row's last position and
 * the new KV rows leave ONNX Runtime: at load, the graph gains outputs for the new rows (see
 * planKvRows), so a step never hands the whole cache back to JS.
 */
export class BatchDecoder {
  /** Where a bound step's logits land (grown to the largest step so far). */
  private logitsMemory: BoundMemory | undefined;

  private constructor(
    readonly session: ModelSession,
    readonly layout: DecoderLayout,
    readonly plan: KvPlan,
    readonly store: KvStore,
    /** The same session when steps run bound (plan.path `shared-buffer`). */
    private readonly bound?: BoundSession,
    /** A vision-language model's token embedding (input_ids → inputs_embeds). */
    private readonly embedder?: ModelSession,
  ) {}

  /** Frees the session and the cache's memory. */
  async release(): Promise<void> {
    this.store.reset();
    this.logitsMemory?.release();
    this.logitsMemory = undefined;
    await this.session.release();
    await this.embedder?.release();
  }

  /**
   * Opens the decoder `file` of `dir`; one that takes inputs_embeds needs `embedFile`, the graph
   * that embeds token ids (a vision-language export's embed_tokens.onnx).
   */
  static async open(
    dir: string,
    file: string,
    options: SessionOptions,
    config: ModelConfig,
    embedFile?: string,
  ): Promise<BatchDecoder> {
    const embed: EmbedSource = { dir, file, embedFile, options };
    const path = join(dir, file);
    const graph = readOnnxGraph(path);
    const pasts = graph.inputs.filter((input) => /^past_key_values\.\d+\.key$/.test(input.name));
    const kvType: TensorType = pasts[0]?.elemType === ONNX_FLOAT16 ? 'float16' : 'float32';
    if (options.backend !== 'openvino' && sharesKvBuffers(graph, pasts.length)) {
      const bound = await createBoundSession(path, options);
      // Bound logits need their size before the run: a vocabulary the graph leaves symbolic keeps session.run.
      if (bound && typeof vocabSize(bound) === 'number') {
        return BatchDecoder.make(
          bound,
          config,
          { attention: 'gqa', rows: undefined, path: 'shared-buffer' },
          embed,
          bound,
        );
      }
      await bound?.release();
    }
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
    return BatchDecoder.make(session, config, plan, embed);
  }

  private static async make(
    session: ModelSession,
    config: ModelConfig,
    plan: KvPlan,
    embed: EmbedSource,
    bound?: BoundSession,
  ): Promise<BatchDecoder> {
    const layout = readDecoderLayout(session, config);
    if (layout.kvType !== 'float32' && layout.kvType !== 'float16') {
      await session.release();
      throw new VmmError(ErrorCode.FailedPrecondition, `a ${layout.kvType} KV cache is not supported`);
    }
    let embedder: ModelSession | undefined;
    if (layout.embeds) {
      try {
        if (embed.embedFile === undefined)
          throw new VmmError(
            ErrorCode.FailedPrecondition,
            `${embed.file} takes inputs_embeds: it needs the model's embed_tokens graph`,
          );
        embedder = await createModelSession(join(embed.dir, embed.embedFile), embed.options);
      } catch (error) {
        await session.release();
        throw error;
      }
    }
    const store = new KvStore(
      {
        layers: layout.layers,
        kvHeads: layout.kvHeads,
        headDim: layout.headDim,
        type: layout.kvType,
      },
      bound ? (bytes) => bound.allocate(bytes) : undefined,
    );
    return new BatchDecoder(session, layout, plan, store, bound, embedder);
  }

  /**
   * One forward pass over slots [first, first + count): `rows` name the slots that take part, all
   * with the same number of tokens; the other slots in the range ride along on a dummy token
   * whose results are dropped. Stores the new KV rows and returns each row's last logits.
   * The store must hold at least `past + tokens` positions for every row. `held` tells how many
   * positions each slot in the range that is not in `rows` keeps: on the shared-buffer path the
   * kernel writes a riding slot's dummy rows just after them, so that slot must have room for
   * `held + tokens` positions.
   */
  async step(
    rows: readonly StepRow[],
    first: number,
    count: number,
    held: (slot: number) => number = () => 0,
  ): Promise<Float32Array[]> {
    const length = rows[0]?.tokens.length ?? 0;
    if (length === 0 || rows.some((row) => row.tokens.length !== length)) {
      throw new RangeError('every row of a step needs the same, non-zero number of tokens');
    }
    if (this.bound) return this.stepBound(this.bound, rows, first, count, length, held);
    const { layout, plan, store } = this;
    const capacity = store.capacity;
    const width = capacity + length;
    // The cache holds `past` positions of `capacity`; the new tokens come after all of it.
    const feeds = await this.tokenInputs(rows, first, count, length, width, () => 0);
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
    return lastLogits(logits, rows, first, length);
  }

  /**
   * A step on the shared-buffer path: each layer's past and present are one tensor over the
   * store's memory, so GroupQueryAttention appends the new rows in place and only the logits
   * are written elsewhere. The mask is as wide as the store, so past and present have the same
   * shape.
   */
  private async stepBound(
    bound: BoundSession,
    rows: readonly StepRow[],
    first: number,
    count: number,
    length: number,
    held: (slot: number) => number,
  ): Promise<Float32Array[]> {
    const { layout, store } = this;
    const capacity = store.capacity;
    // The kernel reads only each row's count of ones (its length); the new tokens' ones sit at
    // the end, where graphs that derive positions from the mask (cumsum - 1) look for them.
    const inputs = await this.tokenInputs(rows, first, count, length, capacity, held);
    const outputs: Record<string, TensorData> = {};
    for (let layer = 0; layer < layout.layers; layer += 1) {
      for (const kind of ['key', 'value'] as const) {
        const cache = store.past(layer, kind, first, count);
        inputs[`past_key_values.${layer}.${kind}`] = cache;
        outputs[`present.${layer}.${kind}`] = cache;
      }
    }
    const vocab = vocabSize(bound) ?? 0;
    const type = layout.logitsType === 'float16' ? 'float16' : 'float32';
    const elements = count * length * vocab;
    const bytes = elements * ELEMENT_BYTES[type];
    if (!this.logitsMemory || this.logitsMemory.data.byteLength < bytes) {
      this.logitsMemory?.release();
      this.logitsMemory = bound.allocate(bytes);
    }
    const logits: TensorData = {
      type,
      dims: [count, length, vocab],
      data: tensorArray(type, elements, this.logitsMemory.data),
    };
    outputs.logits = logits;
    await bound.runBound(inputs, outputs);
    // Copied out: the memory is the next step's.
    return lastLogits(logits, rows, first, length);
  }

  /**
   * Token ids, positions and a `width`-wide attention mask for slots [first, first + count):
   * ones for each row's `past` positions and for its new tokens at the end of its width. A slot
   * not in `rows` rides along on token 0 after the `held(slot)` positions it keeps.
   */
  private async tokenInputs(
    rows: readonly StepRow[],
    first: number,
    count: number,
    length: number,
    width: number,
    held: (slot: number) => number,
  ): Promise<Record<string, TensorData>> {
    const capacity = this.store.capacity;
    const bySlot = new Map(rows.map((row) => [row.slot, row]));
    const ids = new BigInt64Array(count * length);
    const mask = new BigInt64Array(count * width);
    const positions = new BigInt64Array(count * length);
    for (let b = 0; b < count; b += 1) {
      const row = bySlot.get(first + b);
      const past = row ? row.past : held(first + b);
      if (past + length > capacity) {
        throw new RangeError(`slot ${first + b} has no room for ${length} more positions in the store`);
      }
      mask.fill(1n, b * width, b * width + past);
      mask.fill(1n, (b + 1) * width - length, (b + 1) * width);
      for (let s = 0; s < length; s += 1) {
        const token = row?.tokens[s] ?? 0;
        // An image id is embedded as token 0 here; its features replace that row below.
        ids[b * length + s] = isImageId(token) ? 0n : BigInt(token);
        positions[b * length + s] = BigInt(past + s);
      }
    }
    const inputs: Record<string, TensorData> = {
      attention_mask: { type: 'int64', dims: [count, width], data: mask },
    };
    const tokenIds: TensorData = { type: 'int64', dims: [count, length], data: ids };
    if (this.layout.embeds) inputs.inputs_embeds = await this.embed(tokenIds, rows, first, length);
    else inputs.input_ids = tokenIds;
    if (this.layout.mrope) inputs.position_ids = mropeInputs(rows, first, count, length, positions);
    else if (this.layout.positionIds)
      inputs.position_ids = { type: 'int64', dims: [count, length], data: positions };
    return inputs;
  }

  /** inputs_embeds for `ids` [count, length]: the embedding graph's, with each image id's row put in. */
  private async embed(
    ids: TensorData,
    rows: readonly StepRow[],
    first: number,
    length: number,
  ): Promise<TensorData> {
    const embedder = this.embedder as ModelSession;
    const hidden = this.layout.embeds?.hiddenSize ?? 0;
    const out = (await embedder.run({ input_ids: ids }, ['inputs_embeds'])).inputs_embeds;
    if (!out || out.dims[2] !== hidden) {
      throw new VmmError(
        ErrorCode.Internal,
        `the token embedding gave ${String(out?.dims)}, not width ${hidden}`,
      );
    }
    for (const row of rows) {
      row.tokens.forEach((token, s) => {
        if (!isImageId(token)) return;
        const features = featureRow(row.features ?? [], token);
        if (!features)
          throw new VmmError(ErrorCode.Internal, 'a prompt holds an image row whose features are gone');
        const offset = ((row.slot - first) * length + s) * hidden;
        if (out.type === 'float16') (out.data as Uint16Array).set(floatToHalf(features), offset);
        else (out.data as Float32Array).set(features, offset);
      });
    }
    return out;
  }
}

/**
 * position_ids [3, count, length] for multimodal rotary positions: each row's from its table,
 * the rows riding along (and rows without a table) at their index in all three.
 */
function mropeInputs(
  rows: readonly StepRow[],
  first: number,
  count: number,
  length: number,
  indices: BigInt64Array,
): TensorData {
  const data = new BigInt64Array(3 * count * length);
  for (let k = 0; k < 3; k += 1) data.set(indices, k * count * length);
  for (const row of rows) {
    if (!row.mrope) continue;
    const b = row.slot - first;
    for (let s = 0; s < length; s += 1) {
      const [t, h, w] = mropeAt(row.mrope, row.past + s);
      const at = b * length + s;
      data[at] = BigInt(t);
      data[count * length + at] = BigInt(h);
      data[2 * count * length + at] = BigInt(w);
    }
  }
  return { type: 'int64', dims: [3, count, length], data };
}

/** Each row's logits at its last position, as float32 copies (`logits` is [count, length, vocab]). */
function lastLogits(
  logits: TensorData,
  rows: readonly StepRow[],
  first: number,
  length: number,
): Float32Array[] {
  const vocab = logits.dims[logits.dims.length - 1] ?? 0;
  return rows.map((row) => {
    const offset = ((row.slot - first) * length + length - 1) * vocab;
    if (logits.type === 'float16')
      return halfToFloat((logits.data as Uint16Array).subarray(offset, offset + vocab));
    return (logits.data as Float32Array).slice(offset, offset + vocab);
  });
}

function vocabSize(session: ModelSession): number | undefined {
  const logits = session.outputs.find((output) => output.name === 'logits');
  const vocab = logits?.shape[logits.shape.length - 1];
  return typeof vocab === 'number' ? vocab : undefined;
}
