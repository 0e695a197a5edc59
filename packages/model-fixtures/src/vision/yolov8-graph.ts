import { type ElementType, rawBytes } from '../onnx/tensor-data.js';
import type { GraphBuilder } from '../onnx/graph-builder.js';
import { Prng } from '../prng.js';

/** Ultralytics' model scales (yolov8.yaml): depth, width and channel cap. */
const yoloV8Scales = {
  n: { depth: 0.33, width: 0.25, maxChannels: 1024 },
  s: { depth: 0.33, width: 0.5, maxChannels: 1024 },
} as const;
export type YoloV8Scale = keyof typeof yoloV8Scales;

/** Precision of an export: float32, half (`half=True`: fp16 in and out) or dynamic int8. */
export type YoloV8Precision = 'fp32' | 'fp16' | 'int8';

/** The head: Detect (yolov8n), Segment (yolov8n-seg) or Pose (yolov8n-pose). */
export type YoloV8Head = 'detect' | 'segment' | 'pose';

/** Segment's mask coefficients and Pose's keypoints (COCO-Pose: 17 points of x, y, visibility). */
const MASKS = 32;
const KEYPOINTS = 17 * 3;

const YOLO_SIZE = 640;
const YOLO_CLASSES = 80;
const REG_MAX = 16;
const STRIDES = [8, 16, 32] as const;

/**
 * YOLOv8 exactly as Ultralytics exports it to ONNX, with random weights: Conv+BatchNorm folded
 * into Conv with bias, SiLU as Sigmoid·Mul, C2f (Split, bottlenecks, Concat), SPPF (three
 * chained 5×5 MaxPools), an FPN/PAN neck of nearest Resize ×2 and Concat, and the decoupled
 * head with DFL decoding in the graph (Reshape, Transpose, Softmax, a 1×1 Conv of 0..15, anchor
 * arithmetic), so `output0` [batch, 84, 8400] holds cx, cy, w, h in input pixels and 80 sigmoid
 * class scores. Its compute is a real YOLOv8's (8.7 GFLOPs for n, 28.6 for s); what it finds is
 * noise. Weights and biases start as in an untrained model (PyTorch's init; class biases as
 * Ultralytics sets them, log(5 / nc / (640 / stride)²)), so it scores like one: nothing passes
 * 0.25, whatever the picture.
 *
 * `int8` is what onnxruntime's `quantize_dynamic` writes for a Conv: DynamicQuantizeLinear on
 * the activations, ConvInteger with int8 weights (one scale per tensor), the product rescaled
 * and the bias added in float.
 *
 * `segment` adds Segment's branches as Ultralytics builds them: per level 32 mask coefficients
 * (cv4) after the class scores (`output0` [batch, 116, 8400]) and the Proto module on P3 (3×3
 * conv, a 2×2 ConvTranspose to 160×160, 3×3 conv, 1×1 to 32: `output1` [batch, 32, 160, 160]).
 * `pose` has one class and per level 51 keypoint values (cv4), decoded in the graph as the
 * export does ((v · 2 + anchor − 0.5) · stride, visibility through a sigmoid): `output0`
 * [batch, 56, 8400].
 */
export function addYoloV8(
  graph: GraphBuilder,
  scale: YoloV8Scale,
  precision: YoloV8Precision,
  batch: number | 'batch',
  seed = 8,
  head: YoloV8Head = 'detect',
): void {
  const classes = head === 'pose' ? 1 : YOLO_CLASSES;
  const { depth, width, maxChannels } = yoloV8Scales[scale];
  const channels = (c: number) => Math.ceil((Math.min(c, maxChannels) * width) / 8) * 8;
  const repeats = (n: number) => (n > 1 ? Math.max(Math.round(n * depth), 1) : n);
  const type: ElementType = precision === 'fp16' ? 'float16' : 'float32';
  const prng = new Prng(seed);
  const values = (name: string, count: number, bound: number) => prng.fork(name).uniform(count, bound);
  const tensor = (name: string, dims: number[], data: Float32Array) =>
    graph.weight(name, type, dims, () => rawBytes(type, data));
  const constant = (data: number[], dims: number[]) => graph.constant(type, data, dims);

  /** A plain Conv2d (bias optional), float or dynamically quantized. */
  const conv2d = (
    x: string,
    name: string,
    cin: number,
    cout: number,
    k: number,
    stride: number,
    bias: Float32Array | undefined,
  ): string => {
    // PyTorch's default Conv2d init (kaiming-uniform, a = sqrt(5): bound 1 / sqrt(fan_in)), as an
    // untrained Ultralytics model has. Larger weights put this deep a random net in its chaotic
    // regime: smooth pictures then drive every class score to 1 (measured at 2.8x this variance:
    // 94 000 of 672 000 over 0.25), and NMS would face a flood no trained model produces.
    const w = values(`${name}.weight`, cout * cin * k * k, 1 / Math.sqrt(cin * k * k));
    const attributes = {
      kernel_shape: { ints: [k, k] },
      strides: { ints: [stride, stride] },
      pads: { ints: Array(4).fill(Math.floor(k / 2)) as number[] },
      dilations: { ints: [1, 1] },
      group: { int: 1 },
    };
    const dims = [cout, cin, k, k];
    if (precision !== 'int8') {
      const inputs = [x, tensor(`${name}.weight`, dims, w)];
      if (bias) inputs.push(tensor(`${name}.bias`, [cout], bias));
      return graph.node('Conv', inputs, attributes);
    }
    let max = 0;
    for (const v of w) max = Math.max(max, Math.abs(v));
    const wScale = max / 127 || 1;
    const quantized = new Int8Array(w.length);
    for (let i = 0; i < w.length; i += 1) quantized[i] = Math.round((w[i] as number) / wScale);
    const [xq, xScale, xZero] = graph.nodeN('DynamicQuantizeLinear', [x], 3) as [string, string, string];
    const product = graph.node(
      'ConvInteger',
      [
        xq,
        graph.weight(`${name}.weight_quantized`, 'int8', dims, () => new Uint8Array(quantized.buffer)),
        xZero,
        graph.weight(`${name}.weight_zero_point`, 'int8', [], () => new Uint8Array(1)),
      ],
      {
        kernel_shape: attributes.kernel_shape,
        strides: attributes.strides,
        pads: attributes.pads,
        dilations: attributes.dilations,
        group: attributes.group,
      },
    );
    const scaled = graph.node('Mul', [
      graph.node('Cast', [product], { to: { int: 1 } }),
      graph.node('Mul', [xScale, graph.constant('float32', [wScale], [])]),
    ]);
    return bias ? graph.node('Add', [scaled, tensor(`${name}.bias`, [cout, 1, 1], bias)]) : scaled;
  };

  /** Ultralytics' Conv: Conv2d + BatchNorm (folded: a bias) + SiLU (Sigmoid · x). */
  const conv = (x: string, name: string, cin: number, cout: number, k: number, stride = 1): string => {
    const y = conv2d(x, `${name}.conv`, cin, cout, k, stride, values(`${name}.conv.bias`, cout, 0.05));
    return graph.node('Mul', [y, graph.node('Sigmoid', [y])]);
  };

  /** C2f: cv1, split in two halves, n bottlenecks on the last half, all concatenated, cv2. */
  const c2f = (x: string, name: string, cin: number, cout: number, n: number, shortcut: boolean) => {
    const hidden = cout / 2;
    const halves = graph.nodeN(
      'Split',
      [conv(x, `${name}.cv1`, cin, 2 * hidden, 1), graph.constant('int64', [hidden, hidden])],
      2,
      { axis: { int: 1 } },
    );
    const parts = [...halves];
    let current = halves[1] as string;
    for (let i = 0; i < n; i += 1) {
      const inner = conv(current, `${name}.m.${i}.cv1`, hidden, hidden, 3);
      const out = conv(inner, `${name}.m.${i}.cv2`, hidden, hidden, 3);
      current = shortcut ? graph.node('Add', [current, out]) : out;
      parts.push(current);
    }
    const joined = graph.node('Concat', parts, { axis: { int: 1 } });
    return conv(joined, `${name}.cv2`, (2 + n) * hidden, cout, 1);
  };

  /** SPPF: cv1, three chained 5×5 max pools, all four concatenated, cv2. */
  const sppf = (x: string, name: string, cin: number, cout: number) => {
    const hidden = cin / 2;
    const pooled = [conv(x, `${name}.cv1`, cin, hidden, 1)];
    for (let i = 0; i < 3; i += 1) {
      pooled.push(
        graph.node('MaxPool', [pooled[i] as string], {
          kernel_shape: { ints: [5, 5] },
          strides: { ints: [1, 1] },
          pads: { ints: [2, 2, 2, 2] },
          dilations: { ints: [1, 1] },
          ceil_mode: { int: 0 },
        }),
      );
    }
    return conv(graph.node('Concat', pooled, { axis: { int: 1 } }), `${name}.cv2`, 4 * hidden, cout, 1);
  };

  const upsample = (x: string) =>
    graph.node('Resize', [x, '', graph.constant('float32', [1, 1, 2, 2])], {
      coordinate_transformation_mode: { string: 'asymmetric' },
      cubic_coeff_a: { float: -0.75 },
      mode: { string: 'nearest' },
      nearest_mode: { string: 'floor' },
    });
  const concat = (parts: string[]) => graph.node('Concat', parts, { axis: { int: 1 } });

  // Backbone (model.0 to model.9).
  const images = graph.input('images', type, [batch, 3, YOLO_SIZE, YOLO_SIZE]);
  const c = [64, 128, 256, 512, 1024].map(channels) as [number, number, number, number, number];
  const p1 = conv(images, 'model.0', 3, c[0], 3, 2);
  const p2 = c2f(conv(p1, 'model.1', c[0], c[1], 3, 2), 'model.2', c[1], c[1], repeats(3), true);
  const p3 = c2f(conv(p2, 'model.3', c[1], c[2], 3, 2), 'model.4', c[2], c[2], repeats(6), true);
  const p4 = c2f(conv(p3, 'model.5', c[2], c[3], 3, 2), 'model.6', c[3], c[3], repeats(6), true);
  const p5 = sppf(
    c2f(conv(p4, 'model.7', c[3], c[4], 3, 2), 'model.8', c[4], c[4], repeats(3), true),
    'model.9',
    c[4],
    c[4],
  );
  // Neck (model.10 to model.21).
  const h12 = c2f(concat([upsample(p5), p4]), 'model.12', c[4] + c[3], c[3], repeats(3), false);
  const h15 = c2f(concat([upsample(h12), p3]), 'model.15', c[3] + c[2], c[2], repeats(3), false);
  const h18 = c2f(
    concat([conv(h15, 'model.16', c[2], c[2], 3, 2), h12]),
    'model.18',
    c[2] + c[3],
    c[3],
    repeats(3),
    false,
  );
  const h21 = c2f(
    concat([conv(h18, 'model.19', c[3], c[3], 3, 2), p5]),
    'model.21',
    c[3] + c[4],
    c[4],
    repeats(3),
    false,
  );

  // Detect (model.22): per level a box branch (4 × 16 DFL bins) and a class branch.
  const levels = [h15, h18, h21];
  const inChannels = [c[2], c[3], c[4]];
  const boxWidth = Math.max(16, (inChannels[0] as number) / 4, REG_MAX * 4);
  const classWidth = Math.max(inChannels[0] as number, Math.min(classes, 100));
  const outputs = 4 * REG_MAX + classes;
  const extra = head === 'segment' ? MASKS : head === 'pose' ? KEYPOINTS : 0;
  const extraWidth = Math.max((inChannels[0] as number) / 4, extra);
  /** cv4 of Segment and Pose: two 3×3 convs and a 1×1 to the extra values, per level, flattened. */
  const extras = levels.map((x, i) => {
    if (extra === 0) return '';
    const cin = inChannels[i] as number;
    let y = conv(x, `model.22.cv4.${i}.0`, cin, extraWidth, 3);
    y = conv(y, `model.22.cv4.${i}.1`, extraWidth, extraWidth, 3);
    y = conv2d(
      y,
      `model.22.cv4.${i}.2`,
      extraWidth,
      extra,
      1,
      1,
      values(`model.22.cv4.${i}.2.bias`, extra, 0.05),
    );
    return graph.node('Reshape', [y, graph.constant('int64', [0, extra, -1])]);
  });
  const flattened = levels.map((x, i) => {
    const cin = inChannels[i] as number;
    const stride = STRIDES[i] as number;
    let box = conv(x, `model.22.cv2.${i}.0`, cin, boxWidth, 3);
    box = conv(box, `model.22.cv2.${i}.1`, boxWidth, boxWidth, 3);
    box = conv2d(
      box,
      `model.22.cv2.${i}.2`,
      boxWidth,
      4 * REG_MAX,
      1,
      1,
      new Float32Array(4 * REG_MAX).fill(1),
    );
    let cls = conv(x, `model.22.cv3.${i}.0`, cin, classWidth, 3);
    cls = conv(cls, `model.22.cv3.${i}.1`, classWidth, classWidth, 3);
    const prior = Math.log(5 / classes / (YOLO_SIZE / stride) ** 2);
    cls = conv2d(
      cls,
      `model.22.cv3.${i}.2`,
      classWidth,
      classes,
      1,
      1,
      new Float32Array(classes).fill(prior),
    );
    return graph.node('Reshape', [concat([box, cls]), graph.constant('int64', [0, outputs, -1])]);
  });
  const all = graph.node('Concat', flattened, { axis: { int: 2 } });
  const [box, cls] = graph.nodeN('Split', [all, graph.constant('int64', [4 * REG_MAX, classes])], 2, {
    axis: { int: 1 },
  }) as [string, string];
  const anchors = anchorPoints();
  // DFL: softmax over each side's 16 bins, expected bin by a 1×1 conv of 0..15.
  const bins = graph.node(
    'Softmax',
    [
      graph.node(
        'Transpose',
        [graph.node('Reshape', [box, graph.constant('int64', [0, 4, REG_MAX, anchors.count])])],
        {
          perm: { ints: [0, 2, 1, 3] },
        },
      ),
    ],
    { axis: { int: 1 } },
  );
  const distances = graph.node('Reshape', [
    graph.node(
      'Conv',
      [
        bins,
        tensor(
          'model.22.dfl.conv.weight',
          [1, REG_MAX, 1, 1],
          Float32Array.from({ length: REG_MAX }, (_, i) => i),
        ),
      ],
      {
        kernel_shape: { ints: [1, 1] },
        strides: { ints: [1, 1] },
        pads: { ints: [0, 0, 0, 0] },
        dilations: { ints: [1, 1] },
        group: { int: 1 },
      },
    ),
    graph.constant('int64', [0, 4, anchors.count]),
  ]);
  const slice = (from: number, to: number) =>
    graph.node('Slice', [
      distances,
      graph.constant('int64', [from]),
      graph.constant('int64', [to]),
      graph.constant('int64', [1]),
    ]);
  const centres = constant(anchors.xy, [2, anchors.count]);
  const topLeft = graph.node('Sub', [centres, slice(0, 2)]);
  const bottomRight = graph.node('Add', [centres, slice(2, 4)]);
  const centre = graph.node('Div', [graph.node('Add', [topLeft, bottomRight]), constant([2], [])]);
  const size = graph.node('Sub', [bottomRight, topLeft]);
  const boxes = graph.node('Mul', [concat([centre, size]), constant(anchors.strides, [1, anchors.count])]);
  const found = [boxes, graph.node('Sigmoid', [cls])];
  if (head === 'detect') {
    graph.output(concat(found), 'output0', type, [batch, 4 + classes, anchors.count]);
    return;
  }
  const values3 = graph.node('Concat', extras, { axis: { int: 2 } });
  if (head === 'segment') {
    graph.output(concat([...found, values3]), 'output0', type, [batch, 4 + classes + MASKS, anchors.count]);
    // Proto on P3: npr is 256 scaled by width, as parse_model scales it.
    const npr = channels(256);
    let proto = conv(h15, 'model.22.proto.cv1', c[2], npr, 3);
    proto = graph.node(
      'ConvTranspose',
      [
        proto,
        tensor(
          'model.22.proto.upsample.weight',
          [npr, npr, 2, 2],
          values('model.22.proto.upsample.weight', npr * npr * 4, 1 / Math.sqrt(npr * 4)),
        ),
        tensor('model.22.proto.upsample.bias', [npr], values('model.22.proto.upsample.bias', npr, 0.05)),
      ],
      { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] }, pads: { ints: [0, 0, 0, 0] } },
    );
    proto = conv(proto, 'model.22.proto.cv2', npr, npr, 3);
    proto = conv(proto, 'model.22.proto.cv3', npr, MASKS, 1);
    graph.output(proto, 'output1', type, [
      batch,
      MASKS,
      (2 * YOLO_SIZE) / STRIDES[0],
      (2 * YOLO_SIZE) / STRIDES[0],
    ]);
    return;
  }
  // Pose: kpts_decode as exported: x, y = (v · 2 + (anchor − 0.5)) · stride; visibility sigmoid.
  const points = graph.node('Reshape', [
    values3,
    graph.constant('int64', [0, KEYPOINTS / 3, 3, anchors.count]),
  ]);
  const part = (from: number, to: number) =>
    graph.node('Slice', [
      points,
      graph.constant('int64', [from]),
      graph.constant('int64', [to]),
      graph.constant('int64', [2]),
    ]);
  const anchorXy = graph.node('Reshape', [
    graph.node('Sub', [centres, constant([0.5], [])]),
    graph.constant('int64', [1, 1, 2, anchors.count]),
  ]);
  const xy = graph.node('Mul', [
    graph.node('Add', [graph.node('Mul', [part(0, 2), constant([2], [])]), anchorXy]),
    constant(anchors.strides, [1, 1, 1, anchors.count]),
  ]);
  const decoded = graph.node('Reshape', [
    graph.node('Concat', [xy, graph.node('Sigmoid', [part(2, 3)])], { axis: { int: 2 } }),
    graph.constant('int64', [0, KEYPOINTS, anchors.count]),
  ]);
  graph.output(concat([...found, decoded]), 'output0', type, [batch, 4 + classes + KEYPOINTS, anchors.count]);
}

/** Ultralytics' make_anchors: cell centres (x + 0.5, y + 0.5) per level, row-major, and strides. */
function anchorPoints(): { xy: number[]; strides: number[]; count: number } {
  const x: number[] = [];
  const y: number[] = [];
  const strides: number[] = [];
  for (const stride of STRIDES) {
    const cells = YOLO_SIZE / stride;
    for (let row = 0; row < cells; row += 1) {
      for (let col = 0; col < cells; col += 1) {
        x.push(col + 0.5);
        y.push(row + 0.5);
        strides.push(stride);
      }
    }
  }
  return { xy: [...x, ...y], strides, count: strides.length };
}
