// A STREAM-style triad (a[i] = b[i] + s·c[i]) over arrays far larger than the caches, on
// `threads` worker threads at once: the memory bandwidth a decode step that reads every weight
// once can at best use. Bytes counted as STREAM counts them: 3 arrays × 8 bytes per element.
import { Worker } from 'node:worker_threads';

const TRIAD = `
const { parentPort, workerData } = require('node:worker_threads');
const n = workerData.elements;
const a = new Float64Array(n), b = new Float64Array(n).fill(1), c = new Float64Array(n).fill(2);
parentPort.on('message', (repeats) => {
  for (let r = 0; r < repeats; r += 1) for (let i = 0; i < n; i += 1) a[i] = b[i] + 3 * c[i];
  parentPort.postMessage(a[n - 1]);
});
parentPort.postMessage('ready');
`;

/** Best of `rounds` timed triads, in bytes per second, all threads together. */
export async function triadBandwidth(
  threads: number,
  bytesPerThread = 384 * 2 ** 20,
  rounds = 5,
): Promise<number> {
  const elements = Math.floor(bytesPerThread / 3 / 8);
  const workers = Array.from(
    { length: threads },
    () => new Worker(TRIAD, { eval: true, workerData: { elements } }),
  );
  const next = (worker: Worker) => new Promise((resolve) => worker.once('message', resolve));
  try {
    await Promise.all(workers.map(next));
    // A first pass faults the pages in and warms the JIT.
    await Promise.all(workers.map((worker) => (worker.postMessage(1), next(worker))));
    let best = 0;
    for (let round = 0; round < rounds; round += 1) {
      const started = performance.now();
      await Promise.all(workers.map((worker) => (worker.postMessage(2), next(worker))));
      const seconds = (performance.now() - started) / 1000;
      best = Math.max(best, (threads * 2 * elements * 3 * 8) / seconds);
    }
    return best;
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
