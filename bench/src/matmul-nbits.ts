// bench/matmul-nbits: what one more row costs in ONNX Runtime's 4-bit matrix product, by the
// layouts exporters write. A chain of TinyLlama-size projections (2048 -> 5632 -> 2048, 11 pairs:
// 127 MiB of 4-bit weights, far past the caches) built as MatMulNBits with block size 32
// (llama.cpp's q4_0, transformers.js and onnxruntime-genai's default), 64 and 128 (ONNX Runtime's
// quantizer's default), at accuracy level 4 (int8 compute, what VMM's fixtures write) and 0
// (float compute). Each call of M rows is timed, row counts alternating round by round; the peer
// is the same layout's call of one row. A batched decode step of 8 sequences costs about what the
// 8-row call costs, so "8 rows / 1 row" bounds what 8 streams can gain over one on this machine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeMatMulNBitsStack } from '@vmm/model-fixtures';
import * as ort from 'onnxruntime-node';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    blocks: { type: 'string', default: '32,64,128' },
    levels: { type: 'string', default: '4,0' },
    rows: { type: 'string', default: '1,2,4,8,16' },
    rounds: { type: 'string', default: '5' },
    calls: { type: 'string', default: '8' },
  },
});
const list = (text: string) => text.split(',').map(Number);
const [threads, rounds, calls] = [Number(values.threads), Number(values.rounds), Number(values.calls)];
const rowCounts = list(values.rows);
if (!rowCounts.includes(1)) throw new Error('--rows must include 1: the peer is the call of one row');
const WIDTH = 2048;
const HIDDEN = 5632;
const PAIRS = 11;

const dir = mkdtempSync(join(tmpdir(), 'vmm-matmul-nbits-'));
const feeds = new Map(
  rowCounts.map((m) => [
    m,
    {
      x: new ort.Tensor(
        'float32',
        Float32Array.from({ length: m * WIDTH }, (_, i) => Math.sin(i)),
        [m, WIDTH],
      ),
    },
  ]),
);
const megabytes = (PAIRS * 2 * WIDTH * HIDDEN) / 2 / 2 ** 20;

/**
 * One layout's median ms per call by row count. Sessions are measured one at a time and released
 * before the next opens: an idle session's thread pool spins for a while after each call and
 * would take cores from the one being timed.
 */
async function measure(blockSize: number, accuracyLevel: number): Promise<Map<number, number>> {
  const path = join(dir, `stack-${blockSize}-${accuracyLevel}.onnx`);
  writeMatMulNBitsStack(path, { width: WIDTH, hidden: HIDDEN, pairs: PAIRS, blockSize, accuracyLevel });
  const session = await ort.InferenceSession.create(path, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  try {
    /** Runs `m` rows and checks the answer: the right shape, every value finite. */
    const call = async (m: number) => {
      const { y } = await session.run(feeds.get(m)!);
      const data = y?.data as Float32Array | undefined;
      if (!y || y.dims[0] !== m || y.dims[1] !== WIDTH || !data?.every(Number.isFinite)) {
        throw new Error(`block ${blockSize}, ${m} rows: the output is not [${m}, ${WIDTH}] of finite values`);
      }
    };
    for (const m of rowCounts) await call(m); // warm-up
    const samples = new Map<number, number[]>(rowCounts.map((m) => [m, []]));
    for (let round = 0; round < rounds; round += 1) {
      for (const m of rowCounts) {
        const started = performance.now();
        for (let i = 0; i < calls; i += 1) await call(m);
        samples.get(m)!.push((performance.now() - started) / calls);
      }
    }
    return new Map(rowCounts.map((m) => [m, median(samples.get(m)!)]));
  } finally {
    await session.release();
    rmSync(path, { force: true });
  }
}

try {
  console.log(
    `bench/matmul-nbits: ${PAIRS} pairs ${WIDTH} -> ${HIDDEN} -> ${WIDTH} (${megabytes.toFixed(0)} MiB of 4-bit weights), ${threads} threads, median of ${rounds} rounds of ${calls} calls`,
  );
  for (const accuracyLevel of list(values.levels)) {
    for (const blockSize of list(values.blocks)) {
      const ms = await measure(blockSize, accuracyLevel);
      const one = ms.get(1)!;
      const cells = rowCounts.map(
        (m) => `${m}: ${ms.get(m)!.toFixed(2)} ms (${(ms.get(m)! / one).toFixed(2)}x)`,
      );
      const eight = ms.get(8);
      console.log(
        `  block ${blockSize}, accuracy ${accuracyLevel}: rows ${cells.join(', ')}; one row reads ${((megabytes * 2 ** 20) / (one / 1000) / 1e9).toFixed(1)} GB/s${
          eight === undefined
            ? ''
            : `; 8 rows at once: ${((8 * one) / eight).toFixed(2)}x the rows/s of one at a time`
        }`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
