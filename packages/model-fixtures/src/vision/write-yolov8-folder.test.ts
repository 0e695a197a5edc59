import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { onnx } from '@vmm/proto';
import * as ort from 'onnxruntime-node';
import { fromFloat16Bits, toFloat16Bits } from '../onnx/float16.js';
import { cocoLabels, writeYoloV8Folder } from './write-yolov8-folder.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-yolov8-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const models = new Map<string, onnx.ModelProto>();
function model(file: string): onnx.ModelProto {
  let proto = models.get(file);
  if (!proto) {
    proto = onnx.ModelProto.decode(readFileSync(file));
    models.set(file, proto);
  }
  return proto;
}

/** Ultralytics counts a fused model's parameters as every element of its modules' tensors. */
function parameterCount(proto: onnx.ModelProto): number {
  return proto
    .graph!.initializer.filter((t) => t.name.startsWith('model.'))
    .reduce((sum, t) => sum + t.dims.reduce((n, d) => n * Number(d), 1), 0);
}

/**
 * FLOPs as Ultralytics reports them (2 · multiply-adds of every convolution at 640×640), from the
 * file alone: channel and spatial sizes walked through the ops the backbone, neck and head use,
 * up to the head's flatten.
 */
function gigaFlops(proto: onnx.ModelProto): number {
  const graph = proto.graph!;
  const dims = new Map(graph.initializer.map((t) => [t.name, t.dims.map(Number)]));
  const int64s = new Map(
    graph.initializer
      .filter((t) => t.dataType === onnx.TensorProto_DataType.INT64)
      .map((t) => [t.name, Array.from(new BigInt64Array(Uint8Array.from(t.rawData).buffer), Number)]),
  );
  const shapes = new Map<string, [number, number, number]>([['images', [3, 640, 640]]]);
  let flops = 0;
  for (const node of graph.node) {
    const input = shapes.get(node.input[0] ?? '');
    if (!input) continue;
    const [c, h, w] = input;
    const attribute = (name: string) => node.attribute.find((a) => a.name === name);
    const out = node.output[0] ?? '';
    switch (node.opType) {
      case 'Conv': {
        const [cout, cin, kh, kw] = dims.get(node.input[1] ?? '') as [number, number, number, number];
        const stride = Number(attribute('strides')?.ints[0]);
        flops += 2 * cout * cin * kh * kw * (h / stride) * (w / stride);
        shapes.set(out, [cout, h / stride, w / stride]);
        break;
      }
      case 'Sigmoid':
      case 'Mul':
      case 'Add':
      case 'MaxPool':
        shapes.set(out, input);
        break;
      case 'Split': {
        const sizes = int64s.get(node.input[1] ?? '') ?? [];
        node.output.forEach((name, i) => shapes.set(name, [sizes[i] ?? 0, h, w]));
        break;
      }
      case 'Concat':
        if (Number(attribute('axis')?.i) === 1) {
          shapes.set(out, [node.input.reduce((sum, name) => sum + (shapes.get(name)?.[0] ?? NaN), 0), h, w]);
        }
        break;
      case 'Resize':
        shapes.set(out, [c, h * 2, w * 2]);
        break;
      default:
        break;
    }
  }
  return flops / 1e9;
}

async function run(file: string, images: ort.Tensor): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 2 });
  try {
    const { output0 } = await session.run({ images });
    return output0!;
  } finally {
    await session.release();
  }
}

/** A smooth test picture in [0, 1], CHW. */
function picture(batch = 1): Float32Array {
  const plane = 640 * 640;
  return Float32Array.from({ length: batch * 3 * plane }, (_, i) => {
    const p = i % plane;
    return 0.5 + 0.4 * Math.sin((p % 640) / 37 + Math.floor(i / plane)) * Math.cos(Math.floor(p / 640) / 23);
  });
}

describe('writeYoloV8Folder', () => {
  let n: string;
  let fp32: Float32Array;
  beforeAll(async () => {
    [n] = writeYoloV8Folder(join(root, 'n'), { scale: 'n' }) as [string];
    fp32 = (await run(n, new ort.Tensor('float32', picture(), [1, 3, 640, 640]))).data as Float32Array;
  });

  it("has YOLOv8n's and YOLOv8s's fused parameter counts and FLOPs, as Ultralytics prints them", () => {
    const [s] = writeYoloV8Folder(join(root, 's'), { scale: 's' }) as [string];
    // "YOLOv8n summary (fused): 168 layers, 3151904 parameters, 0 gradients, 8.7 GFLOPs"
    expect(parameterCount(model(n))).toBe(3_151_904);
    expect(gigaFlops(model(n)).toFixed(1)).toBe('8.7');
    expect(parameterCount(model(s))).toBe(11_156_544);
    expect(gigaFlops(model(s)).toFixed(1)).toBe('28.6');
  });

  it('writes the -seg and -pose heads with their parameter counts and outputs, as Ultralytics exports them', async () => {
    const [seg] = writeYoloV8Folder(join(root, 'seg'), { scale: 'n', head: 'segment' }) as [string];
    const [pose] = writeYoloV8Folder(join(root, 'pose'), { scale: 'n', head: 'pose' }) as [string];
    expect(seg).toMatch(/yolov8n-seg\.onnx$/);
    // "YOLOv8n-seg summary (fused): 195 layers, 3404320 parameters"; "YOLOv8n-pose summary
    // (fused): 187 layers, 3289964 parameters".
    expect(parameterCount(model(seg))).toBe(3_404_320);
    expect(parameterCount(model(pose))).toBe(3_289_964);
    const metadata = (file: string) =>
      Object.fromEntries(model(file).metadataProps.map((p) => [p.key, p.value]));
    expect(metadata(seg)).toMatchObject({ task: 'segment' });
    expect(metadata(pose)).toMatchObject({ task: 'pose', kpt_shape: '[17, 3]', names: "{0: 'person'}" });
    const session = await ort.InferenceSession.create(seg, { intraOpNumThreads: 2 });
    try {
      const outputs = await session.run({ images: new ort.Tensor('float32', picture(), [1, 3, 640, 640]) });
      expect(outputs.output0?.dims).toEqual([1, 116, 8400]);
      expect(outputs.output1?.dims).toEqual([1, 32, 160, 160]);
    } finally {
      await session.release();
    }
    const keypoints = await run(pose, new ort.Tensor('float32', picture(), [1, 3, 640, 640]));
    expect(keypoints.dims).toEqual([1, 56, 8400]);
    // Visibility went through a sigmoid; x and y are near their anchor's cell (input pixels).
    const at = (row: number, anchor: number) => (keypoints.data as Float32Array)[row * 8400 + anchor]!;
    for (const anchor of [0, 4000, 8399]) {
      expect(at(5 + 2, anchor)).toBeGreaterThan(0);
      expect(at(5 + 2, anchor)).toBeLessThan(1);
      expect(at(5, anchor)).toBeGreaterThan(-200);
      expect(at(5, anchor)).toBeLessThan(840);
    }
  });

  it('is laid out and described as an Ultralytics export', () => {
    const proto = model(n);
    const graph = proto.graph!;
    expect(proto.opsetImport.find((o) => o.domain === '')?.version).toBe(17);
    expect(graph.input.map((i) => i.name)).toEqual(['images']);
    expect(graph.output.map((o) => o.name)).toEqual(['output0']);
    const ops = new Set(graph.node.map((node) => node.opType));
    for (const op of ['Conv', 'Sigmoid', 'Split', 'MaxPool', 'Resize', 'Softmax', 'Transpose'])
      expect(ops).toContain(op);
    expect(ops).not.toContain('BatchNormalization');
    const metadata = Object.fromEntries(proto.metadataProps.map((p) => [p.key, p.value]));
    expect(metadata).toMatchObject({ task: 'detect', stride: '32', imgsz: '[640, 640]', batch: '1' });
    expect(metadata.names).toMatch(/^\{0: 'person', 1: 'bicycle', .*79: 'toothbrush'\}$/);
    expect(cocoLabels).toHaveLength(80);
  });

  it('decodes boxes in the graph (DFL) and scores like an untrained model', () => {
    const anchors = 8400;
    for (let a = 0; a < anchors; a += 97) {
      const stride = a < 6400 ? 8 : a < 8000 ? 16 : 32;
      const [cx, cy, w, h] = [0, 1, 2, 3].map((k) => fp32[k * anchors + a] as number) as [
        number,
        number,
        number,
        number,
      ];
      // Each side is an expected bin in [0, 15] cells from the anchor.
      expect(w).toBeGreaterThan(0);
      expect(w).toBeLessThanOrEqual(30 * stride);
      expect(h).toBeLessThanOrEqual(30 * stride);
      expect(cx).toBeGreaterThanOrEqual(-15 * stride);
      expect(cy).toBeLessThanOrEqual(640 + 15 * stride);
    }
    const scores = fp32.subarray(4 * anchors);
    expect(scores.reduce((a, b) => Math.max(a, b), 0)).toBeLessThan(0.25);
    expect(scores.reduce((a, b) => Math.min(a, b), 1)).toBeGreaterThan(0);
  });

  it('writes half (fp16 in and out) and dynamic int8 exports of the same model', async () => {
    const [half] = writeYoloV8Folder(join(root, 'half'), { scale: 'n', precision: 'fp16' }) as [string];
    const [int8] = writeYoloV8Folder(join(root, 'int8'), { scale: 'n', precision: 'int8' }) as [string];
    expect(model(half).graph!.input[0]?.type?.tensorType?.elemType).toBe(onnx.TensorProto_DataType.FLOAT16);
    const int8Ops = new Set(model(int8).graph!.node.map((node) => node.opType));
    expect(int8Ops).toContain('ConvInteger');
    expect(int8Ops).toContain('DynamicQuantizeLinear');

    const halfOut = await run(
      half,
      new ort.Tensor(
        'float16',
        Uint16Array.from(picture(), (v) => toFloat16Bits(v)),
        [1, 3, 640, 640],
      ),
    );
    expect(halfOut.type).toBe('float16');
    const int8Out = await run(int8, new ort.Tensor('float32', picture(), [1, 3, 640, 640]));
    // Box coordinates agree with float32 (the same weights, rounded).
    const boxes = 4 * 8400;
    let halfWorst = 0;
    let int8Worst = 0;
    for (let i = 0; i < boxes; i += 1) {
      const want = fp32[i] as number;
      halfWorst = Math.max(
        halfWorst,
        Math.abs(fromFloat16Bits((halfOut.data as Uint16Array)[i] as number) - want),
      );
      int8Worst = Math.max(int8Worst, Math.abs(((int8Out.data as Float32Array)[i] as number) - want));
    }
    // fp16 holds 481 to within 0.25.
    expect(halfWorst).toBeLessThan(1);
    expect(int8Worst).toBeLessThan(1);
    // The same boxes, not zeros: each variant's widths are those of float32.
    expect(fromFloat16Bits((halfOut.data as Uint16Array)[2 * 8400] as number)).toBeCloseTo(
      fp32[2 * 8400] as number,
      0,
    );
  });

  it('takes a batch when exported with a dynamic batch: each row as alone', async () => {
    const [dynamic] = writeYoloV8Folder(join(root, 'dynamic'), { scale: 'n', dynamicBatch: true }) as [
      string,
    ];
    expect(model(dynamic).graph!.input[0]?.type?.tensorType?.shape?.dim[0]?.dimParam).toBe('batch');
    const two = picture(2);
    two.set(picture(), 3 * 640 * 640);
    const out = (await run(dynamic, new ort.Tensor('float32', two, [2, 3, 640, 640]))).data as Float32Array;
    const row = 84 * 8400;
    let worst = 0;
    for (let i = 0; i < row; i += 1)
      worst = Math.max(worst, Math.abs((out[row + i] as number) - (fp32[i] as number)));
    expect(worst).toBeLessThan(1e-3);
  });
});
