import { BatchDecoder } from './dist/engine/batch-decoder.js';
import { readModelConfig } from './dist/model-config.js';
const dir = '/tmp/vmm-bench-models/small-llama-peer';
const file = process.argv[2] ?? 'onnx/model.onnx';
const d = await BatchDecoder.open(dir, file, { backend: 'cpu', intraOpThreads: 2 }, readModelConfig(dir));
for (const B of [1, 4, 8]) {
  const line = [];
  for (const cap of [64, 256, 1024, 2048]) {
    d.store.reset();
    d.store.ensure(8, cap);
    const rows = Array.from({ length: B }, (_, i) => ({ slot: i, tokens: [5], past: 16 }));
    const times = [];
    for (let i = 0; i < 12; i++) {
      const t = performance.now();
      await d.step(rows, 0, B);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    line.push(`cap ${cap}: ${times[6].toFixed(1)}`);
  }
  console.log('B', B, line.join('  '));
}
