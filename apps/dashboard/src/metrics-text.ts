/**
 * Sums of metrics in Prometheus' text format (what `/metrics` serves), over every label set:
 * `sumMetric(text, 'vmm_tokens_generated_total')` is the tokens of all models together.
 */
export function sumMetric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    // The name must end here: `vmm_x` must not match `vmm_x_total`.
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const value = Number(rest.slice(rest.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

export interface LiveSample {
  /** ms since the epoch. */
  at: number;
  tokensPerSecond: number;
  /** Mean TTFT of the requests that got their first token since the last sample; undefined when none did. */
  ttftMs: number | undefined;
  queued: number;
  running: number;
}

export interface Counters {
  at: number;
  tokens: number;
  ttftSum: number;
  ttftCount: number;
  queued: number;
  running: number;
}

/** One point of the live charts from two readings of the counters. */
export function sampleBetween(before: Counters, now: Counters): LiveSample {
  const seconds = Math.max(0.001, (now.at - before.at) / 1000);
  // A counter that went down: the gateway restarted; count from zero.
  const delta = (a: number, b: number) => (b >= a ? b - a : b);
  const firsts = delta(before.ttftCount, now.ttftCount);
  return {
    at: now.at,
    tokensPerSecond: delta(before.tokens, now.tokens) / seconds,
    ttftMs: firsts > 0 ? (delta(before.ttftSum, now.ttftSum) / firsts) * 1000 : undefined,
    queued: now.queued,
    running: now.running,
  };
}
