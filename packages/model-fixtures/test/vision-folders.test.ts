import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from '@vmm/proto';
import {
  CLASSIFIER_SIZE,
  DETECTOR_FILE,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type Square,
  classifierColours,
  classifierLabels,
  detectorColours,
  drawSquares,
  toChwFloat,
  writeClassifierFolder,
  writeDetectorFolder,
} from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-vision-'));
let dynamicDetector: ort.InferenceSession;
let staticDetector: ort.InferenceSession;
let classifier: ort.InferenceSession;

beforeAll(async () => {
  writeDetectorFolder(join(root, 'detector'));
  writeDetectorFolder(join(root, 'detector-static'), { staticBatch: true, fileName: 'yolov8n.onnx' });
  writeClassifierFolder(join(root, 'classifier'));
  dynamicDetector = await ort.InferenceSession.create(join(root, 'detector', DETECTOR_FILE));
  staticDetector = await ort.InferenceSession.create(join(root, 'detector-static', 'yolov8n.onnx'));
  classifier = await ort.InferenceSession.create(join(root, 'classifier', 'model.onnx'));
});

afterAll(async () => {
  await Promise.all([dynamicDetector.release(), staticDetector.release(), classifier.release()]);
  rmSync(root, { recursive: true, force: true });
});

type Box = [number, number, number, number];
interface Detection {
  box: Box;
  classId: number;
  score: number;
}

const iou = (a: Box, b: Box) => {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const area = (box: Box) => (box[2] - box[0]) * (box[3] - box[1]);
  return (w * h) / (area(a) + area(b) - w * h);
};

/** A plain YOLOv8 decode of one image's [84, N] output: best class, threshold, class-aware NMS. */
function decode(output: Float32Array, image: number, anchors: number, threshold = 0.25): Detection[] {
  const base = image * 84 * anchors;
  const at = (row: number, i: number) => output[base + row * anchors + i] ?? 0;
  const candidates: Detection[] = [];
  for (let i = 0; i < anchors; i += 1) {
    let classId = 0;
    for (let c = 1; c < 80; c += 1) if (at(4 + c, i) > at(4 + classId, i)) classId = c;
    const score = at(4 + classId, i);
    if (score <= threshold) continue;
    const [cx, cy, w, h] = [at(0, i), at(1, i), at(2, i), at(3, i)];
    candidates.push({ box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], classId, score });
  }
  candidates.sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  for (const candidate of candidates) {
    if (!kept.some((k) => k.classId === candidate.classId && iou(k.box, candidate.box) > 0.7))
      kept.push(candidate);
  }
  return kept;
}

const colour = (name: string) => {
  const index = detectorColours.findIndex((c) => c.name === name);
  return { index, rgb: detectorColours[index]?.rgb ?? [0, 0, 0] } as const;
};

const scenes: { name: string; squares: (Square & { label: string })[] }[] = [
  {
    name: 'four squares of different sizes and colours',
    squares: [
      { x: 100, y: 120, size: 50, ...square('red') },
      { x: 400, y: 300, size: 150, ...square('blue') },
      { x: 500, y: 40, size: 20, ...square('yellow') },
      { x: 30, y: 400, size: 210, ...square('green') },
    ],
  },
  {
    name: 'squares touching the image border',
    squares: [
      { x: 0, y: 0, size: 64, ...square('magenta') },
      { x: 560, y: 580, size: 60, ...square('cyan') },
      { x: 300, y: 0, size: 33, ...square('white') },
    ],
  },
  {
    name: 'two squares of the same colour far apart',
    squares: [
      { x: 40, y: 40, size: 40, ...square('red') },
      { x: 520, y: 520, size: 80, ...square('red') },
    ],
  },
];

function square(label: string) {
  return { label, rgb: colour(label).rgb };
}

describe('the YOLOv8-layout detector', () => {
  it.each(scenes)('finds every square in "$name" with the right class and IoU ≥ 0.7', async ({ squares }) => {
    const image = drawSquares(640, 640, squares);
    for (const session of [dynamicDetector, staticDetector]) {
      const { output0 } = await session.run({
        images: new ort.Tensor('float32', toChwFloat(image), [1, 3, 640, 640]),
      });
      expect(output0?.dims).toEqual([1, 84, 8400]);
      const detections = decode(output0?.data as Float32Array, 0, 8400);
      expect(detections).toHaveLength(squares.length);
      for (const drawn of squares) {
        const truth: Box = [drawn.x, drawn.y, drawn.x + drawn.size, drawn.y + drawn.size];
        const match = detections.find(
          (d) => d.classId === colour(drawn.label).index && iou(d.box, truth) >= 0.7,
        );
        expect(match).toBeDefined();
        expect(match?.score).toBeGreaterThan(0.5);
      }
    }
  });

  it('finds nothing above 0.25 on a blank image, a grey letterbox or random noise', async () => {
    const noise = drawSquares(640, 640, []);
    let state = 12345;
    for (let i = 0; i < noise.data.length; i += 1) {
      state = (state * 1103515245 + 12345) >>> 0;
      noise.data[i] = state >>> 26; // dark noise, 0..63
    }
    for (const image of [drawSquares(640, 640, []), drawSquares(640, 640, [], [114, 114, 114]), noise]) {
      const { output0 } = await dynamicDetector.run({
        images: new ort.Tensor('float32', toChwFloat(image), [1, 3, 640, 640]),
      });
      expect(decode(output0?.data as Float32Array, 0, 8400)).toEqual([]);
    }
  });

  it('runs a dynamic batch, each image giving what it gives alone', async () => {
    const first = drawSquares(640, 640, [{ x: 200, y: 200, size: 90, rgb: colour('green').rgb }]);
    const second = drawSquares(640, 640, [{ x: 50, y: 300, size: 40, rgb: colour('blue').rgb }]);
    const batch = new Float32Array(2 * 3 * 640 * 640);
    batch.set(toChwFloat(first), 0);
    batch.set(toChwFloat(second), 3 * 640 * 640);
    const { output0 } = await dynamicDetector.run({
      images: new ort.Tensor('float32', batch, [2, 3, 640, 640]),
    });
    expect(output0?.dims).toEqual([2, 84, 8400]);
    const data = output0?.data as Float32Array;
    expect(decode(data, 0, 8400).map((d) => d.classId)).toEqual([colour('green').index]);
    expect(decode(data, 1, 8400).map((d) => d.classId)).toEqual([colour('blue').index]);
  });

  it('carries Ultralytics metadata and the batch dimension its variant promises', () => {
    const read = (path: string) => onnx.ModelProto.decode(readFileSync(path));
    const dynamic = read(join(root, 'detector', DETECTOR_FILE));
    const fixed = read(join(root, 'detector-static', 'yolov8n.onnx'));
    const metadata = Object.fromEntries(dynamic.metadataProps.map(({ key, value }) => [key, value]));
    expect(metadata).toMatchObject({ task: 'detect', stride: '32', batch: '1', imgsz: '[640, 640]' });
    const names = [...(metadata.names ?? '').matchAll(/(\d+): '([^']*)'/g)].map((m) => [Number(m[1]), m[2]]);
    expect(names).toHaveLength(80);
    expect(names.slice(0, 3)).toEqual([
      [0, 'red'],
      [1, 'green'],
      [2, 'blue'],
    ]);
    const batchDim = (model: onnx.ModelProto) => model.graph?.input[0]?.type?.tensorType?.shape?.dim[0];
    expect(batchDim(dynamic)).toMatchObject({ dimParam: 'batch' });
    expect(batchDim(fixed)).toMatchObject({ dimValue: 1 });
    expect(dynamic.graph?.output[0]?.name).toBe('output0');
  });
});

describe('the colour classifier', () => {
  function normalised(rgb: readonly [number, number, number], squares: Square[] = []): Float32Array {
    const chw = toChwFloat(drawSquares(CLASSIFIER_SIZE, CLASSIFIER_SIZE, squares, rgb));
    const plane = CLASSIFIER_SIZE * CLASSIFIER_SIZE;
    return chw.map((value, i) => {
      const channel = Math.floor(i / plane);
      return (value - (IMAGENET_MEAN[channel] ?? 0)) / (IMAGENET_STD[channel] ?? 1);
    });
  }

  it.each(classifierColours.map((c) => [c.name, c.rgb] as const))(
    'labels a mostly %s image',
    async (name, rgb) => {
      // The dominant colour covers 3/4 of the image; a square of another colour the rest.
      const other = name === 'red' ? colour('blue').rgb : colour('red').rgb;
      const input = normalised(rgb, [{ x: 0, y: 0, size: 112, rgb: other }]);
      const { probabilities } = await classifier.run({
        pixel_values: new ort.Tensor('float32', input, [1, 3, 224, 224]),
      });
      const values = Array.from(probabilities?.data as Float32Array);
      expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      const best = values.indexOf(Math.max(...values));
      expect(classifierLabels[best]).toBe(name);
    },
  );

  it('ships labels.txt and a vmm.json manifest naming task and preprocessing', () => {
    expect(
      readFileSync(join(root, 'classifier', 'labels.txt'), 'utf8')
        .trim()
        .split('\n'),
    ).toEqual([...classifierLabels]);
    const manifest = JSON.parse(readFileSync(join(root, 'classifier', 'vmm.json'), 'utf8'));
    expect(manifest).toMatchObject({
      task: 'image-classification',
      model: 'model.onnx',
      labels: 'labels.txt',
      preprocess: { crop: 224, mean: IMAGENET_MEAN, std: IMAGENET_STD },
    });
  });
});
