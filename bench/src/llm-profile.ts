// bench/llm-profile: where a decode step's time goes, at short and long context. One step of
// the small fixture's decoder (onnxruntime-node directly, the same session options VMM uses)
// after a past of N tokens: wall time fetching every output (what VMM did before it fetched only
// the new KV rows) and fetching the logits alone (the difference is moving the presents out),
// then ONNX Runtime's own profile
// of the step, summed by operator type. The peer is the same step at 16 tokens of context:
// a KV cache that does not move keeps the long-context step close to it.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type LlamaPreset, writeLlamaFolder } from '@vmm/model-fixtures';
import * as ort from 'onnxruntime-node';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'small' },
    threads: { type: 'string', default: '2' },
    contexts: { type: 'string', default: '16,1000' },
    steps: { type: 'string', default: '20' },
    file: { type: 'string', default: 'onnx/model.onnx' },
    dir: { type: 'string', default: join(tmpdir(), 'vmm-bench-models') },
  },
});
const threads = Number(values.threads);
const steps = Number(values.steps);
const contexts = values.contexts.split(',').map(Number);
const dir = join(values.dir, `${values.preset}-llama`);
if (!existsSync(join(dir, values.file))) {
  console.log(`building the ${values.preset} fixture (fp32, fp16) into ${dir} ...`);
  writeLlamaFolder(dir, { preset: values.preset as LlamaPreset, variants: ['fp32', 'fp16'] });
}
const modelPath = join(dir, values.file);
const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, number>;
const layers = config.num_hidden_layers ?? 0;
const kvHeads = config.num_key_value_heads ?? 0;
const headDim = config.head_dim ?? 0;
const half = values.file.includes('fp16');

function stepFeeds(context: number): Record<string, ort.Tensor> {
  const int64 = (data: bigint[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(data), dims);
  const feeds: Record<string, ort.Tensor> = {
    input_ids: int64([5n], [1, 1]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(context + 1).fill(1n), [1, context + 1]),
    position_ids: int64([BigInt(context)], [1, 1]),
  };
  const size = kvHeads * context * headDim;
  for (let i = 0; i < layers; i += 1) {
    for (const kind of ['key', 'value']) {
      // Small random values: the cost of a step does not depend on them.
      const data = half ? new Uint16Array(size).fill(0x2e66) : new Float32Array(size).fill(0.1);
      feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor(half ? 'float16' : 'float32', data, [
        1,
        kvHeads,
        context,
        headDim,
      ]);
    }
  }
  return feeds;
}

async function timeSteps(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  fetches?: string[],
) {
  const run = () => (fetches ? session.run(feeds, fetches) : session.run(feeds));
  await run();
  const times: number[] = [];
  for (let i = 0; i < steps; i += 1) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return median(times);
}

interface TraceEvent {
  cat?: string;
  dur?: number;
  args?: { op_name?: string };
}

/** ONNX Runtime's profile of `steps` steps, summed by operator type, in ms per step. */
async function profileByOp(feeds: Record<string, ort.Tensor>): Promise<Map<string, number>> {
  const name = `vmm-llm-profile-${process.pid}-${Date.now()}`;
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    enableProfiling: true,
    profileFilePrefix: join(tmpdir(), name),
  });
  for (let i = 0; i < steps; i += 1) await session.run(feeds);
  session.endProfiling();
  await session.release();
  // ONNX Runtime adds the date and time to the prefix.
  const file = readdirSync(tmpdir()).find((entry) => entry.startsWith(name) && entry.endsWith('.json'));
  if (!file) throw new Error(`ONNX Runtime wrote no profile named ${name}*.json in ${tmpdir()}`);
  const events = JSON.parse(readFileSync(join(tmpdir(), file), 'utf8')) as TraceEvent[];
  rmSync(join(tmpdir(), file), { force: true });
  const byOp = new Map<string, number>();
  for (const event of events) {
    if (event.cat !== 'Node' || !event.args?.op_name || event.dur === undefined) continue;
    byOp.set(event.args.op_name, (byOp.get(event.args.op_name) ?? 0) + event.dur / 1000 / steps);
  }
  return byOp;
}

console.log(`bench/llm-profile ${values.file} of ${dir}, threads=${threads}, median of ${steps} steps`);
const session = await ort.InferenceSession.create(modelPath, {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
});
const rows: { context: number; all: number; logits: number; ops: Map<string, number> }[] = [];
for (const context of contexts) {
  const feeds = stepFeeds(context);
  const all = await timeSteps(session, feeds);
  const logits = await timeSteps(session, feeds, ['logits']);
  rows.push({ context, all, logits, ops: await profileByOp(feeds) });
}
await session.release();
const base = rows[0];
for (const row of rows) {
  const opTotal = [...row.ops.values()].reduce((a, b) => a + b, 0);
  console.log(
    `context ${String(row.context).padStart(5)}: step ${row.all.toFixed(2)} ms fetching every output, ${row.logits.toFixed(2)} ms ` +
      `fetching logits only (moving the presents out: ${(row.all - row.logits).toFixed(2)} ms); ` +
      `operators in a profiled run ${opTotal.toFixed(2)} ms` +
      (base && row !== base ? `; step / step at ${base.context}: ${(row.all / base.all).toFixed(2)}x` : ''),
  );
  const top = [...row.ops.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
  console.log(
    `  by operator: ${top
      .map(([op, ms]) => {
        const grew = base && row !== base ? ms - (base.ops.get(op) ?? 0) : undefined;
        const change = grew === undefined ? '' : ` (${grew >= 0 ? '+' : '−'}${Math.abs(grew).toFixed(2)})`;
        return `${op} ${ms.toFixed(2)}${change}`;
      })
      .join(', ')} ms`,
  );
}
