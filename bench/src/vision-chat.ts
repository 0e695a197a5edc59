// bench/vision-chat: images in chat (issue 33), on a SmolVLM- or Qwen2-VL-laid-out folder at a
// bench size (`--layout`; SmolVLM-256M's processor: a 512×512 picture becomes 4×4 tiles and the
// whole, 1088 image rows; Qwen2-VL's: 18 × 18 merged patches, 324 rows).
// 1. Time to first token of a chat with one 512×512 picture: VMM's LlmRunner against
//    transformers.js's image-text-to-text generation on the same folder, in this process, the
//    same intra-op threads, runs alternating; each run a picture neither has seen (no cache).
//    Also VMM with a picture it has seen (its features cached, the prompt's prefix reused).
// 2. 8 image chats at once against the same chats one after another: wall time.
// Every answer is checked: the tokens asked for, a prompt holding the picture's rows.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AutoModelForImageTextToText, AutoProcessor, env, RawImage } from '@huggingface/transformers';
import { type ChatMessage, LlmRunner } from '@vmm/llm';
import { writeQwen2VlFolder, writeVlmFolder } from '@vmm/model-fixtures';
import sharp from 'sharp';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    runs: { type: 'string', default: '5' },
    tokens: { type: 'string', default: '32' },
    dir: { type: 'string', default: join(tmpdir(), 'vmm-bench-vision-chat') },
    layout: { type: 'string', default: 'smolvlm' },
  },
});
const threads = Number(values.threads);
const runs = Number(values.runs);
const tokens = Number(values.tokens);
if (values.layout !== 'smolvlm' && values.layout !== 'qwen2-vl')
  throw new Error(`--layout is smolvlm or qwen2-vl, not ${values.layout}`);
const name = `${values.layout}-bench`;
const dir = join(values.dir, name);
if (!existsSync(join(dir, 'onnx', 'decoder_model_merged.onnx'))) {
  // Wide enough that the layers, not the harness, cost (SmolVLM-256M: vision 768 × 12, text
  // 576 × 30; Qwen2-VL-2B: vision 1280 × 32, text 1536 × 28).
  if (values.layout === 'smolvlm')
    writeVlmFolder(dir, {
      layout: 'idefics3',
      seed: 33,
      vision: { hiddenSize: 192, intermediateSize: 768, numLayers: 2, numHeads: 4 },
      text: { hiddenSize: 256, intermediateSize: 704, numLayers: 4, numHeads: 4, numKvHeads: 2, headDim: 64 },
    });
  else
    writeQwen2VlFolder(dir, {
      seed: 33,
      vision: { embedDim: 192, depth: 2, numHeads: 4 },
      text: { hiddenSize: 256, intermediateSize: 704, numLayers: 4, numHeads: 4, numKvHeads: 2, headDim: 64 },
    });
}
// SmolVLM-256M's processor: 512×512 is scaled to 2048² and cut into 4×4 tiles and the whole (64
// rows each); Qwen2-VL's: 504×504, 18 × 18 merged patches.
const IMAGE_ROWS = values.layout === 'smolvlm' ? 17 * 64 : 18 * 18;
const QUESTION = 'What is in this picture?';

/** A 512×512 JPEG no run has sent before (`seed` moves its pattern). */
function picture(seed: number): Promise<Buffer> {
  const side = 512;
  const data = Buffer.alloc(side * side * 3);
  for (let y = 0; y < side; y += 1)
    for (let x = 0; x < side; x += 1) {
      const i = (y * side + x) * 3;
      data[i] = (x + seed * 37) % 256;
      data[i + 1] = (y * 3 + seed) % 256;
      data[i + 2] = ((x ^ y) + seed * 11) % 256;
    }
  return sharp(data, { raw: { width: side, height: side, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

const runner = await LlmRunner.open({
  dir,
  file: 'onnx/decoder_model_merged.onnx',
  session: { backend: 'cpu', intraOpThreads: threads },
  batching: { maxBatch: 8 },
});
env.allowRemoteModels = false;
env.localModelPath = values.dir;
env.useFSCache = false;
const processor = await AutoProcessor.from_pretrained(name);
const model = await AutoModelForImageTextToText.from_pretrained(name, {
  local_files_only: true,
  dtype: 'fp32',
  session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
});

const messages = (bytes: Buffer): ChatMessage[] => [
  { role: 'user', content: QUESTION, images: [{ data: new Uint8Array(bytes) }] },
];
const greedy = (maxTokens: number) => ({ temperature: 0, repetitionPenalty: 1, maxTokens, stop: [] });

/** One VMM chat: ms to its first token and to its end, checked. */
async function vmmChat(
  bytes: Buffer,
  maxTokens: number,
): Promise<{ firstMs: number; endMs: number; tokens: number }> {
  const started = performance.now();
  let firstMs = 0;
  let count = 0;
  let prompt = 0;
  for await (const chunk of runner.chat({ messages: messages(bytes), options: greedy(maxTokens) })) {
    if (chunk.tokenIds.length > 0 && count === 0) firstMs = performance.now() - started;
    count += chunk.tokenIds.length;
    if (chunk.done) prompt = chunk.done.promptTokens;
  }
  if (count !== maxTokens || prompt <= IMAGE_ROWS)
    throw new Error(
      `VMM wrote ${count} of ${maxTokens} tokens from a ${prompt}-token prompt: no figure from it`,
    );
  return { firstMs, endMs: performance.now() - started, tokens: count };
}

/** transformers.js's time to first token: processing the picture and prompt, then one token. */
async function transformersTtft(bytes: Buffer): Promise<number> {
  const started = performance.now();
  const text = processor.apply_chat_template(
    [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: QUESTION }] }],
    { add_generation_prompt: true },
  );
  const image = await RawImage.fromBlob(new Blob([new Uint8Array(bytes)]));
  const inputs = await processor(text, [image]);
  const output = (await model.generate({ ...inputs, max_new_tokens: 1, do_sample: false })) as {
    dims: number[];
  };
  const ms = performance.now() - started;
  const prompt = (inputs.input_ids as { dims: number[] }).dims[1] ?? 0;
  if (output.dims[1] !== prompt + 1 || prompt <= IMAGE_ROWS)
    throw new Error(
      `transformers.js gave ${output.dims[1]} ids for a ${prompt}-token prompt: no figure from it`,
    );
  return ms;
}

console.log(
  `bench/vision-chat (${values.layout}): ${threads} thread(s), ${runs} alternating runs, ${tokens} tokens per chat`,
);
let seed = 0;
// Warm both (sessions, first allocations) on a picture of their own.
await vmmChat(await picture(seed++), 1);
await transformersTtft(await picture(seed++));
const ours: number[] = [];
const theirs: number[] = [];
for (let run = 0; run < runs; run += 1) {
  const [a, b] = [await picture(seed++), await picture(seed++)];
  if (run % 2 === 0) {
    ours.push((await vmmChat(a, 1)).firstMs);
    theirs.push(await transformersTtft(b));
  } else {
    theirs.push(await transformersTtft(b));
    ours.push((await vmmChat(a, 1)).firstMs);
  }
}
const seen = await picture(seed++);
await vmmChat(seen, 1);
const again: number[] = [];
for (let run = 0; run < runs; run += 1) again.push((await vmmChat(seen, 1)).firstMs);
const [vmm, peer, cached] = [median(ours), median(theirs), median(again)];
console.log(
  `\ntime to first token, one 512x512 JPEG (${IMAGE_ROWS} image rows), a picture not seen before:` +
    `\n  VMM ${vmm.toFixed(0)} ms, transformers.js ${peer.toFixed(0)} ms: VMM / transformers.js ${(vmm / peer).toFixed(2)} (< 1: ${vmm < peer ? 'met' : 'NOT met'})` +
    `\n  VMM, the same picture again (features cached, prefix reused): ${cached.toFixed(0)} ms`,
);

// 2. Eight image chats at once against the same eight one after another (wall time, each picture new).
const sequential: number[] = [];
const concurrent: number[] = [];
const ttfts: number[] = [];
for (let run = 0; run < Math.max(1, Math.floor(runs / 2)); run += 1) {
  const one = await Promise.all(Array.from({ length: 8 }, () => picture(seed++)));
  let started = performance.now();
  for (const bytes of one) await vmmChat(bytes, tokens);
  sequential.push(performance.now() - started);
  const eight = await Promise.all(Array.from({ length: 8 }, () => picture(seed++)));
  started = performance.now();
  const all = await Promise.all(eight.map((bytes) => vmmChat(bytes, tokens)));
  concurrent.push(performance.now() - started);
  ttfts.push(...all.map((chat) => chat.firstMs));
}
const [apart, together] = [median(sequential), median(concurrent)];
console.log(
  `\n8 image chats (${tokens} tokens each, every picture new): at once vs one after another` +
    `\n  one after another ${(apart / 1000).toFixed(2)} s, at once ${(together / 1000).toFixed(2)} s: ${(apart / together).toFixed(2)}x the throughput` +
    `\n  at once: ${((8 * tokens) / (together / 1000)).toFixed(1)} answer tok/s; time to first token median ${median(ttfts).toFixed(0)} ms, last ${Math.max(...ttfts).toFixed(0)} ms`,
);
await runner.close();
await model.dispose();
