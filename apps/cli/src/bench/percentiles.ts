import { mean, quantileSorted } from 'simple-statistics';

export interface Distribution {
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  count: number;
}

/** p50/p90/p99 and mean of `samples` (linear-interpolated quantiles); undefined when empty. */
export function distribution(samples: readonly number[]): Distribution | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: quantileSorted(sorted, 0.5),
    p90: quantileSorted(sorted, 0.9),
    p99: quantileSorted(sorted, 0.99),
    mean: mean(sorted),
    count: sorted.length,
  };
}
