// bench/worker: generation through gRPC (a worker process on loopback) against the same
// LlmRunner in-process — same model, prompt, seed and threads — and health-check latency while
// a generation runs.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { credentials, makeClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { LlmRunner } from '@vmm/llm';
import { type LlamaPreset, writeLlamaFolder } from '@vmm/model-fixtures';
import { type GenerateChunk, InferenceClient } from '@vmm/proto';
import { startWorkerProcess } from '@vmm/test-support';
import { service as healthService } from 'grpc-health-check';
import { decodeTokensPerSecond, type RunResult, summarise, timeTokenStream } from './llm/run-result.js';
import { ratio } from './stats.js';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'small' },
    tokens: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' },
    runs: { type: 'string', default: '3' },
    dir: { type: 'string', default: join(tmpdir(), 'vmm-bench-models') },
  },
});
const tokens = Number(values.tokens);
const threads = Number(values.threads);
const runs = Number(values.runs);
const name = `${values.preset}-llama`;
const modelDir = join(values.dir, name);
if (!existsSync(join(modelDir, 'onnx', 'model.onnx')))
  writeLlamaFolder(modelDir, { preset: values.preset as LlamaPreset });

const PROMPT = 'Once upon a time there was a little town by the sea. The people of the town were kind.';
const sampling = { temperature: 0.8, topK: 40, topP: 0.9, seed: 42, maxTokens: tokens };

const timed = timeTokenStream;

console.log(`bench/worker preset=${values.preset} tokens=${tokens} threads=${threads} runs=${runs}`);

// In-process: the runner the worker hosts, called directly.
const runner = await LlmRunner.open({
  dir: modelDir,
  file: 'onnx/model.onnx',
  session: { backend: 'cpu', intraOpThreads: threads },
});
await timed(runner.generate({ prompt: PROMPT, raw: true, options: { ...sampling, maxTokens: 4 } }));
const local: RunResult[] = [];
for (let i = 0; i < runs; i += 1)
  local.push(await timed(runner.generate({ prompt: PROMPT, raw: true, options: sampling })));
await runner.close();
const inProcess = summarise('in-process LlmRunner', local);

// Through gRPC: a worker process on loopback.
const child = await startWorkerProcess(values.dir, { VMM_THREADS: String(threads) });
const port = child.port;
const client = new InferenceClient(`127.0.0.1:${port}`, credentials.createInsecure());
const generate = (maxTokens: number) =>
  client.generate({
    model: name,
    prompt: PROMPT,
    raw: true,
    images: [],
    system: undefined,
    options: { ...sampling, maxTokens, stop: [] },
    context: undefined,
  }) as AsyncIterable<GenerateChunk>;
await timed(generate(4));
const remote: RunResult[] = [];
for (let i = 0; i < runs; i += 1) remote.push(await timed(generate(tokens)));
const viaGrpc = summarise('gRPC worker', remote);
console.log(
  `ratio grpc/in-process  decode ${ratio(decodeTokensPerSecond(viaGrpc), decodeTokensPerSecond(inProcess))}  ttft ${ratio(viaGrpc.ttftMs, inProcess.ttftMs)} (lower is better)`,
);

// Health checks while a long generation runs in the same worker.
const Health = makeClientConstructor(healthService, 'grpc.health.v1.Health');
const health = new Health(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
  check(request: { service: string }, callback: (error: ServiceError | null) => void): void;
  close(): void;
};
const check = () =>
  new Promise<number>((resolve, reject) => {
    const started = performance.now();
    health.check({ service: '' }, (error) => (error ? reject(error) : resolve(performance.now() - started)));
  });
const idle: number[] = [];
for (let i = 0; i < 20; i += 1) idle.push(await check());
let generating = true;
const background = timed(generate(tokens * 4)).finally(() => (generating = false));
const busy: number[] = [];
while (generating && busy.length < 200) {
  busy.push(await check());
  await new Promise((resolve) => setTimeout(resolve, 20));
}
await background;
const p = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))] ?? NaN;
console.log(
  `health while generating: p50 ${p(busy, 0.5).toFixed(2)} ms  p99 ${p(busy, 0.99).toFixed(2)} ms  max ${Math.max(...busy).toFixed(2)} ms over ${busy.length} checks; idle p50 ${p(idle, 0.5).toFixed(2)} ms  (busy/idle p50 ${ratio(p(busy, 0.5), p(idle, 0.5))})`,
);
health.close();
client.close();
await child.stop();
