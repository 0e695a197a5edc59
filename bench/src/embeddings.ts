// bench/embeddings: VMM's EmbeddingRunner against transformers.js's feature-extraction pipeline
// on the same folder (all-MiniLM-L6-v2's shape), same thread count, in one run: inputs per
// second for 1, 32 and 256 inputs of 128 tokens. Prints ratios (ours / peer; higher is better).
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { env, pipeline } from '@huggingface/transformers';
import { EmbeddingRunner } from '@vmm/embedding';
import { type BertPreset, writeBertFolder } from '@vmm/model-fixtures';
import { median, ratio } from './stats.js';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'minilm' },
    threads: { type: 'string', default: '2' },
    runs: { type: 'string', default: '5' },
    counts: { type: 'string', default: '1,32,256' },
    dir: { type: 'string', default: join(tmpdir(), 'vmm-bench-models') },
  },
});
const threads = Number(values.threads);
const runs = Number(values.runs);
const counts = values.counts.split(',').map(Number);

const dir = join(values.dir, `${values.preset}-embed`);
if (!existsSync(join(dir, 'onnx', 'model.onnx'))) {
  console.log(`building the ${values.preset} encoder into ${dir} ...`);
  // Inputs of 128 tokens fit; the folder's own limit is 256.
  writeBertFolder(dir, { preset: values.preset as BertPreset });
}

/** Texts of exactly 126 words from the fixture vocabulary: 128 tokens with [CLS] and [SEP]. */
const WORDS = 'the town by the sea was kind and people worked hard every day in the morning'.split(' ');
const text = (i: number) => Array.from({ length: 126 }, (_, k) => WORDS[(i + k) % WORDS.length]).join(' ');

/**
 * Both engines' median time for the same call, measured alternately (ours, peer, ours, ...):
 * this VM's speed drifts by a third over minutes, and alternation gives both the same drift.
 */
async function timeBoth(
  ours: () => Promise<unknown>,
  peer: () => Promise<unknown>,
): Promise<[number, number]> {
  await ours();
  await peer();
  const oursMs: number[] = [];
  const peerMs: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    for (const [run, into] of [
      [ours, oursMs],
      [peer, peerMs],
    ] as const) {
      const started = performance.now();
      await run();
      into.push(performance.now() - started);
    }
  }
  return [median(oursMs), median(peerMs)];
}

const ours = await EmbeddingRunner.open({
  dir,
  file: 'onnx/model.onnx',
  session: { backend: 'cpu', intraOpThreads: threads },
  maxBatch: 32,
});
const tokens = (await ours.embed([text(0)])).promptTokens;

env.allowRemoteModels = false;
env.localModelPath = dirname(dir);
env.useFSCache = false;
const peer = await pipeline('feature-extraction', basename(dir), {
  local_files_only: true,
  dtype: 'fp32',
  session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
});

console.log(
  `embeddings: ${values.preset} encoder, ${tokens} tokens per input, ${threads} threads, median of ${runs} alternated runs`,
);
for (const count of counts) {
  const inputs = Array.from({ length: count }, (_, i) => text(i));
  // The peer's own batching: one call with every input, padded together, as its docs show.
  const [oursMs, peerMs] = await timeBoth(
    () => ours.embed(inputs),
    () => peer(inputs, { pooling: 'mean', normalize: true }),
  );
  const oursRate = (count / oursMs) * 1000;
  const peerRate = (count / peerMs) * 1000;
  console.log(
    `${String(count).padStart(4)} inputs: vmm ${oursRate.toFixed(1)}/s  transformers.js ${peerRate.toFixed(1)}/s  ratio ${ratio(oursRate, peerRate)}`,
  );
  console.log(
    `target embeddings ${count}: ratio ${ratio(oursRate, peerRate)} (>= 1.00) ${oursRate >= peerRate ? 'met' : 'NOT met'}`,
  );
}
await ours.close();
await peer.dispose();
