export { formatBytes } from './format-bytes.js';
export { labelColour } from './label-colour.js';
