// The worker-thread side of a VisionRunner: owns the session; prepares, runs and postprocesses
// images, batching them into one session.run where the model allows. On a backend that leaves
// the CPU cores free during a run, images are prepared on a thread of their own
// (preprocess-thread.ts) while this one runs; on the CPU, here (see VisionRunner).
import { join } from 'node:path';
import { workerData } from 'node:worker_threads';
import { ErrorCode, VmmError } from '@vmm/errors';
import {
  createModelSession,
  halfToFloat,
  type ModelSession,
  nsSince,
  serveThread,
  type TensorData,
  tensorArray,
  ThreadHost,
  threadEntry,
} from '@vmm/runtime';
import { looksLikeProbabilities, softmax, topK } from './classification-output.js';
import { anchorExtras, readCandidates } from './detection-output.js';
import type { ImageInfo, PlaneBuffer } from './image-input.js';
import { type Letterbox, toOriginal } from './letterbox.js';
import { nonMaxSuppression } from './nms.js';
import { OneAtATime } from './one-at-a-time.js';
import { preparePlanes } from './prepare-planes.js';
import { encodeMatte, readMatte, resolveMatteOutput } from './matte-output.js';
import { readKeypoints } from './pose-output.js';
import { encodeRle, instanceMask, traceOutlines } from './segmentation-output.js';
import type {
  BackgroundResult,
  ClassifyResult,
  DetectOptions,
  DetectResult,
  Detection,
  PoseResult,
  SegmentResult,
  VisionTimings,
} from './types.js';
import { resolveClassifyOptions, resolveDetectOptions } from './vision-options.js';
import { LETTERBOX_PAD, type VisionSpec, visionSpec, type VisionTask } from './vision-spec.js';
import type {
  ClassifyPayload,
  DetectPayload,
  PreprocessPayload,
  Preprocessed,
  RemoveBackgroundPayload,
  SegmentPayload,
  VisionThreadData,
  VisionThreadInfo,
} from './vision-thread-protocol.js';

const data = workerData as VisionThreadData;
const loaded = (async () => {
  const session = await createModelSession(join(data.folder.dir, data.file), data.session);
  return { session, spec: visionSpec(data.folder, session) };
})();
loaded.catch(() => undefined);
// One session.run at a time: two would each take every intra-op thread and fight over the cores.
const runs = new OneAtATime();

let preprocessor: Promise<ThreadHost> | undefined;
/** The preprocessing thread, started on first use and again after it has died. */
function preprocessThread(): Promise<ThreadHost> {
  if (!preprocessor) {
    const starting = ThreadHost.start(threadEntry(import.meta.url, './preprocess-thread.js'));
    preprocessor = starting;
    starting.then(
      (host) =>
        host.onExit(() => {
          if (preprocessor === starting) preprocessor = undefined;
        }),
      () => {
        if (preprocessor === starting) preprocessor = undefined;
      },
    );
  }
  return preprocessor;
}

interface Prepared {
  info: ImageInfo;
  geometry?: Letterbox;
  timings: VisionTimings;
}

function renameField(error: unknown, index: number, count: number): unknown {
  if (count > 1 && error instanceof VmmError && error.field === 'image') {
    return new VmmError(error.code, `images[${index}]: ${error.message}`, {
      field: `images[${index}]`,
      cause: error,
    });
  }
  return error;
}

/** One image's planes: from the preprocessing thread (its bytes moved there when whole) or here. */
async function prepareImage(
  bytes: Uint8Array,
  spec: VisionSpec,
  plane: PreprocessPayload['plane'],
  signal: AbortSignal,
): Promise<Preprocessed> {
  const payload: PreprocessPayload = {
    bytes,
    maxPixels: data.maxPixels,
    width: spec.width,
    height: spec.height,
    plane,
  };
  if (!data.preprocessThread) return preparePlanes(payload);
  const host = await preprocessThread();
  const whole =
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer;
  return host.request<Preprocessed>('prepare', payload, {
    signal,
    ...(whole ? { transfer: [bytes.buffer as ArrayBuffer] } : {}),
  });
}

/**
 * The pipeline shared by detection and classification. Images are grouped into batches of the
 * model's batch size (or up to maxBatch for a dynamic batch); a static batch larger than the
 * images at hand is filled with zeros.
 */
async function runImages<Result>(
  session: ModelSession,
  spec: VisionSpec,
  images: readonly Uint8Array[],
  signal: AbortSignal,
  plane: PreprocessPayload['plane'],
  /** `row`: the image's row in its run's outputs; `index`: its place among `images`. */
  finish: (
    outputs: Readonly<Record<string, TensorData>>,
    row: number,
    prepared: Prepared,
    index: number,
  ) => Result | Promise<Result>,
): Promise<Result[]> {
  if (images.length === 0)
    throw new VmmError(ErrorCode.InvalidArgument, 'no image given', { field: 'image' });
  const batch = spec.batch === 'dynamic' ? data.maxBatch : spec.batch;
  const planeSize = 3 * spec.width * spec.height;
  const results: Result[] = [];
  for (let start = 0; start < images.length; start += batch) {
    const group = images.slice(start, start + batch);
    const rows = spec.batch === 'dynamic' ? group.length : batch;
    if (signal.aborted) throw new VmmError(ErrorCode.Cancelled, 'the request was cancelled');
    const ready = await Promise.all(
      group.map((bytes, i) =>
        prepareImage(bytes, spec, plane, signal).catch((error: unknown) => {
          throw renameField(error, start + i, images.length);
        }),
      ),
    );
    // One image's planes are the tensor as they are; a batch is laid out row by row.
    let tensor = ready[0]!.planes;
    if (rows > 1) {
      tensor = tensorArray(spec.inputType, rows * planeSize) as PlaneBuffer;
      ready.forEach((item, i) => tensor.set(item.planes, i * planeSize));
    }
    const prepared: Prepared[] = ready.map((item) => ({
      info: item.info,
      ...(item.geometry ? { geometry: item.geometry } : {}),
      timings: {
        decodeNs: item.decodeNs,
        preprocessNs: item.preprocessNs,
        inferenceNs: 0,
        postprocessNs: 0,
        totalNs: 0,
      },
    }));
    if (signal.aborted) throw new VmmError(ErrorCode.Cancelled, 'the request was cancelled');
    let runStart = 0;
    const outputs = await runs.run(() => {
      runStart = performance.now();
      return session.run({
        [spec.inputName]: { type: spec.inputType, dims: [rows, 3, spec.height, spec.width], data: tensor },
      });
    });
    const inferenceNs = nsSince(runStart);
    for (const name of [spec.outputName, ...(spec.protoName ? [spec.protoName] : [])])
      if (!outputs[name]) throw new VmmError(ErrorCode.Internal, `the model returned no ${name}`);
    for (const [row, item] of prepared.entries()) {
      const postStart = performance.now();
      const result = await finish(outputs, row, item, start + row);
      const timings = item.timings;
      timings.inferenceNs = inferenceNs;
      timings.postprocessNs = nsSince(postStart);
      timings.totalNs = timings.decodeNs + timings.preprocessNs + inferenceNs + timings.postprocessNs;
      results.push(result);
    }
  }
  return results;
}

const taskNames: Record<VisionTask, { noun: string; route: string }> = {
  'object-detection': { noun: 'an object detector', route: '/v1/vision/detect' },
  'image-classification': { noun: 'an image classifier', route: '/v1/vision/classify' },
  'instance-segmentation': { noun: 'a segmentation model', route: '/v1/vision/segment' },
  'pose-estimation': { noun: 'a pose model', route: '/v1/vision/pose' },
  'background-removal': { noun: 'a background-removal model', route: '/v1/vision/remove-background' },
};

/** Refuses a call the model's task does not answer, naming the route that does. */
function checkTask(spec: VisionSpec, wanted: VisionTask): void {
  if (spec.task === wanted) return;
  const { noun, route } = taskNames[spec.task];
  throw new VmmError(
    ErrorCode.FailedPrecondition,
    `model "${data.folder.name}" is ${noun}, not ${taskNames[wanted].noun}: send it to ${route}`,
    { field: 'model' },
  );
}

/** A detection kept by NMS, with the values its anchor has after the class scores. */
interface Found {
  detection: Detection;
  extras: Float32Array;
}

/**
 * The YOLOv8 detection head shared by detection, segmentation and pose: candidates, NMS, boxes
 * back to the original image; `finish` adds what the task has beyond boxes.
 */
async function runDetectionHead<Result>(
  task: VisionTask,
  images: readonly Uint8Array[],
  options: DetectOptions,
  signal: AbortSignal,
  finish: (
    found: Found[],
    geometry: Letterbox,
    info: ImageInfo,
    outputs: Readonly<Record<string, TensorData>>,
    row: number,
    spec: VisionSpec,
  ) => Omit<Result, 'timings'>,
): Promise<Result[]> {
  const { session, spec } = await loaded;
  checkTask(spec, task);
  const resolved = resolveDetectOptions(options, spec.labels.length);
  return runImages<Result>(
    session,
    spec,
    images,
    signal,
    { kind: 'letterbox', type: spec.inputType, padValue: LETTERBOX_PAD },
    (outputs, row, { info, geometry, timings }) => {
      const output = outputs[spec.outputName]!;
      const data = output.data as Float32Array | Uint16Array;
      const classes = spec.labels.length;
      const candidates = readCandidates(
        data,
        output.dims,
        row,
        classes,
        resolved.confidenceThreshold,
        resolved.classIds,
        spec.extraChannels,
      );
      const kept = nonMaxSuppression(candidates, resolved.iouThreshold, resolved.maxDetections);
      const extras =
        spec.extraChannels > 0
          ? anchorExtras(data, output.dims, row, classes, spec.extraChannels)
          : () => new Float32Array(0);
      const found = kept.map((candidate) => ({
        detection: {
          box: toOriginal(candidate.box, geometry!, info.width, info.height),
          classId: candidate.classId,
          label: spec.labels[candidate.classId] ?? `class_${candidate.classId}`,
          score: candidate.score,
        },
        extras: extras(candidate.anchor),
      }));
      return { ...finish(found, geometry!, info, outputs, row, spec), timings } as Result;
    },
  );
}

serveThread({
  async info(): Promise<VisionThreadInfo> {
    const { session, spec } = await loaded;
    // Started with the model, so that the first request does not wait for it.
    if (data.preprocessThread) await preprocessThread();
    return { spec, providers: [...session.providers] };
  },

  async detect(payload, { signal }): Promise<DetectResult[]> {
    const { images, options } = payload as DetectPayload;
    return runDetectionHead<DetectResult>(
      'object-detection',
      images,
      options,
      signal,
      (found, geometry, info) => ({
        detections: found.map(({ detection }) => detection),
        imageSize: { width: info.width, height: info.height },
      }),
    );
  },

  async segment(payload, { signal }): Promise<SegmentResult[]> {
    const { images, options } = payload as SegmentPayload;
    return runDetectionHead<SegmentResult>(
      'instance-segmentation',
      images,
      options,
      signal,
      (found, geometry, info, outputs, row, spec) => {
        const size = { width: info.width, height: info.height };
        const protoOutput = outputs[spec.protoName!]!;
        const protos = { data: protoOutput.data as Float32Array | Uint16Array, dims: protoOutput.dims };
        return {
          segments: found.map(({ detection, extras }) => {
            const mask = instanceMask(protos, row, extras, detection.box, geometry, spec, size);
            return {
              ...detection,
              mask: encodeRle(mask, size),
              ...(options.polygons ? { polygons: traceOutlines(mask) } : {}),
            };
          }),
          imageSize: size,
        };
      },
    );
  },

  async pose(payload, { signal }): Promise<PoseResult[]> {
    const { images, options } = payload as DetectPayload;
    return runDetectionHead<PoseResult>(
      'pose-estimation',
      images,
      options,
      signal,
      (found, geometry, info, _o, _r, spec) => {
        const size = { width: info.width, height: info.height };
        return {
          poses: found.map(({ detection, extras }) => ({
            ...detection,
            keypoints: readKeypoints(extras, spec.keypoints!, geometry, size),
          })),
          skeleton: spec.keypoints!.skeleton,
          imageSize: size,
        };
      },
    );
  },

  async removeBackground(payload, { signal }): Promise<BackgroundResult[]> {
    const { session, spec } = await loaded;
    checkTask(spec, 'background-removal');
    if (!spec.matte) throw new VmmError(ErrorCode.Internal, 'a background-removal model without its matte');
    const matte = spec.matte;
    const { images, options } = payload as RemoveBackgroundPayload;
    const output = resolveMatteOutput(options.output);
    // A cut-out needs the image's pixels after the run: bytes moved to a preprocessing thread are
    // gone from here, so a copy stays.
    const sources =
      output === 'cutout' && data.preprocessThread ? images.map((image) => image.slice()) : images;
    return runImages<BackgroundResult>(
      session,
      spec,
      images,
      signal,
      { kind: 'stretch', type: spec.inputType, mean: matte.mean, std: matte.std },
      async (outputs, row, { info, timings }, index) => {
        const alpha = await readMatte(outputs[spec.outputName]!, row, matte.sigmoid, info);
        return { ...(await encodeMatte(alpha, info, output, sources[index]!, data.maxPixels)), timings };
      },
    );
  },

  async classify(payload, { signal }): Promise<ClassifyResult[]> {
    const { session, spec } = await loaded;
    checkTask(spec, 'image-classification');
    if (!spec.classifier) throw new VmmError(ErrorCode.Internal, 'a classifier without its preprocessing');
    const { images, options } = payload as ClassifyPayload;
    const { topK: k } = resolveClassifyOptions(options, spec.labels.length);
    return runImages<ClassifyResult>(
      session,
      spec,
      images,
      signal,
      { kind: 'centre-crop', type: spec.inputType, classifier: spec.classifier },
      (outputs, row, { info, timings }) => {
        const output = outputs[spec.outputName]!;
        const classes = output.dims[1] ?? 0;
        const scores =
          output.type === 'float16'
            ? halfToFloat((output.data as Uint16Array).subarray(row * classes, (row + 1) * classes))
            : (output.data as Float32Array).subarray(row * classes, (row + 1) * classes);
        const probabilities =
          (spec.softmaxInGraph ?? looksLikeProbabilities(scores))
            ? Float32Array.from(scores)
            : softmax(scores);
        return {
          classes: topK(probabilities, k, spec.labels),
          imageSize: { width: info.width, height: info.height },
          timings,
        };
      },
    );
  },

  async release() {
    const host = preprocessor;
    preprocessor = undefined;
    await Promise.all([
      (await loaded).session.release(),
      host?.then(
        (h) => h.close(),
        () => undefined,
      ),
    ]);
  },
});
