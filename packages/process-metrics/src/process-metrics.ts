import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's totals of active handles, requests and resources are gauges with a `_total`
 * suffix, which Prometheus reserves for counters: `promtool check metrics` flags them. The
 * per-type gauges beside them carry the same information.
 */
const MISNAMED_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

/** Registers Node's process metrics in `registry`, every name promtool-clean. */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_GAUGES) registry.removeSingleMetric(name);
}
