// bench/load: short generations from N concurrent clients through HTTP → gateway → gRPC →
// worker (each a process, as `npm start` runs them) for a fixed time, at 8 and 64 clients. The
// target is no 5xx at all: a full server answers 429 or 503, each with Retry-After. Prints the
// status histogram and the requests/s of each level against the same level's direct gRPC
// calls to the worker (the peer: the same work without HTTP and the gateway).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { credentials, Metadata } from '@grpc/grpc-js';
import { writeLlamaFolder } from '@vmm/model-fixtures';
import { type GenerateChunk, InferenceClient } from '@vmm/proto';
import { appMain, removeRedisPrefix, startProcess, startWorkerProcess } from '@vmm/test-support';
import { ratio } from './stats.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    levels: { type: 'string', default: '8,64' },
    tokens: { type: 'string', default: '4' },
    stream: { type: 'boolean', default: false },
    'tags-clients': { type: 'string', default: '256' },
  },
});
const seconds = Number(values.seconds);
const levels = values.levels.split(',').map(Number);
const tokens = Number(values.tokens);

const prefix = `vmm-bench-load-${process.pid}`;
const modelsDir = mkdtempSync(join(tmpdir(), 'vmm-bench-load-'));
writeLlamaFolder(join(modelsDir, 'tiny-llama'));
const worker = await startWorkerProcess(modelsDir, { VMM_THREADS: '1', LOG_LEVEL: 'error' });
const gateway = await startProcess(
  appMain.gateway,
  {
    VMM_WORKERS: `cpu=127.0.0.1:${worker.port}`,
    VMM_HTTP_HOST: '127.0.0.1',
    VMM_HTTP_PORT: '0',
    // Keys of its own in Redis, removed at the end.
    VMM_BATCH_PREFIX: prefix,
    LOG_LEVEL: 'error',
  },
  /listening on http:\/\/[^:]+:(\d+)/,
);
const url = `http://127.0.0.1:${gateway.match[1]}`;
const body = JSON.stringify({
  model: 'tiny-llama',
  prompt: 'Hello',
  stream: values.stream,
  options: { num_predict: tokens, temperature: 0 },
});

interface LevelResult {
  statuses: Map<string, number>;
  missingRetryAfter: number;
  requests: number;
  /** Requests answered in full (200, or a gRPC stream that ended OK): the only throughput. */
  served: number;
}

/** N clients each sending one request after another until the time is up. */
async function closedLoop(clients: number, one: () => Promise<string>): Promise<LevelResult> {
  const statuses = new Map<string, number>();
  const result: LevelResult = { statuses, missingRetryAfter: 0, requests: 0, served: 0 };
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const status = await one().catch((error: Error) => `error ${error.message}`);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 'missing retry-after') result.missingRetryAfter += 1;
        result.requests += 1;
        if (status === '200' || status === 'grpc ok') result.served += 1;
      }
    }),
  );
  return result;
}

async function viaGateway(): Promise<string> {
  const response = await fetch(`${url}/api/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  await response.arrayBuffer();
  if ((response.status === 429 || response.status === 503) && !response.headers.get('retry-after'))
    return 'missing retry-after';
  return String(response.status);
}

const client = new InferenceClient(`127.0.0.1:${worker.port}`, credentials.createInsecure());
function direct(): Promise<string> {
  return new Promise((resolve) => {
    const call = client.generate(
      {
        model: 'tiny-llama',
        prompt: 'Hello',
        raw: false,
        images: [],
        options: { stop: [], maxTokens: tokens, temperature: 0 },
        context: undefined,
      },
      new Metadata(),
    );
    call.on('data', (_chunk: GenerateChunk) => undefined);
    call.on('error', (error: { code?: number }) => resolve(`grpc ${error.code}`));
    call.on('end', () => resolve('grpc ok'));
  });
}

console.log(
  `bench/load seconds=${seconds} levels=${levels.join(',')} tokens=${tokens} stream=${values.stream}`,
);
let fiveHundreds = 0;
try {
  for (const clients of levels) {
    const peer = await closedLoop(clients, direct);
    const ours = await closedLoop(clients, viaGateway);
    const histogram = [...ours.statuses.entries()].sort().map(([status, count]) => `${status}: ${count}`);
    const peerHistogram = [...peer.statuses.entries()].sort().map(([status, count]) => `${status}: ${count}`);
    const bad = [...ours.statuses.entries()]
      .filter(([status]) => !/^(200|429|503)$/.test(status))
      .reduce((sum, [, count]) => sum + count, 0);
    fiveHundreds += bad;
    console.log(
      `clients=${clients} gateway ${(ours.served / seconds).toFixed(1)} answered/s [${histogram.join(', ')}]` +
        ` · direct gRPC ${(peer.served / seconds).toFixed(1)} answered/s [${peerHistogram.join(', ')}]` +
        ` · ratio ${ratio(ours.served, peer.served)} (answered only; 429/503 are shed load, not results)` +
        ` · not 200/429/503 or without Retry-After: ${bad}`,
    );
  }
  // Cheap reads under many connections: /api/tags answers from the pool's last poll.
  const latencies: number[] = [];
  const tagsClients = Number(values['tags-clients']);
  const tags = await closedLoop(tagsClients, async () => {
    const started = performance.now();
    const response = await fetch(`${url}/api/tags`);
    await response.arrayBuffer();
    latencies.push(performance.now() - started);
    if (response.status === 503 && !response.headers.get('retry-after')) return 'missing retry-after';
    return String(response.status);
  });
  latencies.sort((a, b) => a - b);
  const at = (q: number) => (latencies[Math.floor(q * (latencies.length - 1))] ?? Number.NaN).toFixed(1);
  const tagsHistogram = [...tags.statuses.entries()].sort().map(([status, count]) => `${status}: ${count}`);
  fiveHundreds += [...tags.statuses.entries()]
    .filter(([status]) => !/^(200|503)$/.test(status))
    .reduce((sum, [, count]) => sum + count, 0);
  console.log(
    `GET /api/tags clients=${tagsClients} ${(tags.served / seconds).toFixed(0)} answered/s [${tagsHistogram.join(', ')}] p50 ${at(0.5)} ms p99 ${at(0.99)} ms`,
  );
} finally {
  client.close();
  await gateway.stop();
  await worker.stop();
  rmSync(modelsDir, { recursive: true, force: true });
  await removeRedisPrefix(prefix).catch(() => undefined);
}
console.log(
  fiveHundreds === 0 ? 'PASS: no 5xx, every 429/503 had Retry-After' : `FAIL: ${fiveHundreds} bad answers`,
);
process.exitCode = fiveHundreds === 0 ? 0 : 1;
