// Direct onnxruntime-node helpers for the fixtures' own checks: a plain forward pass, with and
// without the KV cache, so the tests compare the fixture against itself and against peers.
import * as ort from 'onnxruntime-node';
import { fromFloat16Bits, type LlamaFolder, Prng } from '../src/index.js';

export type Feeds = Record<string, ort.Tensor>;

export interface ForwardOptions {
  /** Rows of token ids, already left-padded to one length (pad id 0 where mask is 0). */
  ids: number[][];
  /** 1 for real tokens, 0 for padding; covers past + new tokens. */
  mask: number[][];
  /** The previous step's outputs, or none. */
  past?: Feeds;
  kvType?: 'float32' | 'float16';
  positionIds?: boolean;
  useCacheBranch?: boolean;
}

const int64 = (rows: number[][]) =>
  new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]?.length ?? 0]);

/** Hugging Face's position ids for left padding: cumsum(mask) - 1, 1 where masked. */
export function positionsFor(mask: number[][], newTokens: number): number[][] {
  return mask.map((row) => {
    let seen = 0;
    const positions = row.map((bit) => {
      seen += bit;
      return bit ? seen - 1 : 1;
    });
    return positions.slice(positions.length - newTokens);
  });
}

export function forwardFeeds(folder: LlamaFolder, options: ForwardOptions): Feeds {
  const { shape } = folder;
  const kvType = options.kvType ?? 'float32';
  const batch = options.ids.length;
  const newTokens = options.ids[0]?.length ?? 0;
  const feeds: Feeds = { input_ids: int64(options.ids), attention_mask: int64(options.mask) };
  if (options.positionIds ?? true) feeds.position_ids = int64(positionsFor(options.mask, newTokens));
  if (options.useCacheBranch !== undefined) {
    feeds.use_cache_branch = new ort.Tensor('bool', Uint8Array.from([options.useCacheBranch ? 1 : 0]), [1]);
  }
  const dim = shape.hiddenSize / shape.numHeads;
  for (let i = 0; i < shape.numLayers; i += 1) {
    for (const kind of ['key', 'value']) {
      const past = options.past?.[`present.${i}.${kind}`];
      feeds[`past_key_values.${i}.${kind}`] =
        past ??
        new ort.Tensor(kvType, kvType === 'float16' ? new Uint16Array(0) : new Float32Array(0), [
          batch,
          shape.numKvHeads,
          0,
          dim,
        ]);
    }
  }
  return feeds;
}

/** Logits as float32 numbers, whatever the model's output type. */
export function logitsOf(outputs: Feeds): Float32Array {
  const logits = outputs.logits;
  if (!logits) throw new Error('no logits output');
  if (logits.type === 'float16') return Float32Array.from(logits.data as Uint16Array, fromFloat16Bits);
  return logits.data as Float32Array;
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i += 1) max = Math.max(max, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return max;
}

export function argmax(values: ArrayLike<number>, from = 0, to = values.length): number {
  let best = from;
  for (let i = from; i < to; i += 1) if ((values[i] ?? -Infinity) > (values[best] ?? -Infinity)) best = i;
  return best - from;
}

/** Greedy decoding without a KV cache: every step recomputes the whole sequence. */
export async function greedyNoCache(
  session: ort.InferenceSession,
  folder: LlamaFolder,
  prompt: number[],
  steps: number,
  options: Omit<Partial<ForwardOptions>, 'ids' | 'mask' | 'past'> = {},
): Promise<number[]> {
  const tokens = [...prompt];
  for (let step = 0; step < steps; step += 1) {
    const outputs = await session.run(
      forwardFeeds(folder, { ...options, ids: [tokens], mask: [tokens.map(() => 1)] }),
    );
    const logits = logitsOf(outputs);
    const vocab = folder.vocabSize;
    tokens.push(argmax(logits, (tokens.length - 1) * vocab, tokens.length * vocab));
  }
  return tokens.slice(prompt.length);
}

/** BOS, then `length - 1` learned pieces (ids past the 3 specials and 256 byte tokens), seeded. */
export function randomPrompt(folder: LlamaFolder, seed: number, length: number): number[] {
  const prng = new Prng(seed);
  return [
    1,
    ...Array.from({ length: length - 1 }, () => 259 + Math.floor(prng.next() * (folder.vocabSize - 259))),
  ];
}
