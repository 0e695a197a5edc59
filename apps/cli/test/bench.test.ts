// `vmm bench` as a user runs it: the built command in its own process, against a real gateway
// and worker (processes, loopback), through both APIs, and its error paths with exit codes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drawSquares, writeDetectorFolder, writeLlamaFolder } from '@vmm/model-fixtures';
import { removeRedisPrefix } from '@vmm/test-support';
import sharp from 'sharp';
import {
  closedPort,
  expectUsageError,
  type Server,
  startServer,
  vmm as runVmm,
  words,
} from './cli-harness.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-cli-bench-'));
const prefix = `vmm-cli-bench-${process.pid}`;
let server: Server;
let url: string;

beforeAll(async () => {
  const models = join(root, 'models');
  writeLlamaFolder(join(models, 'tiny-llama'));
  writeDetectorFolder(join(models, 'yolov8n-squares'));
  const image = drawSquares(320, 240, [{ x: 40, y: 40, size: 80, rgb: [230, 20, 20] }]);
  await sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toFile(join(root, 'squares.png'));
  server = await startServer(models, prefix);
  url = server.url;
});

afterAll(async () => {
  await server?.stop();
  await removeRedisPrefix(prefix).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

/** `vmm …` against this file's server. */
const vmm = (args: string[], env: Record<string, string> = {}, timeoutMs = 60_000) =>
  runVmm(args, { VMM_HOST: url, ...env }, { timeoutMs });

interface Level {
  concurrency: number;
  requests: number;
  failed: number;
  rate?: number;
  requestsPerSecond: number;
  outputTokensPerSecond: number;
  promptTokens: number;
  outputTokens: number;
  ttftMs?: { p50: number; p90: number; p99: number; count: number };
  itlMs?: { p50: number; p99: number };
  e2eMs?: { p50: number; p99: number; count: number };
  stagesMs?: { decode: number; preprocess: number; inference: number; postprocess: number };
}

describe('vmm bench', () => {
  it('measures each concurrency level over the Ollama API and writes JSON and an SVG chart', async () => {
    const json = join(root, 'ollama.json');
    const chart = join(root, 'ollama.svg');
    const run = await vmm([
      ...words('bench --api ollama --model tiny-llama --concurrency 1,4,8 --requests 8 --max-tokens 8'),
      ...['--prompt-tokens', '24', '--json', json, '--chart', chart, '--label', 'vmm tiny'],
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/TTFT ms p50 \/ p90 \/ p99/);
    const result = JSON.parse(readFileSync(json, 'utf8')) as {
      vmmBench: number;
      label: string;
      api: string;
      levels: Level[];
    };
    expect(result).toMatchObject({ vmmBench: 1, label: 'vmm tiny', api: 'ollama' });
    expect(result.levels.map((level) => level.concurrency)).toEqual([1, 4, 8]);
    for (const level of result.levels) {
      expect(level).toMatchObject({ requests: 8, failed: 0 });
      // Counts come from the server: 24 words and a "Request N:" prefix, at least one token each.
      expect(level.promptTokens).toBeGreaterThanOrEqual(24);
      expect(level.outputTokens).toBeGreaterThan(0);
      expect(level.outputTokens).toBeLessThanOrEqual(8);
      expect(level.ttftMs?.count).toBe(8);
      expect(level.ttftMs?.p50).toBeGreaterThan(0);
      expect(level.ttftMs!.p50).toBeLessThanOrEqual(level.ttftMs!.p99);
      expect(level.e2eMs!.p50).toBeGreaterThanOrEqual(level.ttftMs!.p50);
      expect(level.outputTokensPerSecond).toBeGreaterThan(0);
      expect(level.requestsPerSecond).toBeGreaterThan(0);
    }
    const svg = readFileSync(chart, 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('output tokens/s');
    expect(svg).toContain('p99 time to first token (ms)');
    expect(svg).toContain('vmm tiny');
  });

  it('speaks the OpenAI API (streamed chat), prints JSON to stdout and charts a second series with --compare', async () => {
    const chart = join(root, 'both.svg');
    const run = await vmm([
      ...words('bench --api openai --task chat --model tiny-llama -c 1,2 -n 4 --max-tokens 6 --json'),
      ...['--label', 'openai route', '--chart', chart, '--compare', join(root, 'ollama.json')],
    ]);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { api: string; task: string; levels: Level[] };
    expect(result).toMatchObject({ api: 'openai', task: 'chat' });
    expect(result.levels.map((level) => [level.concurrency, level.requests, level.failed])).toEqual([
      [1, 4, 0],
      [2, 4, 0],
    ]);
    expect(result.levels[0]?.promptTokens).toBeGreaterThan(0);
    const svg = readFileSync(chart, 'utf8');
    expect(svg).toContain('openai route');
    expect(svg).toContain('vmm tiny');
  });

  it('sends an open-loop Poisson schedule with --rate and still bounds requests in flight', async () => {
    const run = await vmm(words('bench --model tiny-llama -c 2 -n 6 --max-tokens 4 --rate 40 --json'));
    expect(run.code).toBe(0);
    const [level] = (JSON.parse(run.stdout) as { levels: Level[] }).levels;
    expect(level).toMatchObject({ concurrency: 2, rate: 40, requests: 6, failed: 0 });
  });

  it('runs each level for --duration instead of a request count', async () => {
    const run = await vmm(words('bench --model tiny-llama -c 1,2 -d 1s --max-tokens 4 --json'));
    expect(run.code).toBe(0);
    const { levels } = JSON.parse(run.stdout) as { levels: (Level & { durationS: number })[] };
    expect(levels.map((level) => level.concurrency)).toEqual([1, 2]);
    for (const level of levels) {
      // No request starts after the second is up; the ones in flight then still finish.
      expect(level.durationS).toBeGreaterThanOrEqual(1);
      expect(level.requests).toBeGreaterThanOrEqual(level.concurrency);
      expect(level.failed).toBe(0);
    }
  });

  it('measures a detector: images/s and latency percentiles', async () => {
    const run = await vmm([
      ...words('bench --task detect --model yolov8n-squares -c 1,2 -n 4 --json'),
      ...['--image', join(root, 'squares.png')],
    ]);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { levels: Level[] };
    for (const level of result.levels) {
      expect(level).toMatchObject({ requests: 4, failed: 0 });
      expect(level.e2eMs?.count).toBe(4);
      expect(level.ttftMs).toBeUndefined();
      expect(level.requestsPerSecond).toBeGreaterThan(0);
      // The server's own stages, as its answers' timings give them: the run is most of the time.
      expect(level.stagesMs?.inference).toBeGreaterThan(0);
      expect(level.stagesMs?.preprocess).toBeGreaterThan(0);
      expect(level.stagesMs!.inference).toBeLessThan(level.e2eMs!.p50);
    }
    const table = await vmm([
      ...words('bench --task detect --model yolov8n-squares -c 1 -n 2'),
      ...['--image', join(root, 'squares.png')],
    ]);
    expect(table.stdout).toMatch(/decode \/ preprocess \/ run \/ postprocess/);
    expect(table.stdout).toMatch(/\d+\.\d \/ \d+\.\d \/ \d+\.\d \/ \d+\.\d/);
  });

  it.each([
    [['bench', '--model', 'tiny-llama', '--concurrency', '0'], /concurrency.*whole number from 1/],
    [['bench', '--model', 'tiny-llama', '--concurrency', '1,,4'], /comma-separated/],
    [['bench', '--model', 'tiny-llama', '--api', 'grpc'], /--api.*ollama, openai/],
    [['bench', '--concurrency', '1'], /required option.*--model/],
    [['bench', '--model', 'tiny-llama', '--bogus'], /unknown option '--bogus'/],
    [['bench', '--model', 'tiny-llama', '-n', '2', '-d', '1s'], /--requests or --duration, not both/],
    [['bench', '--model', 'tiny-llama', '--duration', 'soon'], /duration such as 30s/],
    [['bench', '--model', 'yolov8n-squares', '--task', 'detect'], /needs --image/],
    [['bench', '--model', 'tiny-llama', '--host', 'ftp://example'], /not an http\(s\) URL/],
    [['bench', '--model', 'tiny-llama', '--compare', 'a.json'], /give --chart/],
    [
      ['bench', '--model', 'tiny-llama', '--chart', 'c.svg', '--compare', 'missing.json'],
      /cannot read result missing.json: ENOENT/,
    ],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('refuses %j with one line and exit code 2', async (args, message) => {
    expectUsageError(await vmm(args), message);
  });

  it('says in one line, exit code 2, that no server answers', async () => {
    const port = await closedPort();
    const run = await vmm(['bench', '--model', 'tiny-llama', '-n', '1', '-c', '1'], {
      VMM_HOST: `127.0.0.1:${port}`,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`vmm: cannot reach http://127.0.0.1:${port}: connection refused\n`);
  });

  it('passes on what the server said, exit code 1, for an unknown model', async () => {
    const run = await vmm(['bench', '--model', 'no-such-model', '-n', '1', '-c', '1']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^vmm: the server said 404: .*no-such-model/);
  });

  it('prints its help and version', async () => {
    const help = await vmm(['bench', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: vmm bench \[options\]/);
    expect(help.stdout).toMatch(/--concurrency <list>/);
    const version = await vmm(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: '0.1.0\n' });
  });
});
