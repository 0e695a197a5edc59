export { parseDuration, parsePositiveDuration } from './duration.js';
