import * as ort from 'onnxruntime-node';

/**
 * Greedy decoding without a KV cache: each step runs the whole sequence again, as a server
 * without a cache would. The baseline for the cache's speed-up.
 */
export async function recomputeTokensPerSecond(
  modelPath: string,
  shape: { numLayers: number; numKvHeads: number; headDim: number },
  prompt: number[],
  tokens: number,
  threads: number,
): Promise<number> {
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  const sequence = [...prompt];
  const started = performance.now();
  for (let step = 0; step < tokens; step += 1) {
    const length = sequence.length;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(sequence.map(BigInt)), [1, length]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(length).fill(1n), [1, length]),
      position_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from({ length }, (_, i) => BigInt(i)),
        [1, length],
      ),
    };
    for (let i = 0; i < shape.numLayers; i += 1) {
      for (const kind of ['key', 'value']) {
        feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [
          1,
          shape.numKvHeads,
          0,
          shape.headDim,
        ]);
      }
    }
    const { logits } = await session.run(feeds, ['logits']);
    const data = logits?.data as Float32Array;
    const vocab = logits?.dims[2] ?? 0;
    let best = 0;
    for (let v = 1; v < vocab; v += 1)
      if ((data[(length - 1) * vocab + v] ?? 0) > (data[(length - 1) * vocab + best] ?? 0)) best = v;
    sequence.push(best);
  }
  const seconds = (performance.now() - started) / 1000;
  await session.release();
  return tokens / seconds;
}
