export { formatBytes } from './format-bytes.js';
export { labelColour, labelRgb } from './label-colour.js';
export { paintRle } from './rle-layer.js';
