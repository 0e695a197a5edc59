// The worker-thread side of a VisionRunner: owns the session; decodes, preprocesses, runs and
// postprocesses images, batching them into one session.run where the model allows.
import { join } from 'node:path';
import { workerData } from 'node:worker_threads';
import { ErrorCode, VmmError } from '@vmm/errors';
import {
  createModelSession,
  halfToFloat,
  type ModelSession,
  serveThread,
  type TensorData,
} from '@vmm/runtime';
import { looksLikeProbabilities, softmax, topK } from './classification-output.js';
import { readCandidates } from './detection-output.js';
import {
  centreCropInto,
  type ImageInfo,
  letterboxInto,
  type PlaneBuffer,
  probeImage,
} from './image-input.js';
import { type Letterbox, toOriginal } from './letterbox.js';
import { nonMaxSuppression } from './nms.js';
import { OneAtATime } from './one-at-a-time.js';
import type { ClassifyResult, DetectResult, VisionTimings } from './types.js';
import { resolveClassifyOptions, resolveDetectOptions } from './vision-options.js';
import { LETTERBOX_PAD, type VisionSpec, visionSpec } from './vision-spec.js';
import type {
  ClassifyPayload,
  DetectPayload,
  VisionThreadData,
  VisionThreadInfo,
} from './vision-thread-protocol.js';

const data = workerData as VisionThreadData;
const loaded = (async () => {
  const session = await createModelSession(join(data.folder.dir, data.file), data.session);
  return { session, spec: visionSpec(data.folder, session) };
})();
loaded.catch(() => undefined);
// One session.run at a time; other requests decode and preprocess meanwhile (OneAtATime).
const runs = new OneAtATime();

const nsSince = (start: number) => Math.round((performance.now() - start) * 1e6);

interface Prepared<Extra> {
  info: ImageInfo;
  extra: Extra;
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

/**
 * The pipeline shared by detection and classification. Images are grouped into batches of the
 * model's batch size (or up to maxBatch for a dynamic batch); a static batch larger than the
 * images at hand is filled with zeros.
 */
async function runImages<Extra, Result>(
  session: ModelSession,
  spec: VisionSpec,
  images: readonly Uint8Array[],
  signal: AbortSignal,
  prepare: (bytes: Uint8Array, info: ImageInfo, into: PlaneBuffer, offset: number) => Promise<Extra>,
  finish: (output: TensorData, row: number, prepared: Prepared<Extra>) => Result,
): Promise<Result[]> {
  if (images.length === 0)
    throw new VmmError(ErrorCode.InvalidArgument, 'no image given', { field: 'image' });
  const batch = spec.batch === 'dynamic' ? data.maxBatch : spec.batch;
  const planeSize = 3 * spec.width * spec.height;
  const results: Result[] = [];
  for (let start = 0; start < images.length; start += batch) {
    const group = images.slice(start, start + batch);
    const rows = spec.batch === 'dynamic' ? group.length : batch;
    const tensor =
      spec.inputType === 'float16' ? new Uint16Array(rows * planeSize) : new Float32Array(rows * planeSize);
    const prepared: Prepared<Extra>[] = [];
    for (const [i, bytes] of group.entries()) {
      if (signal.aborted) throw new VmmError(ErrorCode.Cancelled, 'the request was cancelled');
      const began = performance.now();
      try {
        const info = await probeImage(bytes, data.maxPixels);
        const decodeNs = nsSince(began);
        const preprocessStart = performance.now();
        const extra = await prepare(bytes, info, tensor, i * planeSize);
        prepared.push({
          info,
          extra,
          timings: {
            decodeNs,
            preprocessNs: nsSince(preprocessStart),
            inferenceNs: 0,
            postprocessNs: 0,
            totalNs: 0,
          },
        });
      } catch (error) {
        throw renameField(error, start + i, images.length);
      }
    }
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
    const target = { width: spec.width, height: spec.height, padValue: LETTERBOX_PAD };
    return runImages<Letterbox, DetectResult>(
      session,
      spec,
      images,
      signal,
      (bytes, info, into, offset) => letterboxInto(bytes, info, target, into, offset, data.maxPixels),
      (output, row, { info, extra: geometry, timings }) => {
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
            box: toOriginal(candidate.box, geometry, info.width, info.height),
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
    const preprocess = spec.classifier;
    return runImages<void, ClassifyResult>(
      session,
      spec,
      images,
      signal,
      async (bytes, info, into, offset) =>
        centreCropInto(bytes, info, preprocess, into, offset, data.maxPixels),
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
    await (await loaded).session.release();
  },
});
