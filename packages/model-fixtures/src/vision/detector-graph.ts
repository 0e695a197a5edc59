import type { GraphBuilder } from '../onnx/graph-builder.js';
import { addTolerantColourMasks, detectorColours } from './colours.js';

export const DETECTOR_SIZE = 640;
export const DETECTOR_CLASSES = 80;
/**
 * YOLOv8's three heads (stride; 80², 40², 20² cells, 8400 anchors in all), and the sides of the
 * square windows (pixels) each cell looks through. The coarsest head looks through three, so
 * that a square as large as the whole input is still seen whole.
 */
const levels = [
  { stride: 8, windows: [64] },
  { stride: 16, windows: [128] },
  { stride: 32, windows: [256, 448, 768] },
] as const;
const BLOCK = 4;

/**
 * A detector in the Ultralytics YOLOv8 output layout, built from conv and pooling ops so it
 * really finds solid squares of the colours in `detectorColours`:
 *
 * 1. One near-binary mask per colour (`addTolerantColourMasks`: off-pure colours and JPEG edges
 *    count).
 * 2. Masked pixel coordinates are max-pooled (first 4×4 blocks, then separable windows
 *    centred on each cell): the window's max x, min x, max y, min y of a colour are exactly the
 *    edges of the square it contains.
 * 3. A cell scores high for a colour when the box found has size, its centre lies in the cell,
 *    it fits the window (not cut off), and the colour fills it (not two squares merged). Where a
 *    cell has several windows, each colour keeps the best-scoring window's box.
 * 4. Each cell answers with its best colour's box, and only that colour scores.
 *
 * What it cannot do: two squares of one colour closer than about their size apart share a
 * window and merge, and neither is found (`sameColourGap` says how far is enough).
 *
 * Output `output0` [batch, 84, 8400]: cx, cy, w, h in input pixels, then 80 class scores.
 */
export function addDetector(
  graph: GraphBuilder,
  batch: number | 'batch',
  io: 'float32' | 'float16' = 'float32',
): void {
  const parts = addDetectorParts(graph, batch, io);
  const joined = graph.node('Concat', [...parts.boxes, parts.classScores], { axis: { int: 1 } });
  writeOutput(graph, joined, 'output0', io, [batch, 4 + DETECTOR_CLASSES, parts.anchors]);
}

/** What the demo detector's graph computes on the way to its output, for the heads built on it. */
export interface DetectorParts {
  /** Near-binary masks of the colours, [batch, colours, 640, 640]. */
  masks: string;
  /** cx, cy, w, h of each cell's box (input pixels), each [batch, 1, anchors]. */
  boxes: string[];
  /** The 80 class scores of each cell (only its best colour's non-zero), [batch, 80, anchors]. */
  classScores: string;
  /** 1 at each cell's best colour, 0 elsewhere, [batch, colours, anchors]. */
  chosen: string;
  anchors: number;
}

/** A float32 result written as the graph's output in the export's type (float16 for `half`). */
export function writeOutput(
  graph: GraphBuilder,
  value: string,
  name: string,
  io: 'float32' | 'float16',
  dims: (number | string)[],
): void {
  const output = io === 'float16' ? graph.node('Cast', [value], { to: { int: 10 } }) : value;
  graph.output(output, name, io, dims);
}

/** The demo detector up to its output (see addDetector). */
export function addDetectorParts(
  graph: GraphBuilder,
  batch: number | 'batch',
  io: 'float32' | 'float16' = 'float32',
): DetectorParts {
  const size = DETECTOR_SIZE;
  const colours = detectorColours.length;
  // A half (`half=True`) export takes and returns float16; the squares are found in float32.
  const input = graph.input('images', io, [batch, 3, size, size]);
  const images = io === 'float16' ? graph.node('Cast', [input], { to: { int: 1 } }) : input;

  const masks = addTolerantColourMasks(graph, images, detectorColours);
  const index = Array.from({ length: size }, (_, i) => i);
  const along = (values: number[], axis: 'x' | 'y') =>
    graph.constant('float32', values, axis === 'x' ? [1, 1, 1, size] : [1, 1, size, 1]);
  // Channels: [x2 | size - x1 | y2 | size - y1] × colours, so that every edge is a max. Each
  // coordinate is pooled to 4×4 blocks before the concat, which keeps full-resolution
  // intermediates (and the memory traffic of a batch) to one colour set at a time.
  const blockKernel = { kernel_shape: { ints: [BLOCK, BLOCK] }, strides: { ints: [BLOCK, BLOCK] } };
  const edgeBlocks = graph.node(
    'Concat',
    [
      along(
        index.map((i) => i + 1),
        'x',
      ),
      along(
        index.map((i) => size - i),
        'x',
      ),
      along(
        index.map((i) => i + 1),
        'y',
      ),
      along(
        index.map((i) => size - i),
        'y',
      ),
    ].map((coordinate) => graph.node('MaxPool', [graph.node('Mul', [masks, coordinate])], blockKernel)),
    { axis: { int: 1 } },
  );
  const massBlocks = graph.node('AveragePool', [masks], blockKernel);
  const scalar = (value: number) => graph.constant('float32', [value], []);
  const sigmoidOf = (slope: number, x: string) =>
    graph.node('Sigmoid', [graph.node('Mul', [x, scalar(slope)])]);

  // Each head pools from chunks of blocks half its stride wide (1, 2, 4 blocks): its cell
  // centres fall on odd chunk positions (2i + 1) and its windows on chunk edges, so a window of k
  // blocks costs k / chunk comparisons per output instead of k. Max of maxes and mean of equal
  // means are the same numbers.
  const chunked = new Map<number, { edges: string; mass: string }>();
  const chunksOf = (chunk: number) => {
    let pooled = chunked.get(chunk);
    if (!pooled) {
      const kernel = { kernel_shape: { ints: [chunk, chunk] }, strides: { ints: [chunk, chunk] } };
      pooled =
        chunk === 1
          ? { edges: edgeBlocks, mass: massBlocks }
          : {
              edges: graph.node('MaxPool', [edgeBlocks], kernel),
              mass: graph.node('AveragePool', [massBlocks], kernel),
            };
      chunked.set(chunk, pooled);
    }
    return pooled;
  };

  /** One window size over one head's cells: [score, cx, cy, w, h], each [batch, colours, cells]. */
  const lookThrough = (stride: number, window: number): string[] => {
    const chunk = stride / (2 * BLOCK);
    const k = window / (BLOCK * chunk);
    // Window i covers chunks [2i + 1 - k/2, 2i + 1 + k/2): centred on the cell centre stride·i + stride/2.
    const pad = k / 2 - 1;
    const pool = (op: string, x: string, extra: Record<string, { int: number }> = {}) =>
      graph.node(
        op,
        [
          graph.node(op, [x], {
            kernel_shape: { ints: [1, k] },
            strides: { ints: [1, 2] },
            pads: { ints: [0, pad, 0, pad] },
            ...extra,
          }),
        ],
        {
          kernel_shape: { ints: [k, 1] },
          strides: { ints: [2, 1] },
          pads: { ints: [pad, 0, pad, 0] },
          ...extra,
        },
      );
    const { edges: edgeChunks, mass: massChunks } = chunksOf(chunk);
    const edges = graph.node('Reshape', [
      pool('MaxPool', edgeChunks),
      graph.constant('int64', [0, 4, colours, -1]),
    ]);
    const massMean = graph.node('Reshape', [
      pool('AveragePool', massChunks, { count_include_pad: { int: 1 } }),
      graph.constant('int64', [0, colours, -1]),
    ]);
    const [x2, x1FromEnd, y2, y1FromEnd] = graph
      .nodeN('Split', [edges, graph.constant('int64', [1, 1, 1, 1])], 4, { axis: { int: 1 } })
      .map((part) => graph.node('Squeeze', [part, graph.constant('int64', [1])])) as [
      string,
      string,
      string,
      string,
    ];
    const x1 = graph.node('Sub', [scalar(size), x1FromEnd]);
    const y1 = graph.node('Sub', [scalar(size), y1FromEnd]);
    const width = graph.node('Sub', [x2, x1]);
    const height = graph.node('Sub', [y2, y1]);
    const centreX = graph.node('Mul', [graph.node('Add', [x1, x2]), scalar(0.5)]);
    const centreY = graph.node('Mul', [graph.node('Add', [y1, y2]), scalar(0.5)]);

    const cells = cellCentres(stride);
    const presence = sigmoidOf(4, graph.node('Sub', [graph.node('Min', [width, height]), scalar(2)]));
    // A centre on the border between two cells counts for both; NMS keeps one.
    const inCell = (centre: string, cell: number[]) =>
      sigmoidOf(
        4,
        graph.node('Sub', [
          scalar(stride / 2 + 1),
          graph.node('Abs', [graph.node('Sub', [centre, graph.constant('float32', cell)])]),
        ]),
      );
    // A box whose centre is in the cell is whole only if it is this much smaller than the window.
    const fits = sigmoidOf(
      1,
      graph.node('Sub', [scalar(window - stride - 2), graph.node('Max', [width, height])]),
    );
    const area = graph.node('Max', [graph.node('Mul', [width, height]), scalar(1)]);
    const filled = graph.node('Div', [graph.node('Mul', [massMean, scalar(window * window)]), area]);
    const fillsBox = sigmoidOf(20, graph.node('Sub', [filled, scalar(0.75)]));
    const score = [inCell(centreX, cells.x), inCell(centreY, cells.y), fits, fillsBox].reduce(
      (product, factor) => graph.node('Mul', [product, factor]),
      presence,
    );
    return [score, centreX, centreY, graph.node('Relu', [width]), graph.node('Relu', [height])];
  };

  const perLevel = levels.map(({ stride, windows }) =>
    windows
      .map((window) => lookThrough(stride, window))
      .reduce((best, next) => {
        // Per colour and cell, the better window's score and box.
        const better = graph.node('Greater', [next[0]!, best[0]!]);
        return best.map((value, i) => graph.node('Where', [better, next[i]!, value]));
      }),
  );
  const [scores, ...box] = [0, 1, 2, 3, 4].map((i) =>
    graph.node(
      'Concat',
      perLevel.map((values) => values[i]!),
      { axis: { int: -1 } },
    ),
  ) as [string, string, string, string, string];

  // One box per cell, as YOLOv8 has: the best-scoring colour's, taken whole. (A softmax blend
  // of the colours' boxes would average two squares whose centres share a big cell into a box
  // around neither.) The other colours' scores are zeroed so that the box and class agree.
  const best = graph.node('ArgMax', [scores], { axis: { int: 1 }, keepdims: { int: 1 } });
  const chosen = graph.node(
    'Cast',
    [
      graph.node('Equal', [
        graph.constant(
          'int64',
          Array.from({ length: colours }, (_, i) => i),
          [1, colours, 1],
        ),
        best,
      ]),
    ],
    { to: { int: 1 } },
  );
  const boxes = box.map((value) => graph.node('GatherElements', [value, best], { axis: { int: 1 } }));
  const classScores = graph.node('Pad', [
    graph.node('Mul', [scores, chosen]),
    graph.constant('int64', [0, 0, 0, 0, DETECTOR_CLASSES - colours, 0]),
    scalar(0),
  ]);
  const anchors = levels.reduce((sum, { stride }) => sum + (size / stride) ** 2, 0);
  return { masks, boxes, classScores, chosen, anchors };
}

/** Cell centres of one head in Ultralytics' anchor order (row-major). */
function cellCentres(stride: number) {
  const x: number[] = [];
  const y: number[] = [];
  const grid = DETECTOR_SIZE / stride;
  for (let row = 0; row < grid; row += 1) {
    for (let col = 0; col < grid; col += 1) {
      x.push(col * stride + stride / 2);
      y.push(row * stride + stride / 2);
    }
  }
  return { x, y };
}
