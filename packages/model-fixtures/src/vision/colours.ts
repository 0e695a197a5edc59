import type { GraphBuilder } from '../onnx/graph-builder.js';

/**
 * The colours the vision fixtures recognise, with the linear test that picks each out of RGB
 * in [0, 1]: raw = w·rgb + bias is 1 on the pure colour and ≤ 0 on every other colour here,
 * on dark backgrounds and on the letterbox grey (114).
 */
export interface Colour {
  name: string;
  rgb: [number, number, number];
  weights: [number, number, number];
  bias: number;
}

export const detectorColours: readonly Colour[] = [
  { name: 'red', rgb: [255, 0, 0], weights: [1, -1, -1], bias: 0 },
  { name: 'green', rgb: [0, 255, 0], weights: [-1, 1, -1], bias: 0 },
  { name: 'blue', rgb: [0, 0, 255], weights: [-1, -1, 1], bias: 0 },
  { name: 'yellow', rgb: [255, 255, 0], weights: [1, 1, -1], bias: -1 },
  { name: 'magenta', rgb: [255, 0, 255], weights: [1, -1, 1], bias: -1 },
  { name: 'cyan', rgb: [0, 255, 255], weights: [-1, 1, 1], bias: -1 },
  { name: 'white', rgb: [255, 255, 255], weights: [1, 1, 1], bias: -2 },
];

export const classifierColours: readonly Colour[] = [
  ...detectorColours,
  { name: 'black', rgb: [0, 0, 0], weights: [-1.5, -1.5, -1.5], bias: 1 },
];

/**
 * One near-binary mask per colour from RGB in [0, 1] ([B, 3, H, W] → [B, C, H, W]): a 1×1 conv
 * and sigmoid(sharpness · (raw − 0.5)), so the pure colour gives ≈1 and everything else ≈0.
 */
export function addColourMasks(
  graph: GraphBuilder,
  rgb: string,
  colours: readonly Colour[],
  sharpness = 20,
): string {
  const weights = colours.flatMap((colour) => colour.weights.map((w) => w * sharpness));
  const bias = colours.map((colour) => sharpness * (colour.bias - 0.5));
  return graph.node('Sigmoid', [
    graph.node('Conv', [
      rgb,
      graph.constant('float32', weights, [colours.length, 3, 1, 1]),
      graph.constant('float32', bias, [colours.length]),
    ]),
  ]);
}
