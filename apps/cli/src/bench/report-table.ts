import { isVision, VISION_STAGES } from './api-client.js';
import type { BenchResult } from './bench-result.js';
import type { Distribution } from './percentiles.js';

const ms = (d: Distribution | undefined) =>
  d ? `${d.p50.toFixed(0)} / ${d.p90.toFixed(0)} / ${d.p99.toFixed(0)}` : '—';

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padStart(widths[i] ?? 0)).join('  ');
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

/** The run as a plain-text table: one row per level, latencies as p50 / p90 / p99 in ms. */
export function renderTable(result: BenchResult): string {
  const title = `${result.label}: ${result.task} on ${result.model} at ${result.host} (${result.api} API)`;
  const errors = result.levels.flatMap((level) =>
    Object.entries(level.errors).map(
      ([status, { count, message }]) =>
        `  concurrency ${level.concurrency}: ${count} × ${status === '0' ? 'no response' : `HTTP ${status}`} (${message})`,
    ),
  );
  const rate = (level: BenchResult['levels'][number]) =>
    level.rate === undefined ? 'closed' : `${level.rate}/s`;
  const body = isVision(result.task)
    ? table(
        [
          'concurrency',
          'arrivals',
          'requests',
          'failed',
          'images/s',
          'latency ms p50 / p90 / p99',
          'server ms p50: decode / preprocess / run / postprocess',
        ],
        result.levels.map((level) => [
          String(level.concurrency),
          rate(level),
          String(level.requests),
          String(level.failed),
          level.requestsPerSecond.toFixed(2),
          ms(level.e2eMs),
          level.stagesMs ? VISION_STAGES.map((stage) => level.stagesMs![stage].toFixed(1)).join(' / ') : '—',
        ]),
      )
    : table(
        [
          'concurrency',
          'arrivals',
          'prompt tok',
          'output tok',
          'requests',
          'failed',
          'req/s',
          'output tok/s',
          'TTFT ms p50 / p90 / p99',
          'ITL ms p50 / p90 / p99',
          'E2E ms p50 / p90 / p99',
        ],
        result.levels.map((level) => [
          String(level.concurrency),
          rate(level),
          level.promptTokens.toFixed(0),
          level.outputTokens.toFixed(0),
          String(level.requests),
          String(level.failed),
          level.requestsPerSecond.toFixed(2),
          level.outputTokensPerSecond.toFixed(1),
          ms(level.ttftMs),
          ms(level.itlMs),
          ms(level.e2eMs),
        ]),
      );
  return [title, body, ...(errors.length > 0 ? ['failures:', ...errors] : [])].join('\n');
}
