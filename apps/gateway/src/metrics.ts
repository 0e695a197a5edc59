import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Batching } from '@vmm/proto';
import type { WorkerPool } from '@vmm/worker-pool';

/** The gateway's Prometheus series, in a registry of its own (no module-level state). */
export interface Metrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  latency: Histogram<'route' | 'method'>;
  timeToFirstToken: Histogram<'model'>;
  interTokenLatency: Histogram<'model'>;
  tokensGenerated: Counter<'model'>;
}

/** Job counts by queue and state, or {} when the queues cannot be read. */
export type QueueCounts = () => Promise<Record<string, Record<string, number>>>;

export function createMetrics(pool: WorkerPool, queueCounts: QueueCounts): Metrics {
  const registry = new Registry();
  const workerGauge = (
    name: string,
    help: string,
    read: (state: ReturnType<WorkerPool['states']>[number]) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['worker', 'backend'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const state of pool.states())
          this.set({ worker: state.id, backend: state.backend }, read(state));
      },
    });
  workerGauge('vmm_worker_up', 'Whether the worker answered its last poll (1) or not (0).', (s) =>
    s.up ? 1 : 0,
  );
  workerGauge(
    'vmm_worker_queue_depth',
    'Requests waiting in the worker at its last poll.',
    (s) => s.info?.queued ?? 0,
  );
  workerGauge(
    'vmm_worker_running',
    'Requests running in the worker at its last poll.',
    (s) => s.info?.running ?? 0,
  );
  const batchingGauge = (name: string, help: string, read: (batching: Batching) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['worker', 'backend', 'model'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const state of pool.states()) {
          if (!state.up) continue;
          for (const loaded of state.info?.loadedModels ?? []) {
            if (!loaded.batching || !loaded.model) continue;
            this.set(
              { worker: state.id, backend: state.backend, model: loaded.model.name },
              read(loaded.batching),
            );
          }
        }
      },
    });
  const batchingSeries: [string, string, keyof Batching][] = [
    [
      'vmm_llm_running_sequences',
      "Sequences in a text model's batch (prefilling or decoding).",
      'runningSequences',
    ],
    [
      'vmm_llm_waiting_sequences',
      'Sequences the worker admitted that wait for KV-cache room.',
      'waitingSequences',
    ],
    ['vmm_llm_batch_size', 'Sequences in the last decode step.', 'batchSize'],
    ['vmm_kv_cache_bytes', 'Memory the KV cache holds.', 'kvCacheBytes'],
    ['vmm_kv_cache_budget_bytes', 'The most the KV cache may hold (VMM_KV_CACHE_MB).', 'kvCacheBudgetBytes'],
    [
      'vmm_kv_cache_tokens',
      'Cache positions held by running sequences and cached prefixes.',
      'kvCacheTokens',
    ],
    [
      'vmm_prefix_cache_hits',
      'Requests that continued from a cached prefix since the model loaded.',
      'prefixCacheHits',
    ],
    [
      'vmm_prefix_cache_tokens',
      'Prompt tokens cached prefixes saved since the model loaded.',
      'prefixCacheTokens',
    ],
  ];
  for (const [name, help, field] of batchingSeries) {
    batchingGauge(name, `${help} As of the worker's last poll.`, (b) => Number(b[field]));
  }
  new Gauge({
    name: 'vmm_batch_jobs',
    help: 'Batch queue jobs by queue and state (waiting, active, completed, failed, delayed).',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const counts = await queueCounts().catch(() => ({}) as Record<string, Record<string, number>>);
      for (const [queue, states] of Object.entries(counts)) {
        for (const [state, count] of Object.entries(states)) this.set({ queue, state }, count);
      }
    },
  });
  return {
    registry,
    requests: new Counter({
      name: 'vmm_http_requests_total',
      help: 'HTTP requests by route, method and status.',
      labelNames: ['route', 'method', 'status'] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'vmm_http_request_duration_seconds',
      help: 'HTTP request duration, to the end of the response (streams included).',
      labelNames: ['route', 'method'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    timeToFirstToken: new Histogram({
      name: 'vmm_time_to_first_token_seconds',
      help: 'From the request to the first generated token.',
      labelNames: ['model'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [registry],
    }),
    interTokenLatency: new Histogram({
      name: 'vmm_inter_token_latency_seconds',
      help: 'Time between consecutive generated tokens.',
      labelNames: ['model'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5],
      registers: [registry],
    }),
    tokensGenerated: new Counter({
      name: 'vmm_tokens_generated_total',
      help: 'Tokens generated, by model.',
      labelNames: ['model'] as const,
      registers: [registry],
    }),
  };
}
