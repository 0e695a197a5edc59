// bench/llamacpp: VMM's LlmRunner against llama.cpp (the engine inside Ollama, through
// node-llama-cpp's prebuilt CPU build) on identical weights: the fixture's ONNX files and their
// GGUF copies. Same prompt token ids, greedy, same thread count; the two engines alternate
// run by run. Prints each figure with the VMM / llama.cpp ratio (higher is better for VMM).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LlmRunner, LlmTokenizer } from '@vmm/llm';
import {
  ggufFileName,
  type LlamaGgufType,
  type LlamaPreset,
  llamaPresets,
  type LlamaVariant,
  writeLlamaFolder,
} from '@vmm/model-fixtures';
import { type LlamaCppPeer, type LlamaCppStream, openLlamaCpp } from '@vmm/test-support';
import { memoryBandwidth } from './bandwidth.js';
import { timedStream } from './llm/ours.js';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'small' },
    threads: { type: 'string', default: '2' },
    runs: { type: 'string', default: '3' },
    tokens: { type: 'string', default: '64' },
    'short-prompt': { type: 'string', default: '16' },
    'long-prompt': { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '1,4,8' },
    precisions: { type: 'string', default: 'fp32,fp16,int8,int4' },
    dir: { type: 'string', default: join(tmpdir(), 'vmm-bench-models') },
  },
});
const list = (text: string) => text.split(',').map((item) => item.trim());
const threadCounts = list(values.threads).map(Number);
const runs = Number(values.runs);
const tokens = Number(values.tokens);
const concurrency = list(values.concurrency).map(Number);
const preset = values.preset as LlamaPreset;
if (!(preset in llamaPresets)) throw new Error(`unknown --preset ${values.preset}`);
/** The seed's model (TinyLlama's shape) has targets of its own: a step there is weight-bound. */
const seedSize = preset === 'tinyllama';

/** Each precision as the two engines name it (VMM's int4 holds llama.cpp q4_0's very values). */
const precisions: Record<string, { onnx?: string; gguf: LlamaGgufType; label: string }> = {
  fp32: { onnx: 'onnx/model.onnx', gguf: 'f32', label: 'fp32 / f32' },
  fp16: { onnx: 'onnx/model_fp16.onnx', gguf: 'f16', label: 'fp16 / f16' },
  int8: { onnx: 'onnx/model_quantized.onnx', gguf: 'q8_0', label: 'int8 / q8_0' },
  int4: { onnx: 'onnx/model_q4.onnx', gguf: 'q4_0', label: 'int4 / q4_0' },
};
const chosen = list(values.precisions).map((name) => {
  const precision = precisions[name];
  if (!precision) throw new Error(`unknown precision ${name} (fp32, fp16, int8, int4)`);
  return precision;
});

const dir = join(values.dir, `${preset}-llama-peer`);
// Only what the chosen precisions need: the tinyllama preset's every variant is 17 GB.
const variantOf: Record<string, LlamaVariant> = {
  'onnx/model.onnx': 'fp32',
  'onnx/model_fp16.onnx': 'fp16',
  'onnx/model_quantized.onnx': 'int8',
  'onnx/model_q4.onnx': 'q4',
};
const missing = chosen.filter(
  (precision) =>
    !existsSync(join(dir, ggufFileName(precision.gguf))) ||
    (precision.onnx !== undefined && !existsSync(join(dir, precision.onnx))),
);
if (missing.length > 0) {
  console.log(`building the ${preset} fixture (${missing.map((p) => p.label).join(', ')}) into ${dir} ...`);
  writeLlamaFolder(dir, {
    preset,
    variants: missing.flatMap((precision) =>
      precision.onnx ? [variantOf[precision.onnx] as LlamaVariant] : [],
    ),
    gguf: missing.map((precision) => precision.gguf),
  });
}
const tokenizer = LlmTokenizer.load(dir);

const SENTENCES = [
  'Once upon a time there was a little town by the sea.',
  'The people of the town were kind, and they worked hard every day.',
  'In the morning the fishermen went out to sea, and in the evening they came home with their boats.',
  'The children played on the beach and built castles in the sand.',
  'A model server loads machine learning models and answers requests over the network.',
  'When many people send requests at the same time, the server puts them in a queue.',
];

/** A text of at least `length` tokens (whole words), starting at sentence `offset`, and its ids. */
function promptOf(length: number, offset = 0): { text: string; ids: number[] } {
  const words: string[] = [];
  for (let i = offset; ; i += 1) {
    for (const word of (SENTENCES[i % SENTENCES.length] as string).split(' ')) {
      words.push(word);
      const text = words.join(' ');
      const ids = tokenizer.encode(text, true);
      if (ids.length >= length) return { text, ids };
    }
  }
}

/** One engine's streams of one run, timed from the start of the run. */
type Streams = LlamaCppStream[];

async function vmmRun(runner: LlmRunner, prompts: string[], count: number): Promise<Streams> {
  const started = performance.now();
  // Plain greedy, as llama.cpp's: no repetition penalty.
  const options = { temperature: 0, repetitionPenalty: 1, maxTokens: count };
  return Promise.all(prompts.map((prompt) => timedStream(runner, prompt, options, started)));
}

interface Figures {
  /** Decode tok/s of one stream: tokens after the first over the time after the first. */
  decode: number;
  /** Prompt tok/s: prompt tokens over time to first token. */
  prefill: number;
  /** All generated tokens of all streams over the wall time of the run. */
  total: number;
}

function figures(streams: Streams, promptTokens: number): Figures {
  const first = streams[0] ?? { tokens: [], firstTokenMs: 0, endMs: 0 };
  const end = Math.max(...streams.map((stream) => stream.endMs));
  const generated = streams.reduce((sum, stream) => sum + stream.tokens.length, 0);
  return {
    decode: (first.tokens.length - 1) / ((first.endMs - first.firstTokenMs) / 1000),
    prefill: promptTokens / (first.firstTokenMs / 1000),
    total: generated / (end / 1000),
  };
}

interface Engines {
  vmm?: LlmRunner;
  llama: LlamaCppPeer;
}

/** Runs `scenario` on both engines `runs` times, alternating which goes first; medians. */
async function compare(
  engines: Engines,
  scenario: { prompts: { text: string; ids: number[] }[]; tokens: number },
  pick: (figures: Figures) => number,
): Promise<{ vmm?: number; llama: number }> {
  const ours: number[] = [];
  const theirs: number[] = [];
  const promptTokens = scenario.prompts[0]?.ids.length ?? 0;
  const runVmm = async () => {
    if (engines.vmm)
      ours.push(
        pick(
          figures(
            await vmmRun(
              engines.vmm,
              scenario.prompts.map((p) => p.text),
              scenario.tokens,
            ),
            promptTokens,
          ),
        ),
      );
  };
  const runLlama = async () => {
    theirs.push(
      pick(
        figures(
          await engines.llama.generate(
            scenario.prompts.map((p) => p.ids),
            scenario.tokens,
          ),
          promptTokens,
        ),
      ),
    );
  };
  for (let run = 0; run < runs; run += 1) {
    if (run % 2 === 0) await runVmm().then(runLlama);
    else await runLlama().then(runVmm);
  }
  return { ...(engines.vmm ? { vmm: median(ours) } : {}), llama: median(theirs) };
}

const rows: string[] = [];
function report(
  threads: number,
  label: string,
  work: string,
  result: { vmm?: number; llama: number },
  unit: string,
) {
  const vmm = result.vmm === undefined ? '(no model)' : `${result.vmm.toFixed(1)} ${unit}`;
  const ratio = result.vmm === undefined ? '—' : `${(result.vmm / result.llama).toFixed(2)}x`;
  console.log(
    `  ${work.padEnd(34)} vmm ${vmm.padStart(14)}   llama.cpp ${`${result.llama.toFixed(1)} ${unit}`.padStart(13)}   vmm/llama.cpp ${ratio}`,
  );
  rows.push(`| ${threads} | ${label} | ${work} | ${vmm} | ${result.llama.toFixed(1)} ${unit} | ${ratio} |`);
}

const targets: string[] = [];
/** Short-prompt decode of each thread count and precision (by GGUF type), for the precision targets. */
const shortDecodes = new Map<string, { vmm?: number; llama: number }>();
/** Prints a target line: the measured ratio, the bound and whether it holds. */
function target(what: string, ratio: number, relation: '>=' | '<=', bound: number): void {
  const met = relation === '>=' ? ratio >= bound : ratio <= bound;
  const line = `  target ${what}: ${ratio.toFixed(2)} (${relation} ${bound}) ${met ? 'met' : 'NOT met'}`;
  console.log(line);
  targets.push(line);
}

/**
 * Streams that keep decoding while a long prompt joins: 4 short streams run, then the long
 * prompt arrives; the inter-token gaps of the running streams while it is prefilled (chunked
 * between their steps) against their median gap. Then the same long prompt again with a few
 * words more: prefix reuse should skip its first 1000 tokens (time to first token vs cold).
 */
async function streamsWhileAdmitting(file: string, label: string, threads: number): Promise<void> {
  const runner = await LlmRunner.open({ dir, file, session: { backend: 'cpu', intraOpThreads: threads } });
  try {
    const options = { temperature: 0, repetitionPenalty: 1, maxTokens: 160 };
    const gaps: { at: number; gap: number }[] = [];
    let decoding = 0;
    const running = Array.from({ length: 4 }, async (_, i) => {
      let last = 0;
      for await (const chunk of runner.generate({
        prompt: promptOf(short.ids.length, i).text,
        raw: true,
        options,
      })) {
        if (chunk.tokenIds.length === 0) continue;
        const now = performance.now();
        if (last === 0) decoding += 1;
        else gaps.push({ at: now, gap: now - last });
        last = now;
      }
    });
    while (decoding < 4) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const sent = performance.now();
    const joining = await timedStream(
      runner,
      long.text,
      { temperature: 0, repetitionPenalty: 1, maxTokens: 1 },
      sent,
    );
    const admitted = { sent, first: sent + joining.firstTokenMs };
    await Promise.all(running);
    const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
    const all = sorted(gaps.map((g) => g.gap));
    const during = sorted(
      gaps.filter((g) => g.at > admitted.sent && g.at <= admitted.first).map((g) => g.gap),
    );
    const median = all[Math.floor(all.length / 2)] ?? 0;
    const p99 = during[Math.min(during.length - 1, Math.floor(during.length * 0.99))] ?? 0;
    console.log(
      `  running streams' inter-token gap: median ${median.toFixed(1)} ms, p99 while a ${long.ids.length}-token prompt is admitted ${p99.toFixed(1)} ms (${during.length} gaps)`,
    );
    target(`${label}, ${threads}t: p99 inter-token gap while admitting / median`, p99 / median, '<=', 3);
    // Cold: a long prompt nothing has cached, alone; then it again with a few words more.
    const fresh = promptOf(long.ids.length, 3).text;
    const greedyOne = { temperature: 0, repetitionPenalty: 1, maxTokens: 1 };
    const coldAlone = await timedStream(runner, fresh, greedyOne);
    const warm = await timedStream(runner, `${fresh} and then`, greedyOne);
    console.log(
      `  time to first token, ${long.ids.length}-token prompt: cold ${coldAlone.firstTokenMs.toFixed(0)} ms, repeated prefix ${warm.firstTokenMs.toFixed(0)} ms`,
    );
    target(
      `${label}, ${threads}t: time to first token, repeated prefix / cold`,
      warm.firstTokenMs / coldAlone.firstTokenMs,
      '<=',
      0.2,
    );
  } finally {
    await runner.close();
  }
}

const short = promptOf(Number(values['short-prompt']));
const long = promptOf(Number(values['long-prompt']));
const maxConcurrency = Math.max(...concurrency);
console.log(
  `bench/llamacpp preset=${preset} threads=${threadCounts.join(',')} tokens=${tokens} runs=${runs} ` +
    `prompts=${short.ids.length},${long.ids.length} tokens (${dir})`,
);
for (const threads of threadCounts) {
  for (const precision of chosen) {
    console.log(`threads=${threads} ${precision.label}`);
    // Runs repeat prompts: prefix reuse would turn every prefill after the first into a cache hit.
    const vmm = precision.onnx
      ? await LlmRunner.open({
          dir,
          file: precision.onnx,
          session: { backend: 'cpu', intraOpThreads: threads },
          batching: { prefixReuse: false },
        })
      : undefined;
    if (vmm) console.log(`  VMM's KV path: ${vmm.info.kvPath}`);
    const modelPath = join(dir, ggufFileName(precision.gguf));
    const contextSize = long.ids.length + tokens + 16;
    const single = await openLlamaCpp({ modelPath, threads, contextSize });
    const engines = { ...(vmm ? { vmm } : {}), llama: single };
    // Warm both engines up once (first-call allocations are not what is measured).
    await compare({ ...engines }, { prompts: [short], tokens: 4 }, (f) => f.decode);
    const shortDecode = await compare(engines, { prompts: [short], tokens }, (f) => f.decode);
    shortDecodes.set(`${threads}:${precision.gguf}`, shortDecode);
    report(threads, precision.label, `decode, ${short.ids.length}-token prompt`, shortDecode, 'tok/s');
    report(
      threads,
      precision.label,
      `prefill, ${long.ids.length}-token prompt`,
      await compare(engines, { prompts: [long], tokens: 1 }, (f) => f.prefill),
      'tok/s',
    );
    const longDecode = await compare(engines, { prompts: [long], tokens }, (f) => f.decode);
    report(threads, precision.label, `decode after ${long.ids.length} tokens`, longDecode, 'tok/s');
    if (vmm && longDecode.vmm !== undefined) {
      // This machine's speed drifts over minutes: the ratio comes from short and long runs
      // alternated back to back, not from the two figures above.
      const pairs: number[] = [];
      const decodeOf = async (prompt: { text: string; ids: number[] }) =>
        figures(await vmmRun(vmm, [prompt.text], tokens), prompt.ids.length).decode;
      for (let run = 0; run < Math.max(3, runs); run += 1) {
        const shortRate = await decodeOf(short);
        pairs.push((await decodeOf(long)) / shortRate);
      }
      target(
        `${precision.label}, ${threads}t: decode after ${long.ids.length} / after ${short.ids.length} tokens`,
        median(pairs),
        '>=',
        0.9,
      );
      target(
        `${precision.label}, ${threads}t: decode after ${long.ids.length} tokens, vmm / llama.cpp`,
        longDecode.vmm / longDecode.llama,
        '>=',
        1.2,
      );
    }
    await single.close();
    // llama.cpp serves concurrent sequences from one context with that many sequences, as
    // llama-server does with --parallel; VMM gets the same requests at once on one runner.
    const parallel = await openLlamaCpp({
      modelPath,
      threads,
      contextSize: maxConcurrency * (short.ids.length + tokens + 16),
      sequences: maxConcurrency,
    });
    const totals = new Map<number, { vmm?: number; llama: number }>();
    for (const streams of concurrency) {
      const prompts = Array.from({ length: streams }, (_, i) => promptOf(short.ids.length, i));
      const result = await compare(
        { ...(vmm ? { vmm } : {}), llama: parallel },
        { prompts, tokens },
        (f) => f.total,
      );
      totals.set(streams, result);
      report(
        threads,
        precision.label,
        `${streams} concurrent sequence${streams === 1 ? '' : 's'}, total`,
        result,
        'tok/s',
      );
    }
    await parallel.close();
    const one = totals.get(1)?.vmm;
    const most = totals.get(maxConcurrency);
    if (one !== undefined && most?.vmm !== undefined && maxConcurrency > 1) {
      target(
        `${precision.label}, ${threads}t: ${maxConcurrency} concurrent / 1 stream, total tok/s`,
        most.vmm / one,
        '>=',
        seedSize ? 4 : 3,
      );
      target(
        `${precision.label}, ${threads}t: ${maxConcurrency} concurrent, vmm / llama.cpp ${maxConcurrency} sequences`,
        most.vmm / most.llama,
        '>=',
        seedSize ? 2 : 1.5,
      );
    }
    await vmm?.close();
    if (precision.onnx) await streamsWhileAdmitting(precision.onnx, precision.label, threads);
  }
}
const q4File = join(dir, 'onnx/model_q4.onnx');
const measured = chosen.some((precision) => precision.gguf === 'q4_0')
  ? await memoryBandwidth(Math.max(...threadCounts))
  : undefined;
const bandwidth = measured ? Math.max(measured.triad, measured.copy) : 0;
if (bandwidth > 0) {
  // A decode step reads every quantized weight once; of the float32 embedding, one row.
  const shape = llamaPresets[preset];
  const bytes =
    statSync(q4File).size +
    (existsSync(`${q4File}_data`) ? statSync(`${q4File}_data`).size : 0) -
    (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { vocab_size: number }).vocab_size *
      shape.hiddenSize *
      4;
  console.log(
    `memory bandwidth (STREAM, ${Math.max(...threadCounts)} threads): triad ${((measured?.triad ?? 0) / 1e9).toFixed(1)} GB/s, copy ${((measured?.copy ?? 0) / 1e9).toFixed(1)} GB/s; int4 weights read per token: ${(bytes / 2 ** 20).toFixed(0)} MiB; bound ${(bandwidth / bytes).toFixed(1)} tok/s`,
  );
  for (const threads of threadCounts) {
    const q4 = shortDecodes.get(`${threads}:q4_0`)?.vmm;
    if (q4 !== undefined)
      target(
        `${preset} ${threads}t: int4 decode / memory-bandwidth bound`,
        q4 / (bandwidth / bytes),
        '>=',
        seedSize ? 0.85 : 0.6,
      );
  }
}
for (const threads of threadCounts) {
  const of = (type: LlamaGgufType) => shortDecodes.get(`${threads}:${type}`);
  const [f32, f16, q8, q4] = [of('f32'), of('f16'), of('q8_0'), of('q4_0')];
  if (q4?.vmm !== undefined && f32?.vmm !== undefined)
    target(`${threads}t: int4 decode / fp32 decode (vmm)`, q4.vmm / f32.vmm, '>=', 2.5);
  if (q4?.vmm !== undefined)
    target(`${threads}t: int4 decode, vmm / llama.cpp q4_0`, q4.vmm / q4.llama, '>=', seedSize ? 1.2 : 1);
  if (q8?.vmm !== undefined)
    target(`${threads}t: int8 decode, vmm / llama.cpp q8_0`, q8.vmm / q8.llama, '>=', 1);
  if (f16?.vmm !== undefined)
    target(`${threads}t: fp16 decode, vmm / llama.cpp f16`, f16.vmm / f16.llama, '>=', 1);
}
console.log(
  '\n| threads | precision | work | VMM | llama.cpp | VMM / llama.cpp |\n| --- | --- | --- | --- | --- | --- |',
);
console.log(rows.join('\n'));
console.log('\ntargets (issues "LLM engine" and "LLM engine, part 2"):');
console.log(targets.join('\n'));
