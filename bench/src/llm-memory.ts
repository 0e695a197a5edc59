// bench/llm-memory: does a text model's memory stay put over many requests? One LlmRunner (the
// shared-buffer path where the C API loads: KV cache and logits in ONNX Runtime's memory) serves
// 10 000 requests of mixed prompt and answer lengths, 8 at a time (batches form and dissolve,
// the store grows and shrinks, prefixes are kept and reused). The process's resident memory
// after the first 100 requests is the peer: after all of them it must be within 5 % (target).
// Every request is checked to end as asked (finish reason `length` or `stop`, tokens produced);
// one that does not fails the bench. `npm run llm-memory` starts node as the worker starts
// (`--min-semi-space-size=16`): V8 otherwise grows its young generation over the first thousands
// of requests, tens of MiB that are heap sizing, not a leak.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LlmRunner } from '@vmm/llm';
import { type LlamaPreset, writeLlamaFolder } from '@vmm/model-fixtures';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'tiny' },
    file: { type: 'string', default: 'onnx/model.onnx' },
    requests: { type: 'string', default: '10000' },
    warmup: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '8' },
    threads: { type: 'string', default: '2' },
    'c-api': { type: 'string', default: 'on' },
    dir: { type: 'string', default: join(tmpdir(), 'vmm-bench-models') },
  },
});
const requests = Number(values.requests);
const warmup = Number(values.warmup);
const concurrency = Number(values.concurrency);
if (!(warmup > 0 && requests > warmup && concurrency > 0)) {
  throw new Error('--requests must exceed --warmup, both and --concurrency positive');
}
const dir = join(values.dir, `${values.preset}-llama-memory`);
if (!existsSync(join(dir, values.file))) {
  console.log(`building the ${values.preset} fixture into ${dir} ...`);
  writeLlamaFolder(dir, { preset: values.preset as LlamaPreset, variants: ['fp32', 'fp16', 'q4'] });
}

const runner = await LlmRunner.open({
  dir,
  file: values.file,
  session: { backend: 'cpu', intraOpThreads: Number(values.threads), ortCApi: values['c-api'] === 'on' },
});
const WORDS = 'the people of the town were kind and they worked hard every day by the sea'.split(' ');

/** Request i's prompt and answer length: a deterministic mix from 1 to ~300 prompt words. */
function requestOf(i: number): { prompt: string; maxTokens: number; temperature: number } {
  const mix = (i * 2654435761) >>> 0;
  const words = 1 + (mix % 7 === 0 ? mix % 300 : mix % 40);
  return {
    // Every fourth request repeats an earlier prompt's start, so prefixes are reused and replaced.
    prompt: Array.from({ length: words }, (_, k) => WORDS[(k + (i % 4 === 0 ? 0 : i)) % WORDS.length]).join(
      ' ',
    ),
    maxTokens: 1 + ((mix >>> 8) % 48),
    temperature: i % 3 === 0 ? 0 : 0.8,
  };
}

let next = 0;
let tokens = 0;
/** One client: takes the next request until `until` have been started. */
async function client(until: number): Promise<void> {
  while (next < until) {
    const i = next;
    next += 1;
    const { prompt, maxTokens, temperature } = requestOf(i);
    let produced = 0;
    let finish: string | undefined;
    for await (const chunk of runner.generate({
      prompt,
      raw: true,
      options: { maxTokens, temperature, seed: i },
    })) {
      produced += chunk.tokenIds.length;
      if (chunk.done) finish = chunk.done.finishReason;
    }
    if ((finish !== 'length' && finish !== 'stop') || produced === 0) {
      throw new Error(`request ${i} ended ${finish ?? 'without a done chunk'} after ${produced} tokens`);
    }
    tokens += produced;
  }
}

/** Runs requests up to `until`, `concurrency` at a time, then waits for the runner to be idle. */
async function runUntil(until: number): Promise<void> {
  await Promise.all(Array.from({ length: concurrency }, () => client(until)));
  const stats = await runner.stats();
  if (stats.running !== 0)
    throw new Error(`${stats.running} sequences still running after their clients ended`);
}

/** Resident memory after a full collection (so garbage not yet collected is not counted). */
function settledRss(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().rss;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * RSS with what explains it: the KV store's arrays and both threads' committed V8 heaps. The
 * model thread collects its own garbage first (under --expose-gc), as this one does.
 */
async function reading(): Promise<string> {
  const thread = await runner.threadHeap();
  const rss = settledRss();
  const { kvCacheBytes, cachedPrefixes } = await runner.stats();
  return `RSS ${mib(rss)} (KV store ${mib(kvCacheBytes)}, ${cachedPrefixes} cached prefixes; V8 heaps: main ${mib(process.memoryUsage().heapTotal)}, model thread ${mib(thread.totalBytes)})`;
}
try {
  console.log(
    `bench/llm-memory preset=${values.preset} file=${values.file} path=${runner.info.kvPath} requests=${requests} concurrency=${concurrency} node flags: ${process.execArgv.join(' ') || 'none'}${
      (globalThis as { gc?: unknown }).gc ? '' : ' (run node with --expose-gc for settled figures)'
    }`,
  );
  const started = performance.now();
  await runUntil(warmup);
  const early = settledRss();
  console.log(`  after ${warmup} requests: ${await reading()}`);
  for (let checkpoint = warmup * 10; ; checkpoint *= 10) {
    const until = Math.min(checkpoint, requests);
    await runUntil(until);
    console.log(`  after ${until} requests: ${await reading()}`);
    if (until === requests) break;
  }
  const late = settledRss();
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `  ${requests} requests, ${tokens} tokens in ${seconds.toFixed(0)} s (${(requests / seconds).toFixed(1)} requests/s)`,
  );
  const ratio = late / early;
  console.log(
    `  target RSS after ${requests} / after ${warmup} requests: ${ratio.toFixed(3)} (<= 1.05) ${ratio <= 1.05 ? 'met' : 'NOT met'}`,
  );
} finally {
  await runner.close();
}
