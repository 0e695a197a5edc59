// Segment, Pose, RemoveBackground and their uploads over real gRPC on 127.0.0.1:0, on the demo
// YOLOv8-seg, -pose and matting fixtures: what the runner finds goes over the wire whole (RLE
// masks, outlines, keypoints, skeleton, a cut-out PNG), an upload answers as the unary call, an
// answer past the message limit is refused by name, and a model of another task is refused with
// FAILED_PRECONDITION naming the route that serves it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServiceError, status } from '@grpc/grpc-js';
import {
  detectorColours,
  drawSquares,
  writeDetectorFolder,
  writeMattingFolder,
  writePoseFolder,
  writeSegmenterFolder,
} from '@vmm/model-fixtures';
import {
  MatteOutput,
  PoseRequest,
  type PoseResponse,
  RemoveBackgroundRequest,
  type RemoveBackgroundResponse,
  SegmentRequest,
  type SegmentResponse,
  Task,
} from '@vmm/proto';
import sharp from 'sharp';
import { baseConfig, removeModels, type Running, startWorker } from './worker-harness.js';

const modelsDir = mkdtempSync(join(tmpdir(), 'vmm-worker-instances-'));
let w: Running;
let image: Buffer;

beforeAll(async () => {
  writeSegmenterFolder(join(modelsDir, 'seg'));
  writePoseFolder(join(modelsDir, 'pose'), { staticBatch: true });
  writeDetectorFolder(join(modelsDir, 'detector'));
  writeMattingFolder(join(modelsDir, 'matting'));
  w = await startWorker(baseConfig(modelsDir));
  image = await sharp(
    drawSquares(320, 240, [
      { x: 20, y: 30, size: 60, rgb: detectorColours[1]!.rgb },
      { x: 150, y: 100, size: 100, rgb: detectorColours[0]!.rgb },
    ]).data,
    { raw: { width: 320, height: 240, channels: 3 } },
  )
    .png()
    .toBuffer();
});
afterAll(async () => {
  await w?.close();
  removeModels(modelsDir);
});

const unary = <Response>(
  method: 'segment' | 'pose',
  request: SegmentRequest | PoseRequest,
): Promise<{ value?: Response; error?: ServiceError }> =>
  new Promise((resolve) =>
    (
      w.inference[method] as unknown as (
        r: object,
        cb: (error: ServiceError | null, value?: Response) => void,
      ) => void
    )(request, (error, value) => resolve(error ? { error } : { value: value as Response })),
  );

/** An upload call (the image in 5 pieces, then the request). */
const upload = <Response>(
  method: 'segmentUpload' | 'poseUpload',
  request: SegmentRequest | PoseRequest,
): Promise<{ value?: Response; error?: ServiceError }> =>
  new Promise((resolve) => {
    const call = (
      w.inference[method] as unknown as (cb: (error: ServiceError | null, value?: Response) => void) => {
        write(part: object): void;
        end(): void;
      }
    )((error, value) => resolve(error ? { error } : { value: value as Response }));
    const size = Math.ceil(image.length / 5);
    for (let i = 0; i < 5; i += 1) call.write({ imageChunk: image.subarray(i * size, (i + 1) * size) });
    call.write({ request });
    call.end();
  });

/** The run's timings differ call to call; everything else must not. */
const withoutTimings = <T extends { timings?: unknown }>(response: T | undefined) => ({
  ...response,
  timings: undefined,
});

describe('Segment', () => {
  it('answers each square with its box, its RLE mask over the image and, when asked, its outline', async () => {
    const { value, error } = await unary<SegmentResponse>(
      'segment',
      SegmentRequest.fromPartial({ model: 'seg', image, polygons: true }),
    );
    expect(error).toBeUndefined();
    expect(value?.imageSize).toEqual({ width: 320, height: 240 });
    const byLabel = new Map(value!.segments.map((s) => [s.detection!.label, s]));
    expect([...byLabel.keys()].sort()).toEqual(['green', 'red']);
    const red = byLabel.get('red')!;
    expect(red.mask).toMatchObject({ width: 320, height: 240, area: 100 * 100 });
    // Column-major runs: 150 columns of 240 unset pixels and 100 rows above the square first.
    expect(red.mask!.counts.slice(0, 2)).toEqual([150 * 240 + 100, 100]);
    expect(red.mask!.counts.reduce((a, b) => a + b, 0)).toBe(320 * 240);
    expect(red.polygons).toEqual([{ points: [250, 100, 250, 200, 150, 200, 150, 100] }]);
    const plain = await unary<SegmentResponse>(
      'segment',
      SegmentRequest.fromPartial({ model: 'seg', image }),
    );
    expect(plain.value?.segments.every((s) => s.polygons.length === 0)).toBe(true);
  });

  it('answers an upload as the unary call', async () => {
    const request = SegmentRequest.fromPartial({ model: 'seg', polygons: true, maxDetections: 1 });
    const [whole, uploaded] = await Promise.all([
      unary<SegmentResponse>('segment', { ...request, image }),
      upload<SegmentResponse>('segmentUpload', request),
    ]);
    expect(uploaded.error).toBeUndefined();
    expect(uploaded.value?.segments).toHaveLength(1);
    expect(withoutTimings(uploaded.value)).toEqual(withoutTimings(whole.value));
  });
});

describe('Pose', () => {
  it('answers each person with 17 named keypoints and COCO’s skeleton, unary and uploaded', async () => {
    const request = PoseRequest.fromPartial({ model: 'pose' });
    const [whole, uploaded] = await Promise.all([
      unary<PoseResponse>('pose', { ...request, image }),
      upload<PoseResponse>('poseUpload', request),
    ]);
    expect(whole.error).toBeUndefined();
    expect(whole.value?.poses).toHaveLength(2);
    const pose = whole.value!.poses[0]!;
    expect(pose.detection?.label).toBe('person');
    expect(pose.keypoints).toHaveLength(17);
    expect(pose.keypoints[0]).toMatchObject({
      name: 'nose',
      score: expect.closeTo(pose.detection!.score, 5),
    });
    expect(whole.value?.skeleton).toHaveLength(19);
    expect(whole.value?.skeleton[0]).toEqual({ from: 15, to: 13 });
    expect(withoutTimings(uploaded.value)).toEqual(withoutTimings(whole.value));
  });
});

describe('RemoveBackground', () => {
  const removeBackground = (
    running: Running,
    request: RemoveBackgroundRequest,
  ): Promise<{ value?: RemoveBackgroundResponse; error?: ServiceError }> =>
    new Promise((resolve) =>
      running.inference.removeBackground(request, (error, value) => resolve(error ? { error } : { value })),
    );

  it('answers a cut-out PNG, or the foreground as RLE', async () => {
    const cutout = await removeBackground(
      w,
      RemoveBackgroundRequest.fromPartial({ model: 'matting', image }),
    );
    expect(cutout.error).toBeUndefined();
    expect(await sharp(cutout.value!.png).metadata()).toMatchObject({
      width: 320,
      height: 240,
      hasAlpha: true,
    });
    const rle = await removeBackground(
      w,
      RemoveBackgroundRequest.fromPartial({ model: 'matting', image, output: MatteOutput.MATTE_OUTPUT_RLE }),
    );
    expect(rle.value?.png).toHaveLength(0);
    expect(rle.value?.mask).toMatchObject({ width: 320, height: 240 });
    // The two squares, 60² and 100², give or take their blurred edges.
    expect(Math.abs(rle.value!.mask!.area - (60 * 60 + 100 * 100))).toBeLessThan(600);
  });

  it('refuses a cut-out past the message limit as payload_too_large, naming what to ask for instead', async () => {
    const small = await startWorker(baseConfig(modelsDir, { maxMessageBytes: 64 * 1024 }));
    try {
      // A small JPEG of a noisy picture: its cut-out PNG (every pixel kept) is far larger.
      const noisy = await sharp(
        Buffer.from(Array.from({ length: 400 * 400 * 3 }, (_, i) => (i * 7919) % 251)),
        {
          raw: { width: 400, height: 400, channels: 3 },
        },
      )
        .jpeg({ quality: 40 })
        .toBuffer();
      expect(noisy.length).toBeLessThan(60 * 1024);
      const { error } = await removeBackground(
        small,
        RemoveBackgroundRequest.fromPartial({ model: 'matting', image: noisy }),
      );
      expect(error?.code).toBe(status.INVALID_ARGUMENT);
      expect(error?.metadata.get('vmm-error-code')).toEqual(['payload_too_large']);
      expect(error?.details).toMatch(/ask for output rle/);
      const rle = await removeBackground(
        small,
        RemoveBackgroundRequest.fromPartial({
          model: 'matting',
          image: noisy,
          output: MatteOutput.MATTE_OUTPUT_RLE,
        }),
      );
      expect(rle.error).toBeUndefined();
    } finally {
      await small.close();
    }
  });
});

describe('refusals', () => {
  it('refuses a model of another task with FAILED_PRECONDITION naming the route that serves it', async () => {
    const onDetector = await unary('segment', SegmentRequest.fromPartial({ model: 'detector', image }));
    expect(onDetector.error?.code).toBe(status.FAILED_PRECONDITION);
    expect(onDetector.error?.details).toMatch(/object detector.*\/v1\/vision\/detect/);
    const onSeg = await unary('pose', PoseRequest.fromPartial({ model: 'seg', image }));
    expect(onSeg.error?.details).toMatch(/segmentation model.*\/v1\/vision\/segment/);
    const uploaded = await upload('poseUpload', PoseRequest.fromPartial({ model: 'detector' }));
    expect(uploaded.error?.code).toBe(status.FAILED_PRECONDITION);
  });

  it('refuses an empty image and bad options with INVALID_ARGUMENT, naming the field', async () => {
    const empty = await unary('segment', SegmentRequest.fromPartial({ model: 'seg' }));
    expect(empty.error?.code).toBe(status.INVALID_ARGUMENT);
    const bad = await unary(
      'pose',
      PoseRequest.fromPartial({ model: 'pose', image, confidenceThreshold: 3 }),
    );
    expect(bad.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.error?.details).toMatch(/confidence_threshold/);
  });
});

describe('Models', () => {
  it('lists segmentation, pose and background-removal models with their tasks', async () => {
    const listed = await new Promise<{ models: { name: string; task: Task }[] }>((resolve, reject) =>
      w.models.list({ task: Task.TASK_UNSPECIFIED }, (error, value) =>
        error ? reject(error) : resolve(value!),
      ),
    );
    expect(listed.models.map((m) => [m.name, m.task])).toEqual([
      ['detector:latest', Task.TASK_OBJECT_DETECTION],
      ['matting:latest', Task.TASK_BACKGROUND_REMOVAL],
      ['pose:latest', Task.TASK_POSE_ESTIMATION],
      ['seg:latest', Task.TASK_INSTANCE_SEGMENTATION],
    ]);
  });
});
