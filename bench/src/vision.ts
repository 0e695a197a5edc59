// bench/vision: where a detection's time goes (decode+preprocess, session.run, postprocess) at
// 640×640 and 1920×1080, images/s at batch 1, 4 and 8 with the dynamic-batch detector, and the
// end-to-end time against a bare session.run on a ready tensor, measured in the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { detectorColours, drawSquares, writeDetectorFolder } from '@vmm/model-fixtures';
import { inspectModelFolder } from '@vmm/runtime';
import { VisionRunner } from '@vmm/vision';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { median, ratio } from './stats.js';

const { values } = parseArgs({
  options: { threads: { type: 'string', default: '2' }, runs: { type: 'string', default: '10' } },
});
const threads = Number(values.threads);
const runs = Number(values.runs);

const root = mkdtempSync(join(tmpdir(), 'vmm-bench-vision-'));
const [file] = writeDetectorFolder(join(root, 'detector'));
const folder = inspectModelFolder(root, 'detector');

async function scene(width: number, height: number): Promise<Buffer> {
  const colour = (i: number) => detectorColours[i % detectorColours.length]!.rgb;
  const squares = Array.from({ length: 6 }, (_, i) => ({
    x: Math.round(((i % 3) + 0.2) * (width / 3)),
    y: Math.round((Math.floor(i / 3) + 0.2) * (height / 2)),
    size: Math.round(Math.min(width, height) / 8),
    rgb: colour(i),
  }));
  return sharp(drawSquares(width, height, squares).data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

const ms = (ns: number) => (ns / 1e6).toFixed(2).padStart(7);
const runner = await VisionRunner.open({
  folder,
  file: 'yolov8n-squares.onnx',
  session: { backend: 'cpu', intraOpThreads: threads },
  maxBatch: 8,
});

// A bare session.run on a ready [1, 3, 640, 640] tensor: the floor for end-to-end time.
const bare = await ort.InferenceSession.create(file ?? '', {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
});
const input = new ort.Tensor('float32', new Float32Array(3 * 640 * 640).fill(0.1), [1, 3, 640, 640]);
await bare.run({ images: input });
const bareMs: number[] = [];
for (let i = 0; i < runs; i += 1) {
  const started = performance.now();
  await bare.run({ images: input });
  bareMs.push(performance.now() - started);
}
await bare.release();
const bareMedian = median(bareMs);

console.log(`bench/vision threads=${threads} runs=${runs} (median per image, ms)`);
console.log('input        decode+pre   session.run  postprocess  end-to-end  bare run  e2e/bare');
for (const [width, height] of [
  [640, 640],
  [1920, 1080],
] as const) {
  const image = await scene(width, height);
  await runner.detect(Uint8Array.from(image));
  const rows: { pre: number; run: number; post: number; e2e: number }[] = [];
  for (let i = 0; i < runs; i += 1) {
    const started = performance.now();
    const result = await runner.detect(Uint8Array.from(image));
    const e2e = (performance.now() - started) * 1e6;
    const t = result.timings;
    rows.push({ pre: t.decodeNs + t.preprocessNs, run: t.inferenceNs, post: t.postprocessNs, e2e });
  }
  const pick = (key: keyof (typeof rows)[number]) => median(rows.map((row) => row[key]));
  console.log(
    `${`${width}x${height}`.padEnd(12)} ${ms(pick('pre'))}      ${ms(pick('run'))}      ${ms(pick('post'))}     ${ms(pick('e2e'))}  ${ms(bareMedian * 1e6)}   ${ratio(pick('e2e') / 1e6, bareMedian)}`,
  );
}

console.log('batch  images/s (640x640 JPEG, dynamic-batch detector)');
const image = await scene(640, 640);
const perBatch: Record<number, number> = {};
for (const batch of [1, 4, 8]) {
  const total = 16;
  // Warm up: the first run of a new batch size grows ONNX Runtime's memory arena.
  await runner.detectBatch(Array.from({ length: batch }, () => Uint8Array.from(image)));
  const started = performance.now();
  for (let done = 0; done < total; done += batch) {
    await runner.detectBatch(Array.from({ length: batch }, () => Uint8Array.from(image)));
  }
  perBatch[batch] = total / ((performance.now() - started) / 1000);
  console.log(
    `${String(batch).padEnd(6)} ${perBatch[batch]!.toFixed(1).padStart(8)}   (${ratio(perBatch[batch]!, perBatch[1]!)} of batch 1)`,
  );
}
await runner.close();
rmSync(root, { recursive: true, force: true });
