import { describe, expect, it } from '@jest/globals';
import { parsePrometheusText, promtoolCheck, promtoolPath } from '@vmm/test-support';
import { Registry } from 'prom-client';
import { collectProcessMetrics } from './process-metrics.js';

describe('collectProcessMetrics', () => {
  it('exports the process and Node series with no gauge named like a counter', async () => {
    const registry = new Registry();
    collectProcessMetrics(registry);
    const text = await registry.metrics();
    const parsed = parsePrometheusText(text);
    expect(parsed.problems).toEqual([]);
    expect(parsed.types.get('process_cpu_seconds_total')).toBe('counter');
    expect(parsed.types.get('nodejs_active_handles')).toBe('gauge');
    expect(parsed.types.has('nodejs_active_handles_total')).toBe(false);
  });

  // The real promtool, where Debian's prometheus package is installed (.ci/run installs it).
  (promtoolPath() ? it : it.skip)('passes promtool check metrics', async () => {
    const registry = new Registry();
    collectProcessMetrics(registry);
    expect(await promtoolCheck(await registry.metrics())).toEqual({ ok: true, output: '' });
  });
});
