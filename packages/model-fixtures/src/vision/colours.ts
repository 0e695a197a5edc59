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

/** Conv weights [C, 3, 1, 1] and bias [C] computing sigmoid(sharpness · (raw − 0.5)). */
export function colourConv(
  colours: readonly Colour[],
  sharpness: number,
): { weights: number[]; bias: number[] } {
  return {
    weights: colours.flatMap((colour) => colour.weights.map((w) => w * sharpness)),
    bias: colours.map((colour) => sharpness * (colour.bias - 0.5)),
  };
}
