// bench/families: the layouts and families real exports come in (issue 29).
// 1. ONNX Runtime GenAI builder's int4 layout (rotation and packed QKV inside GroupQueryAttention,
//    kept: the kernel writes the cache in place, the `shared-buffer` path) against the project's own GQA layout, on the
//    `small` Llama shape: decode tok/s after 16 and after 1000 tokens of context. Target: the
//    builder's within 10 % (>= 0.90x).
// 2. Each family llama.cpp's converter takes (Llama 3, Qwen 2.5, Qwen 3, Gemma 3, Phi-3) at a bench size
//    with its real vocabulary: VMM on the builder's int4 file against llama.cpp on the q4_0 GGUF
//    of the very same quantized weights, decode tok/s after a short prompt.
// Same run, engines alternating, greedy, the same thread count; every stream is checked to have
// produced the tokens asked for (no figure from a failed or cut-short run).
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LlmRunner, LlmTokenizer } from '@vmm/llm';
import {
  type DecoderFamily,
  type FamilyShape,
  ggufArchitectures,
  llamaPresets,
  writeFamilyFolder,
  writeLlamaFolder,
} from '@vmm/model-fixtures';
import { familyTokenizerDir, lenmlModelsDir, openLlamaCpp } from '@vmm/test-support';
import { timedStream } from './llm/ours.js';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    runs: { type: 'string', default: '3' },
    tokens: { type: 'string', default: '48' },
    families: { type: 'string', default: 'llama3,qwen2,qwen3,gemma3,phi3' },
    skip: { type: 'string', default: '' },
    dir: { type: 'string', default: join(tmpdir(), 'vmm-bench-families') },
  },
});
const threads = Number(values.threads);
const runs = Number(values.runs);
const tokens = Number(values.tokens);
const skip = new Set(values.skip.split(',').filter(Boolean));

const SENTENCES = [
  'Once upon a time there was a little town by the sea.',
  'The people of the town were kind, and they worked hard every day.',
  'In the morning the fishermen went out to sea, and in the evening they came home with their boats.',
  'A model server loads machine learning models and answers requests over the network.',
];

/** A text of at least `length` tokens under `tokenizer` (whole words), and its ids. */
function promptOf(tokenizer: LlmTokenizer, length: number): { text: string; ids: number[] } {
  const words: string[] = [];
  for (let i = 0; ; i += 1) {
    for (const word of (SENTENCES[i % SENTENCES.length] as string).split(' ')) {
      words.push(word);
      const text = words.join(' ');
      const ids = tokenizer.encode(text, true);
      if (ids.length >= length) return { text, ids };
    }
  }
}

/** Decode tok/s of one stream: tokens after the first over the time after the first. */
function decodeRate(stream: { tokens: number[]; firstTokenMs: number; endMs: number }, what: string): number {
  if (stream.tokens.length !== tokens)
    throw new Error(
      `${what} produced ${stream.tokens.length} tokens, not ${tokens}: no figure from a cut-short run`,
    );
  return (stream.tokens.length - 1) / ((stream.endMs - stream.firstTokenMs) / 1000);
}

async function vmmDecode(runner: LlmRunner, prompt: string, what: string): Promise<number> {
  // Plain greedy with no stop: every run produces exactly `tokens`.
  const options = { temperature: 0, repetitionPenalty: 1, maxTokens: tokens, stop: [] };
  return decodeRate(await timedStream(runner, prompt, options), what);
}

/** Medians of `runs` alternating runs of two measurements. */
async function alternate(a: () => Promise<number>, b: () => Promise<number>): Promise<[number, number]> {
  const first: number[] = [];
  const second: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    if (run % 2 === 0) {
      first.push(await a());
      second.push(await b());
    } else {
      second.push(await b());
      first.push(await a());
    }
  }
  return [median(first), median(second)];
}

const verdict = (ratio: number, target: number) =>
  `${ratio.toFixed(2)}x (target >= ${target.toFixed(2)}x: ${ratio >= target ? 'met' : 'NOT met'})`;
const open = (dir: string, file: string) =>
  LlmRunner.open({
    dir,
    file,
    session: { backend: 'cpu', intraOpThreads: threads },
    // Long contexts fit; one sequence at a time.
    batching: { maxBatch: 1 },
  });

console.log(`bench/families: ${threads} thread(s), ${runs} alternating runs, ${tokens} tokens per run`);

if (!skip.has('layouts')) {
  // 1. The builder's int4 layout against the project's GQA layout, same shape (`small` Llama).
  const small = llamaPresets.small;
  const projectDir = join(values.dir, 'small-gqa');
  const builderDir = join(values.dir, 'small-genai');
  if (!existsSync(join(projectDir, 'onnx', 'model_q4.onnx')))
    writeLlamaFolder(projectDir, { preset: 'small', variants: ['q4'] });
  if (!existsSync(join(builderDir, 'onnx', 'model_q4.onnx')))
    writeFamilyFolder(builderDir, {
      family: 'llama3',
      layout: 'genai',
      // Llama 2's 32 000-token vocabulary: the `small` shape's.
      tokenizerDir: lenmlModelsDir('llama2'),
      shape: {
        hiddenSize: small.hiddenSize,
        intermediateSize: small.intermediateSize,
        numLayers: small.numLayers,
        numHeads: small.numHeads,
        numKvHeads: small.numKvHeads,
        headDim: small.hiddenSize / small.numHeads,
        vocabSize: 32000,
        maxPositions: small.maxPositions,
        ropeTheta: small.ropeTheta,
        tieWordEmbeddings: false,
        ropeScaling: undefined,
      },
      variants: ['q4'],
    });
  const project = await open(projectDir, 'onnx/model_q4.onnx');
  const builder = await open(builderDir, 'onnx/model_q4.onnx');
  try {
    for (const runner of [builder, project]) {
      if (runner.info.kvPath !== 'shared-buffer')
        throw new Error(`a layout took the ${runner.info.kvPath} path, not shared-buffer`);
    }
    console.log(
      '\nbuilder int4 layout vs the project GQA layout (both shared-buffer), small shape, decode tok/s',
    );
    for (const context of [16, 1000]) {
      const projectPrompt = promptOf(LlmTokenizer.load(projectDir), context).text;
      const builderPrompt = promptOf(LlmTokenizer.load(builderDir), context).text;
      const [ours, theirs] = await alternate(
        () => vmmDecode(builder, builderPrompt, 'the builder layout'),
        () => vmmDecode(project, projectPrompt, 'the project layout'),
      );
      console.log(
        `  decode after ${String(context).padStart(4)} tokens: builder ${ours.toFixed(1)} tok/s, project ${theirs.toFixed(1)} tok/s: builder/project ${verdict(ours / theirs, 0.9)}`,
      );
    }
  } finally {
    await Promise.all([project.close(), builder.close()]);
  }
}

if (!skip.has('llamacpp')) {
  // 2. Each family vs llama.cpp q4_0 on the same quantized weights.
  /** A bench size: wide enough that the layers, not the harness, cost; the real vocabulary. */
  const benchShape = (family: DecoderFamily): Partial<FamilyShape> => ({
    hiddenSize: 512,
    intermediateSize: 1408,
    numLayers: family === 'gemma3' ? 6 : 4,
    numHeads: 8,
    // Phi-3 has as many KV heads as query heads.
    numKvHeads: family === 'gemma3' ? 1 : family === 'phi3' ? 8 : 2,
    headDim: 64,
    ...(family === 'gemma3'
      ? { queryPreAttnScalar: 64, slidingWindow: { size: 512, pattern: 6, localRopeTheta: 10000 } }
      : {}),
  });
  console.log(
    '\neach family: VMM builder int4 vs llama.cpp q4_0 (same quantized weights), decode tok/s after 16 tokens',
  );
  for (const family of values.families.split(',') as DecoderFamily[]) {
    if (!ggufArchitectures[family]) throw new Error(`no llama.cpp comparison for ${family}`);
    const dir = join(values.dir, `${family}-bench`);
    if (!existsSync(join(dir, 'gguf', 'model-q4_0.gguf')))
      writeFamilyFolder(dir, {
        family,
        layout: 'genai',
        tokenizerDir: familyTokenizerDir(family),
        shape: benchShape(family),
        variants: ['q4'],
        gguf: ['q4_0'],
      });
    const prompt = promptOf(LlmTokenizer.load(dir), 16);
    const runner = await open(dir, 'onnx/model_q4.onnx');
    const peer = await openLlamaCpp({
      modelPath: join(dir, 'gguf', 'model-q4_0.gguf'),
      threads,
      contextSize: 512,
    });
    try {
      const [ours, theirs] = await alternate(
        () => vmmDecode(runner, prompt.text, `VMM ${family}`),
        async () => {
          const [stream] = await peer.generate([prompt.ids], tokens);
          if (!stream) throw new Error('llama.cpp returned no stream');
          return decodeRate(stream, `llama.cpp ${family}`);
        },
      );
      console.log(
        `  ${family.padEnd(7)} VMM ${ours.toFixed(1)} tok/s, llama.cpp ${theirs.toFixed(1)} tok/s: vmm/llama.cpp ${(ours / theirs).toFixed(2)}x`,
      );
    } finally {
      await Promise.all([runner.close(), peer.close()]);
    }
  }
}
