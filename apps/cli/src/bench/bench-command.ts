import { readFileSync, writeFileSync } from 'node:fs';
import { parseDuration } from '@vmm/duration';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError, ExitCode } from '../cli-error.js';
import { normaliseHost } from '../config.js';
import type { CliContext } from '../cli-context.js';
import {
  type BenchApi,
  type BenchTask,
  isVision,
  type RequestSample,
  requestSender,
  type Target,
} from './api-client.js';
import { type BenchResult, parseBenchResult } from './bench-result.js';
import { runLevel } from './load-generator.js';
import { renderChart } from './report-chart.js';
import { renderTable } from './report-table.js';
import { type LevelResult, summariseLevel } from './summarise.js';

interface BenchFlags {
  model: string;
  api: BenchApi;
  task: BenchTask;
  image?: string;
  host?: string;
  concurrency: number[];
  promptTokens: number[];
  maxTokens: number;
  requests?: number;
  duration?: number;
  rate?: number;
  warmup: number;
  timeout: number;
  label?: string;
  json?: string | boolean;
  chart?: string;
  compare: string[];
  seed: number;
  progress: boolean;
}

const LIMIT = 100_000;

function integer(min: number, max: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < min || number > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return number;
  };
}

function integerList(min: number, max: number) {
  const one = integer(min, max);
  return (value: string): number[] => {
    const items = value.split(',').map((item) => item.trim());
    if (items.some((item) => item === ''))
      throw new InvalidArgumentError('expected a comma-separated list such as 1,4,8');
    return [...new Set(items.map(one))];
  };
}

function duration(value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    throw new InvalidArgumentError('expected a duration such as 30s or 2m');
  }
  if (!(ms > 0)) throw new InvalidArgumentError('expected a duration above zero');
  return ms;
}

function positive(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('expected a number above zero');
  return number;
}

/** `vmm bench`: a load generator for any server's HTTP API (VMM, Ollama, OpenAI-compatible). */
export function benchCommand(context: CliContext): Command {
  return new Command('bench')
    .description(
      'Load-test a running server over HTTP: TTFT, inter-token latency and end-to-end latency (p50/p90/p99), ' +
        'output tokens/s and requests/s per concurrency level; images/s and latency for vision models.',
    )
    .requiredOption('-m, --model <name>', 'the model to send requests to')
    .addOption(new Option('--api <api>', 'the API to speak').choices(['ollama', 'openai']).default('ollama'))
    .addOption(
      new Option('--task <task>', 'what each request asks for')
        .choices(['generate', 'chat', 'detect', 'classify'])
        .default('generate'),
    )
    .option('--image <file>', 'the image vision tasks send (detect, classify)')
    .option('--host <url>', 'the server (default: VMM_HOST, else http://127.0.0.1:8080)')
    .addOption(
      new Option('-c, --concurrency <list>', 'concurrency levels, comma-separated')
        .argParser(integerList(1, 1024))
        .default([1, 4, 8, 16], '1,4,8,16'),
    )
    .addOption(
      new Option('--prompt-tokens <list>', 'prompt lengths in words (about one token each), comma-separated')
        .argParser(integerList(1, LIMIT))
        .default([32], '32'),
    )
    .option('--max-tokens <n>', 'tokens to generate per request', integer(1, LIMIT), 64)
    .option(
      '-n, --requests <n>',
      'requests per level (default: 4 × concurrency, at least 8)',
      integer(1, 10_000_000),
    )
    .option('-d, --duration <time>', 'time per level instead of a request count, e.g. 30s', duration)
    .option(
      '--rate <per-second>',
      'open loop: Poisson arrivals at this rate, at most --concurrency in flight',
      positive,
    )
    .option(
      '--warmup <n>',
      'unmeasured requests before the first level (the first also checks server and model)',
      integer(1, 1000),
      1,
    )
    .addOption(
      new Option('--timeout <time>', 'give up on one request after this long')
        .argParser(duration)
        .default(120_000, '120s'),
    )
    .option('--label <name>', 'the series name in the table and chart (default: the host)')
    .option('--json [file]', 'write the results as JSON to a file, or to stdout instead of the table')
    .option('--chart <file.svg>', 'draw tok/s and p99 TTFT against concurrency as an SVG chart')
    .addOption(
      new Option(
        '--compare <files...>',
        'add earlier --json results to the chart as lines of their own',
      ).default([], 'none'),
    )
    .option('--seed <n>', 'seeds the open-loop arrival schedule', integer(0, 2 ** 31), 0)
    .option('--no-progress', 'no progress bars')
    .action(async (flags: BenchFlags) => runBench(context, flags));
}

function check(flags: BenchFlags): void {
  if (flags.requests !== undefined && flags.duration !== undefined) {
    throw new CliError(ExitCode.Usage, 'give --requests or --duration, not both');
  }
  if (isVision(flags.task) && !flags.image)
    throw new CliError(ExitCode.Usage, `--task ${flags.task} needs --image <file>`);
  if (flags.compare.length > 0 && flags.chart === undefined) {
    throw new CliError(ExitCode.Usage, '--compare adds lines to a chart: give --chart <file.svg> too');
  }
}

function readOrFail(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new CliError(
      ExitCode.Usage,
      `cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}

async function runBench(context: CliContext, flags: BenchFlags): Promise<void> {
  check(flags);
  let host: string;
  try {
    host = flags.host ? normaliseHost(flags.host) : context.config.host;
  } catch (error) {
    throw new CliError(ExitCode.Usage, `--host: ${(error as Error).message}`);
  }
  const compared = flags.compare.map((path) => {
    try {
      return parseBenchResult(readOrFail(path, 'result').toString('utf8'), path);
    } catch (error) {
      throw error instanceof CliError ? error : new CliError(ExitCode.Usage, (error as Error).message);
    }
  });
  const target: Target = {
    host,
    apiKey: context.config.apiKey,
    api: flags.api,
    task: flags.task,
    model: flags.model,
    maxTokens: flags.maxTokens,
    timeoutMs: flags.timeout,
    ...(flags.image ? { image: readOrFail(flags.image, 'image') } : {}),
  };
  const send = requestSender(target, context.fetch);

  // The warm-up request also tells a wrong address or model apart from a slow server.
  for (let i = 0; i < flags.warmup; i += 1) {
    const sample = await send('Hello, how are you today?', 0);
    if (!sample.ok) {
      throw sample.status === 0
        ? new CliError(ExitCode.Usage, sample.error ?? `cannot reach ${host}`)
        : new CliError(ExitCode.ServerRefused, `the server said ${sample.error ?? sample.status}`);
    }
  }

  const levels: LevelResult[] = [];
  const promptLengths = isVision(flags.task) ? [0] : flags.promptTokens;
  const bars =
    flags.progress && context.stderrIsTty
      ? new cliProgress.MultiBar(
          {
            stream: context.stderr,
            format: ' {level} [{bar}] {value}/{total} {unit} | {failed} failed',
            hideCursor: true,
            clearOnComplete: false,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  let firstIndex = 0;
  try {
    for (const promptWords of promptLengths) {
      for (const concurrency of flags.concurrency) {
        const requests =
          flags.duration === undefined ? (flags.requests ?? Math.max(8, 4 * concurrency)) : undefined;
        const label = `c=${String(concurrency).padEnd(4)}${promptWords > 0 ? ` prompt=${promptWords}` : ''}`;
        const started = performance.now();
        const bar = bars?.create(requests ?? Math.round((flags.duration ?? 0) / 1000), 0, {
          level: label,
          unit: requests === undefined ? 's' : 'requests',
          failed: 0,
        });
        let done = 0;
        let failed = 0;
        const onSample = (sample: RequestSample) => {
          done += 1;
          if (!sample.ok) failed += 1;
          bar?.update(
            requests === undefined
              ? Math.min(Math.round((performance.now() - started) / 1000), bar.getTotal())
              : done,
            { failed },
          );
        };
        const plan = {
          concurrency,
          promptWords,
          ...(requests !== undefined ? { requests } : {}),
          ...(flags.duration !== undefined ? { durationMs: flags.duration } : {}),
          ...(flags.rate !== undefined ? { rate: flags.rate } : {}),
          seed: flags.seed,
          firstIndex,
        };
        const run = await runLevel(plan, send, onSample);
        firstIndex += run.samples.length;
        bar?.update(bar.getTotal(), { failed });
        levels.push(summariseLevel(plan, run));
      }
    }
  } finally {
    bars?.stop();
  }

  const result: BenchResult = {
    vmmBench: 1,
    label: flags.label ?? host,
    host,
    api: flags.api,
    task: flags.task,
    model: flags.model,
    maxTokens: flags.maxTokens,
    startedAt: context.startedAt.toISOString(),
    levels,
  };
  const json = `${JSON.stringify(result, null, 2)}\n`;
  if (flags.json === true) context.stdout.write(json);
  else context.stdout.write(`${renderTable(result)}\n`);
  if (typeof flags.json === 'string') writeOrFail(flags.json, json);
  if (flags.chart) writeOrFail(flags.chart, await renderChart([...compared, result]));
}

function writeOrFail(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw new CliError(
      ExitCode.Usage,
      `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}
