// One lane of bench/vision-serving's bare peer: a bare session on a thread of its own (a
// session.run of onnxruntime-node holds its JS thread, so lanes side by side need threads),
// running back to back as many times as it is asked.
import { parentPort, workerData } from 'node:worker_threads';
import { openBareDetector } from './detector-bench.js';

const { file, half, threads } = workerData as { file: string; half: boolean; threads: number };
const bare = await openBareDetector(file, { batch: 1, half, threads, backend: 'cpu' });
parentPort?.on('message', (count: number | 'release') => {
  if (count === 'release') {
    void bare.release().then(() => parentPort?.close());
    return;
  }
  void (async () => {
    for (let i = 0; i < count; i += 1) await bare.run();
    parentPort?.postMessage('done');
  })();
});
parentPort?.postMessage('ready');
