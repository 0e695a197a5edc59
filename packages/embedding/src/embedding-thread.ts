// The worker-thread side of an EmbeddingRunner: owns the encoder session and its tokenizer;
// tokenizes, batches inputs of similar length into one session.run, pools and normalises.
import { join } from 'node:path';
import { workerData } from 'node:worker_threads';
import { ErrorCode, VmmError } from '@vmm/errors';
import { createModelSession, serveThread, type TensorData } from '@vmm/runtime';
import { readEmbeddingSpec } from './embedding-spec.js';
import type {
  EmbeddingThreadData,
  EmbeddingThreadInfo,
  EmbedPayload,
  EmbedResult,
} from './embedding-thread-protocol.js';
import { EmbeddingTokenizer } from './embedding-tokenizer.js';
import { normalize, poolRow } from './pool.js';

const data = workerData as EmbeddingThreadData;

/** Padded tokens per session.run: keeps one batch's activations bounded whatever the inputs. */
const MAX_BATCH_TOKENS = 16_384;

const loaded = (async () => {
  const spec = readEmbeddingSpec(data.dir);
  const tokenizer = EmbeddingTokenizer.load(data.dir);
  const session = await createModelSession(join(data.dir, data.file), data.session);
  const names = new Set(session.inputs.map((input) => input.name));
  if (!names.has('input_ids') || !names.has('attention_mask')) {
    await session.release();
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      'the encoder takes no input_ids and attention_mask; is it an Optimum feature-extraction export?',
    );
  }
  const output = session.outputs.find((o) => o.name === 'last_hidden_state') ?? session.outputs[0];
  const width = output?.shape.at(-1);
  return {
    spec,
    tokenizer,
    session,
    output: output?.name ?? 'last_hidden_state',
    takesTypes: names.has('token_type_ids'),
    dimensions: typeof width === 'number' ? width : 0,
  };
})();
loaded.catch(() => undefined);

serveThread({
  async info(): Promise<EmbeddingThreadInfo> {
    const { session, spec, dimensions } = await loaded;
    return { providers: [...session.providers], spec, dimensions };
  },

  async embed(payload, { signal }): Promise<EmbedResult> {
    const { inputs, options } = payload as EmbedPayload;
    const model = await loaded;
    const { tokenizer, spec } = model;
    const truncate = options.truncate ?? true;
    const max = Math.min(spec.maxTokens, options.maxTokens ?? Infinity);
    if (inputs.length === 0)
      throw new VmmError(ErrorCode.InvalidArgument, 'input must not be empty', { field: 'input' });
    // Tokenize and check every input before any compute.
    const ids = inputs.map((input, i) => {
      const field = inputs.length > 1 ? `input[${i}]` : 'input';
      if (typeof input === 'string') return tokenizer.fit(tokenizer.encode(input), max, truncate, field);
      if (input.some((id) => !Number.isInteger(id) || id < 0 || id >= tokenizer.vocabSize)) {
        throw new VmmError(
          ErrorCode.InvalidArgument,
          `${field} holds token ids outside the vocabulary of ${tokenizer.vocabSize}`,
          { field },
        );
      }
      return tokenizer.fit(tokenizer.wrap(input), max, truncate, field);
    });
    const order = ids
      .map((_, i) => i)
      .sort((a, b) => (ids[a] as number[]).length - (ids[b] as number[]).length);
    const embeddings: Float32Array[] = new Array(inputs.length);
    for (let start = 0; start < order.length;) {
      if (signal.aborted) throw new VmmError(ErrorCode.Cancelled, 'the request was cancelled');
      // Similar lengths together (sorted), so that padding costs little.
      let end = start + 1;
      while (
        end < order.length &&
        end - start < data.maxBatch &&
        (end - start + 1) * (ids[order[end] as number] as number[]).length <= MAX_BATCH_TOKENS
      )
        end += 1;
      const group = order.slice(start, end);
      const seq = Math.max(...group.map((i) => (ids[i] as number[]).length));
      const rows = group.length;
      const inputIds = new BigInt64Array(rows * seq).fill(BigInt(tokenizer.padId));
      const mask = new BigInt64Array(rows * seq);
      group.forEach((index, row) => {
        (ids[index] as number[]).forEach((id, t) => {
          inputIds[row * seq + t] = BigInt(id);
          mask[row * seq + t] = 1n;
        });
      });
      const feeds: Record<string, TensorData> = {
        input_ids: { type: 'int64', dims: [rows, seq], data: inputIds },
        attention_mask: { type: 'int64', dims: [rows, seq], data: mask },
      };
      if (model.takesTypes)
        feeds.token_type_ids = { type: 'int64', dims: [rows, seq], data: new BigInt64Array(rows * seq) };
      const result = await model.session.run(feeds, [model.output]);
      const hidden = result[model.output] as TensorData;
      const width = hidden.dims.at(-1) as number;
      group.forEach((index, row) => {
        let vector = poolRow(
          hidden.data as Float32Array,
          row,
          seq,
          width,
          (ids[index] as number[]).length,
          spec.pooling,
        );
        if (spec.normalize) vector = normalize(vector);
        if (options.dimensions !== undefined && options.dimensions < width) {
          vector = vector.slice(0, options.dimensions);
          if (spec.normalize) vector = normalize(vector);
        }
        embeddings[index] = vector;
      });
      start = end;
    }
    return { embeddings, promptTokens: ids.reduce((sum, list) => sum + list.length, 0) };
  },

  async release() {
    await (await loaded).session.release();
  },
});
