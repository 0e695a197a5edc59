import type { GraphBuilder } from '../onnx/graph-builder.js';
import { detectorColours } from './colours.js';
import { addDetectorParts, DETECTOR_CLASSES, DETECTOR_SIZE, writeOutput } from './detector-graph.js';

/** YOLOv8-seg's prototype masks: 32 of them, a quarter of the input's side. */
export const MASK_CHANNELS = 32;
const PROTO_STRIDE = 4;

/**
 * The demo detector with YOLOv8-seg's layout (`output0` [batch, 4 + 80 + 32, 8400], `output1`
 * [batch, 32, 160, 160]) whose masks are the squares it finds:
 *
 * - Prototype c is colour c's coverage of each 4×4 block, as a logit that is positive wherever
 *   the colour covers any of the block: 100 · coverage − 0.5 (a block with one pixel of the
 *   colour reads 5.75, an empty one −0.5). Sampled bilinearly at a pixel inside a square, the
 *   pixel's own block weighs at least 0.39, so the sum stays above 0 up to the square's edge
 *   and corners; the crop to the box does the rest. Prototypes past the colours are 0.
 * - A cell's mask coefficients are 1 for its best colour and 0 for the others.
 */
export function addSegmenter(
  graph: GraphBuilder,
  batch: number | 'batch',
  io: 'float32' | 'float16' = 'float32',
): void {
  const parts = addDetectorParts(graph, batch, io);
  const colours = detectorColours.length;
  const scalar = (value: number) => graph.constant('float32', [value], []);
  const coverage = graph.node('AveragePool', [parts.masks], {
    kernel_shape: { ints: [PROTO_STRIDE, PROTO_STRIDE] },
    strides: { ints: [PROTO_STRIDE, PROTO_STRIDE] },
  });
  const logits = graph.node('Sub', [graph.node('Mul', [coverage, scalar(100)]), scalar(0.5)]);
  const protos = graph.node('Pad', [
    logits,
    graph.constant('int64', [0, 0, 0, 0, 0, MASK_CHANNELS - colours, 0, 0]),
    scalar(0),
  ]);
  const coefficients = graph.node('Pad', [
    parts.chosen,
    graph.constant('int64', [0, 0, 0, 0, MASK_CHANNELS - colours, 0]),
    scalar(0),
  ]);
  const joined = graph.node('Concat', [...parts.boxes, parts.classScores, coefficients], {
    axis: { int: 1 },
  });
  writeOutput(graph, joined, 'output0', io, [batch, 4 + DETECTOR_CLASSES + MASK_CHANNELS, parts.anchors]);
  const side = DETECTOR_SIZE / PROTO_STRIDE;
  writeOutput(graph, protos, 'output1', io, [batch, MASK_CHANNELS, side, side]);
}
