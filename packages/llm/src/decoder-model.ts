import { ErrorCode, VmmError } from '@vmm/errors';
import {
  boolTensor,
  emptyTensor,
  int64Tensor,
  type ModelSession,
  type TensorData,
  type TensorType,
} from '@vmm/runtime';
import type { ModelConfig } from './model-config.js';

/** How a decoder export wants to be fed, read from its session and config — nothing assumed. */
export interface DecoderLayout {
  layers: number;
  kvHeads: number;
  headDim: number;
  kvType: TensorType;
  positionIds: boolean;
  /** Legacy merged decoders select their cache branch with a boolean input. */
  useCacheBranch: boolean;
  logitsType: TensorType;
}

/** One sequence's KV cache; dropped (and its memory with it) when generation ends. */
export interface KvCache {
  length: number;
  presents: Record<string, TensorData> | undefined;
}

const PAST = /^past_key_values\.(\d+)\.key$/;

export function readDecoderLayout(session: ModelSession, config: ModelConfig): DecoderLayout {
  const names = new Set(session.inputs.map((input) => input.name));
  for (const required of ['input_ids', 'attention_mask']) {
    if (!names.has(required)) {
      throw new VmmError(
        ErrorCode.FailedPrecondition,
        `the decoder has no ${required} input; is it a text-generation export?`,
      );
    }
  }
  const pasts = session.inputs.filter((input) => PAST.test(input.name));
  if (pasts.length === 0) {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      'the decoder has no past_key_values inputs: export it with a KV cache (optimum-cli --task text-generation-with-past)',
    );
  }
  const first = pasts.find((input) => input.name === 'past_key_values.0.key') ?? pasts[0];
  const [, kvHeadsDim, , headDimDim] = first?.shape ?? [];
  const kvHeads = typeof kvHeadsDim === 'number' ? kvHeadsDim : config.numKvHeads;
  const headDim = typeof headDimDim === 'number' ? headDimDim : config.headDim;
  if (kvHeads === undefined || headDim === undefined) {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      'cannot tell the KV cache shape from the model or config.json',
    );
  }
  const logits = session.outputs.find((output) => output.name === 'logits');
  if (!logits) throw new VmmError(ErrorCode.FailedPrecondition, 'the decoder has no logits output');
  return {
    layers: pasts.length,
    kvHeads,
    headDim,
    kvType: (first?.type ?? 'float32') as TensorType,
    positionIds: names.has('position_ids'),
    useCacheBranch: names.has('use_cache_branch'),
    logitsType: logits.type as TensorType,
  };
}

/**
 * Runs one forward step for a single sequence: `tokens` are appended to the cache and the
 * logits of the last position come back as float32.
 */
export async function forward(
  session: ModelSession,
  layout: DecoderLayout,
  cache: KvCache,
  tokens: readonly number[],
): Promise<Float32Array> {
  const total = cache.length + tokens.length;
  const feeds: Record<string, TensorData> = {
    input_ids: int64Tensor(tokens, [1, tokens.length]),
    attention_mask: { type: 'int64', dims: [1, total], data: new BigInt64Array(total).fill(1n) },
  };
  if (layout.positionIds) {
    feeds.position_ids = int64Tensor(
      Array.from({ length: tokens.length }, (_, i) => cache.length + i),
      [1, tokens.length],
    );
  }
  if (layout.useCacheBranch) feeds.use_cache_branch = boolTensor([cache.presents !== undefined], [1]);
  for (let i = 0; i < layout.layers; i += 1) {
    for (const kind of ['key', 'value']) {
      feeds[`past_key_values.${i}.${kind}`] =
        cache.presents?.[`present.${i}.${kind}`] ??
        emptyTensor(layout.kvType, [1, layout.kvHeads, 0, layout.headDim]);
    }
  }
  const outputs = await session.run(feeds);
  const logits = outputs.logits;
  if (!logits) throw new VmmError(ErrorCode.Internal, 'the decoder returned no logits');
  // Keep the presents only: holding the prefill's logits (prompt × vocab floats) would waste memory.
  const presents: Record<string, TensorData> = {};
  for (const [name, value] of Object.entries(outputs))
    if (name.startsWith('present.')) presents[name] = value;
  cache.presents = presents;
  cache.length = total;
  const vocab = logits.dims[logits.dims.length - 1] ?? 0;
  const offset = (tokens.length - 1) * vocab;
  if (logits.type === 'float16')
    return halfToFloat((logits.data as Uint16Array).subarray(offset, offset + vocab));
  return (logits.data as Float32Array).slice(offset, offset + vocab);
}

const exponentTable = new Float64Array(32).map((_, e) => 2 ** (e - 15));

function halfToFloat(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i += 1) {
    const h = bits[i] as number;
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    out[i] =
      exponent === 0
        ? sign * mantissa * 2 ** -24
        : exponent === 0x1f
          ? mantissa
            ? Number.NaN
            : sign * Infinity
          : sign * (1 + mantissa / 1024) * (exponentTable[exponent] as number);
  }
  return out;
}
