// STREAM-style kernels over arrays far larger than the caches, on `threads` worker threads at
// once: the memory bandwidth a decode step that reads every weight once can at best use. Bytes
// counted as STREAM counts them (triad a = b + s·c: 3 arrays; copy a = b: 2). JavaScript does not
// vectorize the triad's loop, which then measures the core more than the memory, so the copy
// (TypedArray.set, a vectorized memmove) runs too and the larger of the two is the bound.
import { Worker } from 'node:worker_threads';

const KERNELS = `
const { parentPort, workerData } = require('node:worker_threads');
const n = workerData.elements;
const a = new Float64Array(n), b = new Float64Array(n).fill(1), c = new Float64Array(n).fill(2);
parentPort.on('message', ({ kernel, repeats }) => {
  for (let r = 0; r < repeats; r += 1) {
    if (kernel === 'copy') a.set(b);
    else for (let i = 0; i < n; i += 1) a[i] = b[i] + 3 * c[i];
  }
  parentPort.postMessage(a[n - 1]);
});
parentPort.postMessage('ready');
`;

export interface Bandwidth {
  triad: number;
  copy: number;
}

/** Best of `rounds` timed runs of each kernel, in bytes per second, all threads together. */
export async function memoryBandwidth(
  threads: number,
  bytesPerThread = 384 * 2 ** 20,
  rounds = 5,
): Promise<Bandwidth> {
  const elements = Math.floor(bytesPerThread / 3 / 8);
  const workers = Array.from(
    { length: threads },
    () => new Worker(KERNELS, { eval: true, workerData: { elements } }),
  );
  const next = (worker: Worker) => new Promise((resolve) => worker.once('message', resolve));
  try {
    await Promise.all(workers.map(next));
    const run = async (kernel: 'triad' | 'copy', repeats: number) => {
      const started = performance.now();
      await Promise.all(workers.map((worker) => (worker.postMessage({ kernel, repeats }), next(worker))));
      return (performance.now() - started) / 1000;
    };
    // A first pass faults the pages in and warms the JIT.
    await run('triad', 1);
    await run('copy', 1);
    const result: Bandwidth = { triad: 0, copy: 0 };
    for (let round = 0; round < rounds; round += 1) {
      result.triad = Math.max(result.triad, (threads * 2 * elements * 3 * 8) / (await run('triad', 2)));
      result.copy = Math.max(result.copy, (threads * 4 * elements * 2 * 8) / (await run('copy', 4)));
    }
    return result;
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
