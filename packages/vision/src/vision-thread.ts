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
import { readCandidates } from './detection-output.js';
import type { ImageInfo, PlaneBuffer } from './image-input.js';
import { type Letterbox, toOriginal } from './letterbox.js';
import { nonMaxSuppression } from './nms.js';
import { OneAtATime } from './one-at-a-time.js';
import { preparePlanes } from './prepare-planes.js';
import type { ClassifyResult, DetectResult, VisionTimings } from './types.js';
import { resolveClassifyOptions, resolveDetectOptions } from './vision-options.js';
import { LETTERBOX_PAD, type VisionSpec, visionSpec } from './vision-spec.js';
import type {
  ClassifyPayload,
  DetectPayload,
  PreprocessPayload,
  Preprocessed,
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
  finish: (output: TensorData, row: number, prepared: Prepared) => Result,
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
    const output = outputs[spec.outputName];
    if (!output) throw new VmmError(ErrorCode.Internal, `the model returned no ${spec.outputName}`);
    prepared.forEach((item, row) => {
      const postStart = performance.now();
      const result = finish(output, row, item);
      const timings = item.timings;
      timings.inferenceNs = inferenceNs;
      timings.postprocessNs = nsSince(postStart);
      timings.totalNs = timings.decodeNs + timings.preprocessNs + inferenceNs + timings.postprocessNs;
      results.push(result);
    });
  }
  return results;
}

serveThread({
  async info(): Promise<VisionThreadInfo> {
    const { session, spec } = await loaded;
    // Started with the model, so that the first request does not wait for it.
    if (data.preprocessThread) await preprocessThread();
    return { spec, providers: [...session.providers] };
  },

  async detect(payload, { signal }): Promise<DetectResult[]> {
    const { session, spec } = await loaded;
    if (spec.task !== 'object-detection') {
      throw new VmmError(
        ErrorCode.FailedPrecondition,
        `model "${data.folder.name}" is a classifier; use classify`,
      );
    }
    const { images, options } = payload as DetectPayload;
    const resolved = resolveDetectOptions(options, spec.labels.length);
    return runImages<DetectResult>(
      session,
      spec,
      images,
      signal,
      { kind: 'letterbox', type: spec.inputType, padValue: LETTERBOX_PAD },
      (output, row, { info, geometry, timings }) => {
        const candidates = readCandidates(
          output.data as Float32Array | Uint16Array,
          output.dims,
          row,
          spec.labels.length,
          resolved.confidenceThreshold,
          resolved.classIds,
        );
        const kept = nonMaxSuppression(candidates, resolved.iouThreshold, resolved.maxDetections);
        return {
          detections: kept.map((candidate) => ({
            box: toOriginal(candidate.box, geometry!, info.width, info.height),
            classId: candidate.classId,
            label: spec.labels[candidate.classId] ?? `class_${candidate.classId}`,
            score: candidate.score,
          })),
          imageSize: { width: info.width, height: info.height },
          timings,
        };
      },
    );
  },

  async classify(payload, { signal }): Promise<ClassifyResult[]> {
    const { session, spec } = await loaded;
    if (spec.task !== 'image-classification' || !spec.classifier) {
      throw new VmmError(
        ErrorCode.FailedPrecondition,
        `model "${data.folder.name}" is a detector; use detect`,
      );
    }
    const { images, options } = payload as ClassifyPayload;
    const { topK: k } = resolveClassifyOptions(options, spec.labels.length);
    return runImages<ClassifyResult>(
      session,
      spec,
      images,
      signal,
      { kind: 'centre-crop', type: spec.inputType, classifier: spec.classifier },
      (output, row, { info, timings }) => {
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
