import { describe, expect, it } from '@jest/globals';
import { sampleBetween, sumMetric } from './metrics-text.js';

const text = `# HELP vmm_tokens_generated_total Tokens generated
# TYPE vmm_tokens_generated_total counter
vmm_tokens_generated_total{model="tiny-llama"} 998
vmm_tokens_generated_total{model="tiny-llama:q4"} 2
vmm_tokens_generated_total_extra 5
vmm_time_to_first_token_seconds_sum{model="tiny-llama"} 0.5
vmm_time_to_first_token_seconds_count{model="tiny-llama"} 2
`;

describe('the metrics the live charts read', () => {
  it('sums a metric over its label sets, and only that metric', () => {
    expect(sumMetric(text, 'vmm_tokens_generated_total')).toBe(1000);
    expect(sumMetric(text, 'vmm_time_to_first_token_seconds_count')).toBe(2);
    expect(sumMetric(text, 'vmm_missing')).toBe(0);
  });

  it('turns two readings into tokens/s and the mean TTFT of the interval', () => {
    const before = { at: 0, tokens: 100, ttftSum: 0.5, ttftCount: 2, queued: 0, running: 0 };
    const now = { at: 2000, tokens: 300, ttftSum: 0.75, ttftCount: 4, queued: 3, running: 2 };
    expect(sampleBetween(before, now)).toEqual({
      at: 2000,
      tokensPerSecond: 100,
      ttftMs: 125,
      queued: 3,
      running: 2,
    });
    expect(sampleBetween(now, { ...now, at: 4000 }).ttftMs).toBeUndefined();
    // The gateway restarted: counters began again from zero.
    expect(sampleBetween(now, { ...now, at: 3000, tokens: 50 }).tokensPerSecond).toBe(50);
  });
});
