// VisionRunner end to end: real fixture models, real encoded images, the session in its own thread.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@vmm/errors';
import {
  type Square,
  classifierColours,
  detectorColours,
  drawSquares,
  writeClassifierFolder,
  writeDetectorFolder,
  writeMattingFolder,
  writePoseFolder,
  writeSegmenterFolder,
} from '@vmm/model-fixtures';
import { inspectModelFolder, selectModelFile } from '@vmm/runtime';
import sharp from 'sharp';
import { type Box, decodeRle, type DetectResult, iou, VisionRunner } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-vision-'));
const session = { backend: 'cpu' as const, intraOpThreads: 2 };
let detector: VisionRunner;
let staticDetector: VisionRunner;
let classifier: VisionRunner;

async function open(name: string): Promise<VisionRunner> {
  const folder = inspectModelFolder(root, name);
  return VisionRunner.open({ folder, file: selectModelFile(folder, 'cpu').path, session, maxBatch: 4 });
}

beforeAll(async () => {
  writeDetectorFolder(join(root, 'detector'));
  writeDetectorFolder(join(root, 'detector-static'), { staticBatch: true });
  writeClassifierFolder(join(root, 'classifier'));
  [detector, staticDetector, classifier] = await Promise.all([
    open('detector'),
    open('detector-static'),
    open('classifier'),
  ]);
});

afterAll(async () => {
  await Promise.all([detector.close(), staticDetector.close(), classifier.close()]);
  rmSync(root, { recursive: true, force: true });
});

const rgb = (name: string) => (detectorColours.find((c) => c.name === name) ?? classifierColours[0])!.rgb;
type Labelled = Square & { label: string };
const square = (label: string, x: number, y: number, size: number): Labelled => ({
  label,
  x,
  y,
  size,
  rgb: rgb(label),
});

async function encode(
  width: number,
  height: number,
  squares: Square[],
  format: 'png' | 'jpeg' | 'webp',
): Promise<Buffer> {
  const image = sharp(drawSquares(width, height, squares).data, { raw: { width, height, channels: 3 } });
  if (format === 'jpeg') return image.jpeg({ quality: 95 }).toBuffer();
  if (format === 'webp') return image.webp({ lossless: true }).toBuffer();
  return image.png().toBuffer();
}

function expectFound(result: DetectResult, squares: Labelled[]): void {
  expect(result.detections).toHaveLength(squares.length);
  for (const drawn of squares) {
    const truth: Box = { x1: drawn.x, y1: drawn.y, x2: drawn.x + drawn.size, y2: drawn.y + drawn.size };
    const match = result.detections.find((d) => d.label === drawn.label && iou(d.box, truth) >= 0.8);
    expect({ square: drawn.label, found: match !== undefined }).toEqual({ square: drawn.label, found: true });
  }
}

const scenes: {
  name: string;
  width: number;
  height: number;
  format: 'png' | 'jpeg' | 'webp';
  squares: Labelled[];
}[] = [
  {
    name: '640×640 PNG',
    width: 640,
    height: 640,
    format: 'png',
    squares: [
      square('red', 60, 80, 50),
      square('blue', 400, 300, 150),
      square('yellow', 500, 40, 24),
      square('white', 20, 420, 180),
    ],
  },
  {
    name: '1280×720 JPEG',
    width: 1280,
    height: 720,
    format: 'jpeg',
    squares: [
      square('green', 100, 100, 120),
      square('magenta', 700, 80, 300),
      square('cyan', 1100, 560, 150),
    ],
  },
  {
    name: '500×900 WebP',
    width: 500,
    height: 900,
    format: 'webp',
    squares: [square('red', 20, 30, 100), square('blue', 300, 400, 180), square('green', 0, 820, 80)],
  },
];

describe('detection', () => {
  it.each(scenes)(
    'finds every square of the $name with its label and IoU ≥ 0.8',
    async ({ width, height, format, squares }) => {
      const image = await encode(width, height, squares, format);
      const result = await detector.detect(image);
      expect(result.imageSize).toEqual({ width, height });
      expectFound(result, squares);
      for (const detection of result.detections) {
        expect(detection.box.x1).toBeGreaterThanOrEqual(0);
        expect(detection.box.x2).toBeLessThanOrEqual(width);
        expect(detection.box.y2).toBeLessThanOrEqual(height);
      }
      expect(result.timings.totalNs).toBeGreaterThan(result.timings.inferenceNs);
    },
  );

  it('finds nothing on a blank image', async () => {
    for (const [width, height] of [
      [640, 640],
      [1280, 720],
    ] as const) {
      expect((await detector.detect(await encode(width, height, [], 'png'))).detections).toEqual([]);
    }
  });

  it('gives the same results batched (dynamic), one by one, and with a static batch of 1', async () => {
    const images = await Promise.all(
      scenes.map((scene) => encode(scene.width, scene.height, scene.squares, scene.format)),
    );
    const copies = () => images.map((image) => Uint8Array.from(image));
    const batched = await detector.detectBatch(copies());
    const single = await Promise.all(copies().map((image) => detector.detect(image)));
    const fixed = await staticDetector.detectBatch(copies());
    // Calls at once on a fixed batch of 1: the first on the session with both threads, the
    // rest side by side on the two one-thread lanes.
    const lanes = await Promise.all(copies().map((image) => staticDetector.detect(image)));
    const strip = (results: DetectResult[]) => results.map((result) => result.detections);
    expect(staticDetector.spec.batch).toBe(1);
    expect(detector.spec.batch).toBe('dynamic');
    expect(strip(batched)).toEqual(strip(single));
    expect(strip(fixed)).toEqual(strip(single));
    expect(strip(lanes)).toEqual(strip(single));
  });

  it('gives a CPU model of a fixed batch of 1 two one-thread lanes, and no other model any', async () => {
    // The wide session and one per lane; a dynamic batch is batched on its one thread instead.
    expect(staticDetector.sessions).toBe(3);
    expect(detector.sessions).toBe(1);
    const folder = inspectModelFolder(root, 'detector-static');
    const file = selectModelFile(folder, 'cpu').path;
    for (const options of [
      { session, lanes: 1 },
      { session: { backend: 'cpu' as const, intraOpThreads: 1 } },
    ]) {
      const runner = await VisionRunner.open({ folder, file, ...options });
      try {
        expect(runner.sessions).toBe(1);
      } finally {
        await runner.close();
      }
    }
    await expect(VisionRunner.open({ folder, file, session, lanes: 0 })).rejects.toThrow(RangeError);
  });

  it('serves a half export (float16 images in, float16 output) as its float32 twin', async () => {
    writeDetectorFolder(join(root, 'detector-half'), { half: true });
    const half = await open('detector-half');
    try {
      expect(half.spec.inputType).toBe('float16');
      for (const scene of scenes) {
        const image = await encode(scene.width, scene.height, scene.squares, scene.format);
        const [wanted, got] = [await detector.detect(image), await half.detect(image)];
        expectFound(got, scene.squares);
        // float16 holds pixel coordinates to within half a pixel here and scores to 2^-11.
        expect(got.detections).toHaveLength(wanted.detections.length);
        for (const detection of got.detections) {
          // Scores rounded to float16 may reorder ties: twins are matched by label.
          const twin = wanted.detections.find((d) => d.label === detection.label)!;
          expect(iou(detection.box, twin.box)).toBeGreaterThan(0.98);
          expect(Math.abs(detection.score - twin.score)).toBeLessThan(2e-3);
        }
      }
    } finally {
      await half.close();
    }
  });

  it('applies EXIF orientation, reporting boxes in the displayed image', async () => {
    const squares = [square('red', 40, 300, 100)];
    const displayed = drawSquares(400, 600, squares);
    // Stored rotated; orientation 6 tells viewers to turn it 90° clockwise back.
    const stored = await sharp(displayed.data, { raw: { width: 400, height: 600, channels: 3 } })
      .rotate(270)
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const result = await detector.detect(stored);
    expect(result.imageSize).toEqual({ width: 400, height: 600 });
    expectFound(result, squares);
  });

  it.each([
    ['keeps only the asked classes', { classIds: [2] }, ['blue']],
    ['stops at max detections, best first', { maxDetections: 1 }, 1],
    ['drops what is under the confidence threshold', { confidenceThreshold: 0.9999 }, []],
  ])('%s', async (_name, options, expected) => {
    const scene = scenes[0]!;
    const result = await detector.detect(
      await encode(scene.width, scene.height, scene.squares, 'png'),
      options,
    );
    if (typeof expected === 'number') expect(result.detections).toHaveLength(expected);
    else expect(result.detections.map((d) => d.label)).toEqual(expected);
  });
});

describe('classification', () => {
  it.each(classifierColours.map((c) => c.name))('labels an image dominated by %s', async (name) => {
    const background = classifierColours.find((c) => c.name === name)!.rgb;
    const other = name === 'red' ? rgb('blue') : rgb('red');
    const image = await sharp(
      drawSquares(300, 200, [{ x: 0, y: 0, size: 80, rgb: other }], background).data,
      {
        raw: { width: 300, height: 200, channels: 3 },
      },
    )
      .png()
      .toBuffer();
    const result = await classifier.classify(image, { topK: 3 });
    expect(result.classes).toHaveLength(3);
    expect(result.classes[0]?.label).toBe(name);
    expect(result.classes[0]!.score).toBeGreaterThan(result.classes[1]!.score);
  });
});

describe('images prepared on a thread of their own', () => {
  it('gives the same detections, classes and refusals as images prepared on the model thread', async () => {
    const folder = (name: string) => inspectModelFolder(root, name);
    const threaded = await VisionRunner.open({
      folder: folder('detector'),
      file: selectModelFile(folder('detector'), 'cpu').path,
      session,
      maxBatch: 4,
      preprocessThread: true,
    });
    const threadedClassifier = await VisionRunner.open({
      folder: folder('classifier'),
      file: selectModelFile(folder('classifier'), 'cpu').path,
      session,
      preprocessThread: true,
    });
    try {
      const images = await Promise.all(
        scenes.map((scene) => encode(scene.width, scene.height, scene.squares, scene.format)),
      );
      const copies = () => images.map((image) => Uint8Array.from(image));
      const strip = (results: DetectResult[]) => results.map((result) => result.detections);
      expect(strip(await threaded.detectBatch(copies()))).toEqual(
        strip(await detector.detectBatch(copies())),
      );
      const one = await threaded.detect(copies()[0]!);
      expect(one.timings.preprocessNs).toBeGreaterThan(0);
      const red = await encode(64, 64, [{ x: 0, y: 0, size: 64, rgb: rgb('red') }], 'png');
      expect((await threadedClassifier.classify(red)).classes[0]?.label).toBe(
        (await classifier.classify(red)).classes[0]?.label,
      );
      await expect(threaded.detectBatch([copies()[0]!, new TextEncoder().encode('x')])).rejects.toMatchObject(
        {
          code: ErrorCode.InvalidArgument,
          field: 'images[1]',
        },
      );
      // The runner serves on after a refusal.
      expect((await threaded.detect(copies()[1]!)).detections).toHaveLength(scenes[1]!.squares.length);
    } finally {
      await Promise.all([threaded.close(), threadedClassifier.close()]);
    }
  });
});

describe('segmentation and pose', () => {
  /** The share of pixels two masks agree on, of those either sets. */
  const maskIou = (a: Uint8Array, b: Uint8Array) => {
    let both = 0;
    let either = 0;
    a.forEach((bit, i) => {
      if (bit || b[i]) either += 1;
      if (bit && b[i]) both += 1;
    });
    return either === 0 ? 1 : both / either;
  };

  it('finds what the detector finds, with masks (outlines when asked), float16 as float32', async () => {
    writeSegmenterFolder(join(root, 'seg'));
    writeSegmenterFolder(join(root, 'seg-half'), { half: true });
    const [seg, half] = await Promise.all([open('seg'), open('seg-half')]);
    try {
      expect(seg.spec).toMatchObject({
        task: 'instance-segmentation',
        extraChannels: 32,
        protoName: 'output1',
      });
      expect(seg.spec.labels).toHaveLength(80);
      for (const scene of scenes) {
        const image = await encode(scene.width, scene.height, scene.squares, scene.format);
        const [boxes, plain, outlined, halved] = await Promise.all([
          detector.detect(image),
          seg.segment(image),
          seg.segment(image, { polygons: true }),
          half.segment(image),
        ]);
        expect(plain.segments.map(({ box, label, score }) => ({ box, label, score }))).toEqual(
          boxes.detections.map(({ box, label, score }) => ({ box, label, score })),
        );
        expect(plain.segments.every((segment) => segment.polygons === undefined)).toBe(true);
        expect(outlined.segments.every((segment) => segment.polygons?.length === 1)).toBe(true);
        for (const segment of halved.segments) {
          const twin = plain.segments.find((s) => s.label === segment.label)!;
          expect(maskIou(decodeRle(segment.mask), decodeRle(twin.mask))).toBeGreaterThan(0.98);
        }
      }
    } finally {
      await Promise.all([seg.close(), half.close()]);
    }
  });

  it('gives a pose model’s keypoints, named, with COCO’s skeleton; float16 as float32', async () => {
    writePoseFolder(join(root, 'pose'));
    writePoseFolder(join(root, 'pose-half'), { half: true, staticBatch: true });
    const [pose, half] = await Promise.all([open('pose'), open('pose-half')]);
    try {
      expect(pose.spec).toMatchObject({ task: 'pose-estimation', extraChannels: 51, labels: ['person'] });
      const scene = scenes[1]!;
      const image = await encode(scene.width, scene.height, scene.squares, scene.format);
      const [wanted, got] = [await pose.pose(image), await half.pose(image)];
      expect(wanted.poses).toHaveLength(scene.squares.length);
      expect(wanted.skeleton).toContainEqual([5, 6]);
      expect(wanted.poses[0]!.keypoints[0]).toMatchObject({ name: 'nose' });
      expect(got.poses).toHaveLength(wanted.poses.length);
      got.poses.forEach((found) => {
        const twin = wanted.poses.find((p) => iou(p.box, found.box) > 0.9)!;
        found.keypoints.forEach((point, k) => {
          expect(Math.abs(point.x - twin.keypoints[k]!.x)).toBeLessThan(1.5);
          expect(Math.abs(point.y - twin.keypoints[k]!.y)).toBeLessThan(1.5);
        });
      });
      // A fixed batch of 1: its lanes answer concurrent calls as one by one.
      expect(half.sessions).toBe(3);
      const together = await Promise.all([half.pose(image), half.pose(image), half.pose(image)]);
      for (const result of together) expect(result.poses).toEqual(got.poses);
    } finally {
      await Promise.all([pose.close(), half.close()]);
    }
  });
});

describe('background removal', () => {
  it('cuts out what was drawn on the backdrop: alpha, mask PNG, cut-out PNG and RLE agree', async () => {
    writeMattingFolder(join(root, 'matting'));
    const matting = await open('matting');
    try {
      // transformers.js's layout: the task from config.json, size and normalisation from its processor.
      expect(matting.spec).toMatchObject({
        task: 'background-removal',
        width: 320,
        height: 320,
        matte: { mean: [0.5, 0.5, 0.5], std: [1, 1, 1] },
      });
      const [width, height] = [500, 300];
      const squares = [square('red', 40, 50, 120), square('cyan', 300, 100, 150)];
      const image = await encode(width, height, squares, 'png');
      const [alpha, mask, cutout, rle] = await Promise.all(
        (['alpha', 'mask', 'cutout', 'rle'] as const).map((output) =>
          matting.removeBackground(image, { output }),
        ),
      );
      const bytes = alpha!.alpha!;
      expect(bytes).toHaveLength(width * height);
      // Inside each square opaque, on the backdrop clear, but for a band at the edges: 500 pixels
      // resized to 320 and back blur an edge over two model pixels, 4 of the image's.
      const band = Math.ceil((2 * width) / 320);
      const inside = (x: number, y: number) =>
        squares.some(
          (s) => x >= s.x + band && x < s.x + s.size - band && y >= s.y + band && y < s.y + s.size - band,
        );
      const near = (x: number, y: number) =>
        squares.some(
          (s) => x >= s.x - band && x < s.x + s.size + band && y >= s.y - band && y < s.y + s.size + band,
        );
      let wrong = 0;
      for (let y = 0; y < height; y += 1)
        for (let x = 0; x < width; x += 1) {
          const a = bytes[y * width + x]!;
          if ((inside(x, y) && a < 250) || (!near(x, y) && a > 5)) wrong += 1;
        }
      expect(wrong).toBe(0);
      // The squares' share of the image, give or take the blurred band.
      expect(Math.abs(alpha!.foreground - (120 * 120 + 150 * 150) / (width * height))).toBeLessThan(0.01);
      // The mask PNG is the alpha as grey; the cut-out is the image with it as alpha.
      const maskPng = Buffer.from(mask!.png!);
      expect(await sharp(maskPng).metadata()).toMatchObject({ format: 'png', width, height, channels: 1 });
      const grey = await sharp(maskPng).extractChannel(0).raw().toBuffer();
      expect(new Uint8Array(grey)).toEqual(bytes);
      const rgba = await sharp(Buffer.from(cutout!.png!)).raw().toBuffer({ resolveWithObject: true });
      expect(rgba.info).toMatchObject({ width, height, channels: 4 });
      const original = await sharp(image).raw().toBuffer();
      for (const [x, y] of [
        [100, 100],
        [10, 10],
        [375, 175],
      ] as const) {
        const at = y * width + x;
        expect([...rgba.data.subarray(at * 4, at * 4 + 4)]).toEqual([
          ...original.subarray(at * 3, at * 3 + 3),
          bytes[at],
        ]);
      }
      expect(rle!.mask!.size).toEqual({ width, height });
      expect(decodeRle(rle!.mask!)).toEqual(Uint8Array.from(bytes, (a) => (a >= 128 ? 1 : 0)));
    } finally {
      await matting.close();
    }
  });

  it('cuts each image of a batch out of its own pixels, past the first run of the batch', async () => {
    writeMattingFolder(join(root, 'matting-batch'));
    const matting = await open('matting-batch');
    try {
      // Five sizes and colours, two runs at a batch of up to 4: each cut-out is its own image's
      // size and colour (the fifth, first of the second run, is not the first image's).
      const sizes = [64, 80, 96, 112, 128];
      const colours = ['red', 'blue', 'green', 'cyan', 'yellow'];
      const images = await Promise.all(
        sizes.map((side, i) => encode(side, side, [square(colours[i]!, 16, 16, 32)], 'png')),
      );
      const results = await matting.removeBackgroundBatch(images.map((image) => new Uint8Array(image)));
      for (const [i, result] of results.entries()) {
        const { data, info } = await sharp(Buffer.from(result.png!))
          .raw()
          .toBuffer({ resolveWithObject: true });
        expect([info.width, info.height]).toEqual([sizes[i], sizes[i]]);
        const at = (32 * sizes[i]! + 32) * 4;
        expect([...data.subarray(at, at + 4)]).toEqual([...rgb(colours[i]!), 255]);
      }
    } finally {
      await matting.close();
    }
  });

  it('reads the output a vmm.json names as the matte, and refuses a name the model does not have', async () => {
    const named = (output: string) => {
      const dir = join(root, `matting-${output}`);
      writeMattingFolder(dir);
      const manifest = { task: 'background-removal', model: 'onnx/model.onnx', output: { name: output } };
      writeFileSync(join(dir, 'vmm.json'), JSON.stringify(manifest));
      return `matting-${output}`;
    };
    const matting = await open(named('output'));
    try {
      expect(matting.spec.outputName).toBe('output');
    } finally {
      await matting.close();
    }
    // A runner that opened after all is closed before the assertion fails, not left running.
    const refusal = await open(named('fused')).then(
      async (runner) => void (await runner.close()),
      (error: unknown) => error,
    );
    expect(refusal).toMatchObject({
      code: ErrorCode.FailedPrecondition,
      message: expect.stringContaining('names the matte output "fused"; the model\'s outputs are output'),
    });
  });

  it('refuses an unknown output, and a matting model asked to detect', async () => {
    writeMattingFolder(join(root, 'matting-2'));
    const matting = await open('matting-2');
    try {
      const image = await encode(64, 64, [], 'png');
      await expect(
        matting.removeBackground(image, { output: 'jpeg' as 'png' as never }),
      ).rejects.toMatchObject({ code: ErrorCode.InvalidArgument, field: 'output' });
      await expect(matting.detect(image)).rejects.toMatchObject({
        code: ErrorCode.FailedPrecondition,
        message: expect.stringContaining('/v1/vision/remove-background'),
      });
      await expect(detector.removeBackground(image)).rejects.toMatchObject({
        code: ErrorCode.FailedPrecondition,
      });
    } finally {
      await matting.close();
    }
  });
});

describe('bad requests', () => {
  const good = () => encode(64, 64, [], 'png');

  it.each([
    ['empty bytes', async () => new Uint8Array(0), 'image', ErrorCode.InvalidArgument],
    ['a text file', async () => new TextEncoder().encode('not an image'), 'image', ErrorCode.InvalidArgument],
  ])('refuses %s', async (_name, make, field, code) => {
    await expect(detector.detect(await make())).rejects.toMatchObject({ code, field });
  });

  it('names the bad image of a batch', async () => {
    await expect(detector.detectBatch([await good(), new TextEncoder().encode('x')])).rejects.toMatchObject({
      field: 'images[1]',
    });
  });

  it.each([
    [{ confidenceThreshold: 2 }, 'confidence_threshold'],
    [{ iouThreshold: -1 }, 'iou_threshold'],
    [{ maxDetections: 0 }, 'max_detections'],
    [{ classIds: [99] }, 'class_ids'],
  ])('refuses detect options %p naming %s', async (options, field) => {
    await expect(detector.detect(await good(), options)).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      field,
    });
  });

  it('refuses a call the model’s task does not answer, naming the route that does', async () => {
    await expect(classifier.detect(await good())).rejects.toMatchObject({
      code: ErrorCode.FailedPrecondition,
      message: expect.stringContaining('/v1/vision/classify'),
    });
    await expect(detector.classify(await good())).rejects.toMatchObject({
      code: ErrorCode.FailedPrecondition,
      message: expect.stringContaining('/v1/vision/detect'),
    });
    await expect(detector.segment(await good())).rejects.toMatchObject({
      code: ErrorCode.FailedPrecondition,
      field: 'model',
    });
    await expect(classifier.pose(await good())).rejects.toMatchObject({
      code: ErrorCode.FailedPrecondition,
    });
  });

  it('refuses an image whose bytes were moved into a model already, at once, and serves the next', async () => {
    // A whole buffer is moved, not copied: the caller's array is empty after the first call.
    const image = new Uint8Array(await good());
    await detector.detect(image);
    await expect(detector.detect(image)).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    expect((await detector.detect(new Uint8Array(await good()))).detections).toEqual([]);
  });

  it('answers CANCELLED when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(detector.detect(await good(), {}, { signal: controller.signal })).rejects.toMatchObject({
      code: ErrorCode.Cancelled,
    });
  });
});
