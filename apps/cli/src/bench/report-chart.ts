// The SVG chart of one or more runs: throughput and p99 latency against concurrency, one line
// per series. Drawn with Vega-Lite (compiled to Vega, rendered headless to SVG): no browser,
// no canvas.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { isVision } from './api-client.js';
import type { BenchResult } from './bench-result.js';

export async function renderChart(results: readonly BenchResult[]): Promise<string> {
  const vision = results.every((result) => isVision(result.task));
  const manyPrompts = results.some(
    (result) => new Set(result.levels.map((level) => level.promptWords)).size > 1,
  );
  const values = results.flatMap((result) =>
    result.levels.map((level) => ({
      series: manyPrompts ? `${result.label}, ${level.promptWords}-word prompts` : result.label,
      concurrency: level.concurrency,
      throughput: vision ? level.requestsPerSecond : level.outputTokensPerSecond,
      p99: (vision ? level.e2eMs?.p99 : level.ttftMs?.p99) ?? null,
    })),
  );
  // Ticks at the levels measured (a log axis would label 1.5, 2.5…).
  const levels = [...new Set(values.map((value) => value.concurrency))].sort((a, b) => a - b);
  const panel = (field: string, title: string) => ({
    width: 320,
    height: 220,
    mark: { type: 'line' as const, point: true },
    encoding: {
      x: {
        field: 'concurrency',
        type: 'quantitative' as const,
        title: 'concurrency',
        scale: { type: 'log' as const, base: 2 },
        axis: { values: levels, format: 'd' },
      },
      y: { field, type: 'quantitative' as const, title },
      color: { field: 'series', type: 'nominal' as const, title: null, legend: { labelLimit: 400 } },
    },
  });
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `vmm bench: ${results
      .map((result) => result.model)
      .filter((m, i, all) => all.indexOf(m) === i)
      .join(', ')}`,
    background: 'white',
    data: { values },
    hconcat: [
      panel('throughput', vision ? 'images/s' : 'output tokens/s'),
      panel('p99', vision ? 'p99 latency (ms)' : 'p99 time to first token (ms)'),
    ],
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
