import type { GraphBuilder } from '../onnx/graph-builder.js';
import { addColourMasks, detectorColours } from './colours.js';

export const DETECTOR_SIZE = 640;
export const DETECTOR_CLASSES = 80;
/** YOLOv8's three heads: stride, and the side of the square window (pixels) each cell sees. */
const levels = [
  { stride: 8, window: 64 },
  { stride: 16, window: 128 },
  { stride: 32, window: 256 },
] as const;
const BLOCK = 4;

/**
 * A detector in the Ultralytics YOLOv8 output layout, built from conv and pooling ops so it
 * really finds solid squares of the colours in `detectorColours`:
 *
 * 1. A 1×1 conv + sigmoid gives one near-binary mask per colour.
 * 2. Masked pixel coordinates are max-pooled (first 4×4 blocks, then separable windows
 *    centred on each cell of the 80², 40², 20² grids): the window's max x, min x, max y, min y
 *    of a colour are exactly the edges of the square it contains.
 * 3. A cell scores high for a colour when the box found has size, its centre lies in the cell,
 *    it fits the window (not cut off), and the colour fills it (not two squares merged).
 *
 * Output `output0` [batch, 84, 8400]: cx, cy, w, h in input pixels, then 80 class scores.
 */
export function addDetector(graph: GraphBuilder, batch: number | 'batch'): void {
  const size = DETECTOR_SIZE;
  const colours = detectorColours.length;
  const images = graph.input('images', 'float32', [batch, 3, size, size]);

  const masks = addColourMasks(graph, images, detectorColours);
  const index = Array.from({ length: size }, (_, i) => i);
  const xPlusOne = graph.constant(
    'float32',
    index.map((i) => i + 1),
    [1, 1, 1, size],
  );
  const xFromEnd = graph.constant(
    'float32',
    index.map((i) => size - i),
    [1, 1, 1, size],
  );
  const yPlusOne = graph.constant(
    'float32',
    index.map((i) => i + 1),
    [1, 1, size, 1],
  );
  const yFromEnd = graph.constant(
    'float32',
    index.map((i) => size - i),
    [1, 1, size, 1],
  );
  // Channels: [x2 | size - x1 | y2 | size - y1] × colours, so that every edge is a max. Each
  // coordinate is pooled to 4×4 blocks before the concat, which keeps full-resolution
  // intermediates (and the memory traffic of a batch) to one colour set at a time.
  const blockKernel = { kernel_shape: { ints: [BLOCK, BLOCK] }, strides: { ints: [BLOCK, BLOCK] } };
  const edgeBlocks = graph.node(
    'Concat',
    [xPlusOne, xFromEnd, yPlusOne, yFromEnd].map((coordinate) =>
      graph.node('MaxPool', [graph.node('Mul', [masks, coordinate])], blockKernel),
    ),
    { axis: { int: 1 } },
  );
  const massBlocks = graph.node('AveragePool', [masks], blockKernel);

  const edgeLevels: string[] = [];
  const massLevels: string[] = [];
  for (const { stride, window } of levels) {
    const k = window / BLOCK;
    const step = stride / BLOCK;
    // Pads centre window i on the cell centre stride·i + stride/2.
    const pad = k / 2 - stride / (2 * BLOCK);
    const pool = (op: string, x: string, extra: Record<string, { int: number }> = {}) =>
      graph.node(
        op,
        [
          graph.node(op, [x], {
            kernel_shape: { ints: [1, k] },
            strides: { ints: [1, step] },
            pads: { ints: [0, pad, 0, pad] },
            ...extra,
          }),
        ],
        {
          kernel_shape: { ints: [k, 1] },
          strides: { ints: [step, 1] },
          pads: { ints: [pad, 0, pad, 0] },
          ...extra,
        },
      );
    edgeLevels.push(
      graph.node('Reshape', [pool('MaxPool', edgeBlocks), graph.constant('int64', [0, 4, colours, -1])]),
    );
    massLevels.push(
      graph.node('Reshape', [
        pool('AveragePool', massBlocks, { count_include_pad: { int: 1 } }),
        graph.constant('int64', [0, colours, -1]),
      ]),
    );
  }
  const edgesAll = graph.node('Concat', edgeLevels, { axis: { int: -1 } });
  const massMean = graph.node('Concat', massLevels, { axis: { int: -1 } });
  const [x2, x1FromEnd, y2, y1FromEnd] = graph
    .nodeN('Split', [edgesAll, graph.constant('int64', [1, 1, 1, 1])], 4, { axis: { int: 1 } })
    .map((part) => graph.node('Squeeze', [part, graph.constant('int64', [1])])) as [
    string,
    string,
    string,
    string,
  ];
  const sizeConst = graph.constant('float32', [size], []);
  const x1 = graph.node('Sub', [sizeConst, x1FromEnd]);
  const y1 = graph.node('Sub', [sizeConst, y1FromEnd]);
  const width = graph.node('Sub', [x2, x1]);
  const height = graph.node('Sub', [y2, y1]);
  const half = graph.constant('float32', [0.5], []);
  const centreX = graph.node('Mul', [graph.node('Add', [x1, x2]), half]);
  const centreY = graph.node('Mul', [graph.node('Add', [y1, y2]), half]);

  const cells = cellConstants();
  const cellX = graph.constant('float32', cells.x);
  const cellY = graph.constant('float32', cells.y);
  const sigmoidOf = (slope: number, x: string) =>
    graph.node('Sigmoid', [graph.node('Mul', [x, graph.constant('float32', [slope], [])])]);
  const presence = sigmoidOf(
    4,
    graph.node('Sub', [graph.node('Min', [width, height]), graph.constant('float32', [2], [])]),
  );
  const inCell = (centre: string, cell: string) =>
    sigmoidOf(
      4,
      graph.node('Sub', [
        graph.constant('float32', cells.reach),
        graph.node('Abs', [graph.node('Sub', [centre, cell])]),
      ]),
    );
  const fits = sigmoidOf(
    1,
    graph.node('Sub', [graph.constant('float32', cells.fit), graph.node('Max', [width, height])]),
  );
  const area = graph.node('Max', [graph.node('Mul', [width, height]), graph.constant('float32', [1], [])]);
  const filled = graph.node('Div', [
    graph.node('Mul', [massMean, graph.constant('float32', cells.windowArea)]),
    area,
  ]);
  const fillsBox = sigmoidOf(20, graph.node('Sub', [filled, graph.constant('float32', [0.75], [])]));
  const scores = [inCell(centreX, cellX), inCell(centreY, cellY), fits, fillsBox].reduce(
    (product, factor) => graph.node('Mul', [product, factor]),
    presence,
  );

  // One box per cell, as YOLOv8 has: the best-scoring colour's.
  const choice = graph.node('Softmax', [graph.node('Mul', [scores, graph.constant('float32', [50], [])])], {
    axis: { int: 1 },
  });
  const pick = (value: string) =>
    graph.node('ReduceSum', [graph.node('Mul', [choice, value]), graph.constant('int64', [1])], {
      keepdims: { int: 1 },
    });
  const boxes = [centreX, centreY, graph.node('Relu', [width]), graph.node('Relu', [height])].map(pick);
  const classScores = graph.node('Pad', [
    scores,
    graph.constant('int64', [0, 0, 0, 0, DETECTOR_CLASSES - colours, 0]),
    graph.constant('float32', [0], []),
  ]);
  const output = graph.node('Concat', [...boxes, classScores], { axis: { int: 1 } });
  graph.output(output, 'output0', 'float32', [batch, 4 + DETECTOR_CLASSES, cells.x.length]);
}

/** Per-cell constants in Ultralytics' anchor order: stride 8 row-major, then 16, then 32. */
function cellConstants() {
  const x: number[] = [];
  const y: number[] = [];
  const reach: number[] = [];
  const fit: number[] = [];
  const windowArea: number[] = [];
  for (const { stride, window } of levels) {
    const grid = DETECTOR_SIZE / stride;
    for (let row = 0; row < grid; row += 1) {
      for (let col = 0; col < grid; col += 1) {
        x.push(col * stride + stride / 2);
        y.push(row * stride + stride / 2);
        // A centre on the border between two cells counts for both; NMS keeps one.
        reach.push(stride / 2 + 1);
        // A box whose centre is in the cell is whole only if it is this much smaller than the window.
        fit.push(window - stride - 2);
        windowArea.push(window * window);
      }
    }
  }
  return { x, y, reach, fit, windowArea };
}
