// bench/vision: where a detection's time goes (decode, preprocess, session.run, postprocess) at
// 640×640 and 1920×1080, end to end in-process against a bare session.run of the same file on a
// ready tensor, measured in the same run, and images/s at batch 1, 4 and 8 through one
// session.run (a dynamic-batch export of the same model). The model is a compute-real YOLOv8
// (model-fixtures: Ultralytics' architecture and export layout, random weights): yolov8n or
// yolov8s, fp32, fp16 (half: float16 in and out) or int8 (dynamic, ConvInteger); `squares` is
// the demo model. `--task segment` or `pose` runs the -seg or -pose head instead (the compute-real
// ones find nothing, so their masks and keypoints cost nothing after the run: `--model squares`
// finds the six squares and decodes a mask or 17 keypoints for each). Every answer is checked
// (the image size it reports, no error); one that fails ends the bench.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  writeDetectorFolder,
  writePoseFolder,
  writeSegmenterFolder,
  writeYoloV8Folder,
  type YoloV8Precision,
} from '@vmm/model-fixtures';
import { inspectModelFolder } from '@vmm/runtime';
import { type ImageSize, type VisionTimings, VisionRunner } from '@vmm/vision';
import { openBareDetector, sceneJpeg } from './detector-bench.js';
import { median, ratio } from './stats.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    runs: { type: 'string', default: '10' },
    model: { type: 'string', default: 'yolov8n' },
    precision: { type: 'string', default: 'fp32' },
    batches: { type: 'string' },
    task: { type: 'string', default: 'detect' },
    // cuda: the runner and the bare session on the CUDA execution provider (a machine with a GPU
    // and onnxruntime-node's CUDA binaries, ONNXRUNTIME_NODE_INSTALL=cuda12).
    backend: { type: 'string', default: 'cpu' },
  },
});
const backend = values.backend === 'cuda' ? 'cuda' : 'cpu';
if (values.backend !== backend) throw new Error('--backend is cpu or cuda');
const threads = Number(values.threads);
const runs = Number(values.runs);
const precision = values.precision as YoloV8Precision;
if (!['fp32', 'fp16', 'int8'].includes(precision)) throw new Error('--precision is fp32, fp16 or int8');
if (!['yolov8n', 'yolov8s', 'squares'].includes(values.model ?? '')) {
  throw new Error('--model is yolov8n, yolov8s or squares');
}
const task = values.task as 'detect' | 'segment' | 'pose';
if (!['detect', 'segment', 'pose'].includes(task)) throw new Error('--task is detect, segment or pose');

const root = mkdtempSync(join(tmpdir(), 'vmm-bench-vision-'));
/** Writes the model (static batch 1, as Ultralytics exports by default, or a dynamic batch). */
function writeModel(name: string, dynamicBatch: boolean): string {
  const dir = join(root, name);
  if (values.model === 'squares') {
    if (precision === 'int8') throw new Error('the squares models have no int8 variant');
    const options = { staticBatch: !dynamicBatch, half: precision === 'fp16' };
    const [file] =
      task === 'segment'
        ? writeSegmenterFolder(dir, options)
        : task === 'pose'
          ? writePoseFolder(dir, options)
          : writeDetectorFolder(dir, options);
    return file!;
  }
  const [file] = writeYoloV8Folder(dir, {
    scale: values.model === 'yolov8s' ? 's' : 'n',
    precision,
    dynamicBatch,
    head: task,
  });
  return file!;
}
const file = writeModel('static', false);
const fileName = file.slice(file.lastIndexOf('/') + 1);

function checked<Result extends { imageSize: ImageSize }>(
  result: Result,
  width: number,
  height: number,
): Result {
  if (result.imageSize.width !== width || result.imageSize.height !== height) {
    throw new Error(`an answer reported ${JSON.stringify(result.imageSize)} for a ${width}x${height} image`);
  }
  return result;
}

/** What the bench asks of the runner for its task, and how many things the answer found. */
async function infer(
  runner: VisionRunner,
  image: Uint8Array,
): Promise<{ imageSize: ImageSize; timings: VisionTimings; found: number }> {
  if (task === 'segment') {
    const result = await runner.segment(image);
    return { ...result, found: result.segments.length };
  }
  if (task === 'pose') {
    const result = await runner.pose(image);
    return { ...result, found: result.poses.length };
  }
  const result = await runner.detect(image);
  return { ...result, found: result.detections.length };
}

const half = precision === 'fp16';
/** The bare session, timed between the runner's calls so that both see the same machine. */
const openBare = (path: string, batch: number) => openBareDetector(path, { batch, half, threads, backend });

const ms = (value: number) => value.toFixed(2).padStart(8);
const runner = await VisionRunner.open({
  folder: inspectModelFolder(root, 'static'),
  file: fileName,
  session: { backend, intraOpThreads: threads },
});
const targets: string[] = [];
const bareOne = await openBare(file, 1);
try {
  console.log(
    `bench/vision task=${task} model=${values.model} ${precision} backend=${backend} threads=${threads} runs=${runs} (median per image, ms; a JPEG of 6 squares)`,
  );
  console.log('input         decode  preprocess  session.run  postprocess  end-to-end  bare run  e2e/bare');
  for (const [width, height, limit] of [
    [640, 640, 1.15],
    [1920, 1080, 1.3],
  ] as const) {
    const image = await sceneJpeg(width, height);
    const found = checked(await infer(runner, Uint8Array.from(image)), width, height).found;
    const rows: { decode: number; pre: number; run: number; post: number; e2e: number; bare: number }[] = [];
    // The bare run is measured between the runner's, so both see the same machine.
    for (let i = 0; i < runs; i += 1) {
      const started = performance.now();
      const result = checked(await infer(runner, Uint8Array.from(image)), width, height);
      const e2e = performance.now() - started;
      const t = result.timings;
      const bare = await bareOne.run();
      rows.push({
        decode: t.decodeNs / 1e6,
        pre: t.preprocessNs / 1e6,
        run: t.inferenceNs / 1e6,
        post: t.postprocessNs / 1e6,
        e2e,
        bare: bare!,
      });
    }
    const pick = (key: keyof (typeof rows)[number]) => median(rows.map((row) => row[key]));
    // Paired: each end-to-end time against the bare run right after it (this VM drifts).
    const e2eOverBare = median(rows.map((row) => row.e2e / row.bare));
    console.log(
      `${`${width}x${height}`.padEnd(12)} ${ms(pick('decode'))} ${ms(pick('pre'))}    ${ms(pick('run'))}     ${ms(pick('post'))}    ${ms(pick('e2e'))}  ${ms(pick('bare'))}   ${e2eOverBare.toFixed(2)}x  (${found} found)`,
    );
    const name = task === 'detect' ? values.model : `${values.model} ${task}`;
    targets.push(
      `target ${name} ${precision} ${threads}t: one ${width}x${height} JPEG end to end in-process / bare session.run: ${e2eOverBare.toFixed(2)} (<= ${limit}) ${e2eOverBare <= limit ? 'met' : 'NOT met'}`,
    );
  }
} finally {
  await runner.close();
  await bareOne.release();
}

// Batching is measured for detection alone (the heads share its pipeline).
if (task !== 'detect' && values.batches) throw new Error('--batches is measured with --task detect');
const batches = (values.batches ?? (task === 'detect' ? '1,4,8' : '')).split(',').filter(Boolean).map(Number);
if (batches.length > 0 && batches[0]) {
  // Batching needs a dynamic batch dimension: the same model exported with dynamic=True.
  const dynamicFile = writeModel('dynamic', true);
  const batched = await VisionRunner.open({
    folder: inspectModelFolder(root, 'dynamic'),
    file: dynamicFile.slice(dynamicFile.lastIndexOf('/') + 1),
    session: { backend, intraOpThreads: threads },
    maxBatch: Math.max(...batches),
  });
  try {
    console.log('batch  images/s (640x640 JPEG, one detectBatch call)   bare session.run images/s');
    const image = await sceneJpeg(640, 640);
    const perBatch = new Map<number, number>();
    for (const batch of batches) {
      const total = Math.max(batch, 2 * Math.max(...batches));
      // Warm up: the first run of a new batch size grows ONNX Runtime's memory arena.
      await batched.detectBatch(Array.from({ length: batch }, () => Uint8Array.from(image)));
      const started = performance.now();
      for (let done = 0; done < total; done += batch) {
        const results = await batched.detectBatch(
          Array.from({ length: batch }, () => Uint8Array.from(image)),
        );
        for (const result of results) checked(result, 640, 640);
      }
      const rate = total / ((performance.now() - started) / 1000);
      perBatch.set(batch, rate);
      const bareBatch = await openBare(dynamicFile, batch);
      const times: number[] = [];
      for (let i = 0; i < Math.max(2, 8 / batch); i += 1) times.push(await bareBatch.run());
      await bareBatch.release();
      const bare = (batch * 1000) / median(times);
      console.log(
        `${String(batch).padEnd(6)} ${rate.toFixed(1).padStart(8)}   (${ratio(rate, perBatch.get(batches[0]!)!)} of batch ${batches[0]})        ${bare.toFixed(1).padStart(8)}`,
      );
    }
  } finally {
    await batched.close();
  }
}
for (const line of targets) console.log(line);
rmSync(root, { recursive: true, force: true });
