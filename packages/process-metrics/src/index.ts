export { collectProcessMetrics } from './process-metrics.js';
