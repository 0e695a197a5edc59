// bench/llm: VMM's LlmRunner against transformers.js on the same model folder, greedy, same
// prompt, same number of tokens, same thread count, in one run; then the KV cache's speed-up
// over full recompute. Prints ratios (ours / peer; higher is better except time to first token).
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type LlamaPreset, writeLlamaFolder } from '@vmm/model-fixtures';
import { openOurs } from './llm/ours.js';
import { recomputeTokensPerSecond } from './llm/recompute.js';
import { decodeTokensPerSecond, prefillTokensPerSecond, type RunResult } from './llm/run-result.js';
import { openTransformersJs } from './llm/transformers-js.js';
import { median, ratio } from './stats.js';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'small' },
    tokens: { type: 'string', default: '128' },
    threads: { type: 'string', default: '2' },
    runs: { type: 'string', default: '3' },
    'kv-tokens': { type: 'string', default: '256' },
    'kv-preset': { type: 'string' },
    dir: { type: 'string', default: join(tmpdir(), 'vmm-bench-models') },
    // Measure the peer first: the order should not change the result; this flag shows it.
    'peer-first': { type: 'boolean', default: false },
  },
});
const tokens = Number(values.tokens);
const threads = Number(values.threads);
const runs = Number(values.runs);
const kvTokens = Number(values['kv-tokens']);

const PROMPT =
  'Once upon a time there was a little town by the sea. The people of the town were kind, and they worked ' +
  'hard every day. In the morning the fishermen went out to sea, and in the evening they came home with their boats.';

function folderFor(preset: string): string {
  const dir = join(values.dir, `${preset}-llama`);
  if (!existsSync(join(dir, 'onnx', 'model.onnx'))) {
    console.log(`building the ${preset} fixture into ${dir} ...`);
    writeLlamaFolder(dir, { preset: preset as LlamaPreset });
  }
  return dir;
}

interface Implementation {
  run(prompt: string, tokens: number): Promise<RunResult>;
  close(): Promise<void>;
}

async function measure(name: string, open: () => Promise<Implementation>): Promise<RunResult> {
  const loadStart = performance.now();
  const implementation = await open();
  const loadMs = performance.now() - loadStart;
  await implementation.run(PROMPT, 4);
  const results: RunResult[] = [];
  for (let i = 0; i < runs; i += 1) results.push(await implementation.run(PROMPT, tokens));
  await implementation.close();
  const pick = (f: (run: RunResult) => number) => median(results.map(f));
  const result = {
    promptTokens: results[0]?.promptTokens ?? 0,
    generatedTokens: Math.min(...results.map((run) => run.generatedTokens)),
    ttftMs: pick((run) => run.ttftMs),
    totalMs: pick((run) => run.totalMs),
  };
  console.log(
    `${name.padEnd(16)} load ${loadMs.toFixed(0).padStart(6)} ms  prefill ${prefillTokensPerSecond(result).toFixed(1).padStart(8)} tok/s  ` +
      `decode ${decodeTokensPerSecond(result).toFixed(1).padStart(7)} tok/s  ttft ${result.ttftMs.toFixed(1).padStart(7)} ms  ` +
      `(${result.promptTokens} prompt, ${result.generatedTokens} generated, median of ${runs})`,
  );
  return result;
}

const preset = values.preset;
const dir = folderFor(preset);
console.log(`bench/llm preset=${preset} tokens=${tokens} threads=${threads} runs=${runs} (${dir})`);
const measureOurs = () => measure('vmm LlmRunner', () => openOurs(dir, threads));
const measurePeer = () => measure('transformers.js', () => openTransformersJs(dir, threads));
const [ours, peer] = values['peer-first']
  ? await measurePeer().then(async (peerResult) => [await measureOurs(), peerResult])
  : await measureOurs().then(async (oursResult) => [oursResult, await measurePeer()]);
if (!ours || !peer) throw new Error('unreachable');
console.log(
  `ratio vmm/transformers.js  prefill ${ratio(prefillTokensPerSecond(ours), prefillTokensPerSecond(peer))}  ` +
    `decode ${ratio(decodeTokensPerSecond(ours), decodeTokensPerSecond(peer))}  ` +
    `ttft ${ratio(ours.ttftMs, peer.ttftMs)} (lower is better)`,
);

if (kvTokens > 0) {
  const kvDir = folderFor(values['kv-preset'] ?? preset);
  const config = JSON.parse(readFileSync(join(kvDir, 'config.json'), 'utf8')) as Record<string, number>;
  const shape = {
    numLayers: config.num_hidden_layers ?? 0,
    numKvHeads: config.num_key_value_heads ?? 0,
    headDim: config.head_dim ?? 0,
  };
  const short = 'Once upon a time';
  const cached = await openOurs(kvDir, threads);
  await cached.run(short, 4);
  const withCache = await cached.run(short, kvTokens);
  await cached.close();
  const cachedRate = withCache.generatedTokens / (withCache.totalMs / 1000);
  const promptIds = [1, 607, 502, 280, 362];
  const recomputeRate = await recomputeTokensPerSecond(
    join(kvDir, 'onnx', 'model.onnx'),
    shape,
    promptIds,
    kvTokens,
    threads,
  );
  console.log(
    `kv cache ${values['kv-preset'] ?? preset} ${kvTokens} tokens: with cache ${cachedRate.toFixed(1)} tok/s, ` +
      `full recompute ${recomputeRate.toFixed(1)} tok/s, speed-up ${ratio(cachedRate, recomputeRate)}`,
  );
}
