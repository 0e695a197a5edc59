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

/**
 * The detector's masks: tolerant of colours off the pure ones and of JPEG's blurred edges, where
 * the linear test of `addColourMasks` is not (RGB 210,40,40 scores half-on and a square falls
 * apart into fragments). A pixel is a colour when every channel the colour has on is bright
 * (≥ `on`, white stricter so that light grey is not white) and clearly brighter than every
 * channel it has off (by `apart`): sigmoid(sharpness · min(on-margin, apart-margin)).
 */
export function addTolerantColourMasks(
  graph: GraphBuilder,
  rgb: string,
  colours: readonly Colour[],
  sharpness = 50,
): string {
  const channels = (colour: Colour, on: boolean) =>
    colour.rgb.flatMap((value, channel) => ((value === 255) === on ? [channel] : []));
  // One [B, 1, H, W] plane per channel, and each min/max of planes built once: the colours share
  // them, and elementwise Min/Max avoid the copies a Gather + Reduce per colour would make.
  const planes = graph.nodeN('Split', [rgb, graph.constant('int64', [1, 1, 1])], 3, { axis: { int: 1 } });
  const combined = new Map<string, string>();
  const combine = (indices: number[], op: 'Min' | 'Max') => {
    const key = `${op}${indices.join()}`;
    let value = combined.get(key);
    if (value === undefined) {
      value =
        indices.length === 1
          ? planes[indices[0]!]!
          : graph.node(
              op,
              indices.map((i) => planes[i]!),
            );
      combined.set(key, value);
    }
    return value;
  };
  const masks = colours.map((colour) => {
    const high = channels(colour, true);
    const low = channels(colour, false);
    const dimmest = combine(high, 'Min');
    const onMargin = graph.node('Sub', [
      dimmest,
      graph.constant('float32', [low.length === 0 ? 0.6 : 0.55], []),
    ]);
    if (low.length === 0) return onMargin;
    const apart = graph.node('Sub', [
      graph.node('Sub', [dimmest, combine(low, 'Max')]),
      graph.constant('float32', [0.4], []),
    ]);
    return graph.node('Min', [onMargin, apart]);
  });
  return graph.node('Sigmoid', [
    graph.node('Mul', [
      graph.node('Concat', masks, { axis: { int: 1 } }),
      graph.constant('float32', [sharpness], []),
    ]),
  ]);
}
