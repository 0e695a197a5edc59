// The dashboard's `vmm bench`: closed-loop levels of concurrency against this server's
// /api/generate, timed as vLLM's benchmark_serving times them (TTFT, end to end, output tok/s).
import { streamJson } from './api.js';

export interface LevelResult {
  concurrency: number;
  requests: number;
  failed: number;
  outputTokensPerSecond: number;
  requestsPerSecond: number;
  ttftP50Ms: number | undefined;
  ttftP99Ms: number | undefined;
  e2eP50Ms: number | undefined;
}

/** The q-quantile (0–1) of values, linearly interpolated; undefined for none. */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return (sorted[low] as number) + ((sorted[high] as number) - (sorted[low] as number)) * (position - low);
}

export interface SweepOptions {
  model: string;
  levels: number[];
  requestsPerLevel: number;
  maxTokens: number;
  signal: AbortSignal;
  onLevel: (result: LevelResult) => void;
}

export async function runSweep(options: SweepOptions): Promise<void> {
  for (const concurrency of options.levels) {
    const ttft: number[] = [];
    const e2e: number[] = [];
    let tokens = 0;
    let failed = 0;
    let next = 0;
    const started = performance.now();
    const client = async () => {
      while (next < options.requestsPerLevel && !options.signal.aborted) {
        const index = next;
        next += 1;
        const sent = performance.now();
        let first: number | undefined;
        try {
          for await (const event of streamJson(
            '/api/generate',
            {
              model: options.model,
              prompt: `Request ${index}: tell me about the weather, the sea and the hills.`,
              raw: true,
              options: { num_predict: options.maxTokens, temperature: 0 },
            },
            options.signal,
          )) {
            if (first === undefined && typeof event.response === 'string' && event.response !== '')
              first = performance.now() - sent;
            if (event.done === true && typeof event.eval_count === 'number') tokens += event.eval_count;
          }
          if (first !== undefined) ttft.push(first);
          e2e.push(performance.now() - sent);
        } catch {
          if (options.signal.aborted) return;
          failed += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, client));
    if (options.signal.aborted) return;
    const seconds = (performance.now() - started) / 1000;
    options.onLevel({
      concurrency,
      requests: options.requestsPerLevel,
      failed,
      outputTokensPerSecond: tokens / seconds,
      requestsPerSecond: (options.requestsPerLevel - failed) / seconds,
      ttftP50Ms: quantile(ttft, 0.5),
      ttftP99Ms: quantile(ttft, 0.99),
      e2eP50Ms: quantile(e2e, 0.5),
    });
  }
}
