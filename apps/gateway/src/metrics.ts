import { collectProcessMetrics } from '@vmm/process-metrics';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { tryCanonicalModelName } from '@vmm/model-store';
import type { Batching, LoadedModel } from '@vmm/proto';
import { servedBackend, type WorkerPool } from '@vmm/worker-pool';

/** The gateway's Prometheus series, in a registry of its own (no module-level state). */
type ModelLabels = 'model' | 'backend';

/**
 * Text generation's series follow vLLM's (docs/design/metrics.md): token counters, latency
 * histograms by phase, per-request token histograms, requests by finish reason — each labelled
 * by canonical model name and the backend that served it.
 */
export interface Metrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  latency: Histogram<'route' | 'method'>;
  timeToFirstToken: Histogram<ModelLabels>;
  interTokenLatency: Histogram<ModelLabels>;
  tokensGenerated: Counter<ModelLabels>;
  promptTokens: Counter<ModelLabels>;
  e2eLatency: Histogram<ModelLabels>;
  queueTime: Histogram<ModelLabels>;
  prefillTime: Histogram<ModelLabels>;
  decodeTime: Histogram<ModelLabels>;
  requestPromptTokens: Histogram<ModelLabels>;
  requestGenerationTokens: Histogram<ModelLabels>;
  requestsFinished: Counter<ModelLabels | 'finished_reason'>;
  visionRequests: Counter<ModelLabels | 'task'>;
  visionStage: Histogram<ModelLabels | 'stage'>;
  embeddingInputs: Counter<ModelLabels>;
}

/** Job counts by queue and state, or {} when the queues cannot be read. */
export type QueueCounts = () => Promise<Record<string, Record<string, number>>>;

const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80];
const TOKEN_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000];

export function createMetrics(pool: WorkerPool, queueCounts: QueueCounts): Metrics {
  const registry = new Registry();
  // process_* and nodejs_* (CPU, memory, event-loop lag, handles, GC), as Node services export.
  collectProcessMetrics(registry);
  // Per loaded model, from the workers' last poll; `read` undefined leaves the model out.
  const loadedGauge = (name: string, help: string, read: (loaded: LoadedModel) => number | undefined) =>
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
            const value = loaded.model ? read(loaded) : undefined;
            if (value !== undefined && loaded.model)
              this.set({ worker: state.id, backend: servedBackend(state), model: loaded.model.name }, value);
          }
        }
      },
    });
  loadedGauge(
    'vmm_num_requests_running',
    'Requests running on a loaded model, as of the last poll.',
    (l) => l.running,
  );
  loadedGauge(
    'vmm_num_requests_waiting',
    'Requests waiting for a loaded model, as of the last poll.',
    (l) => l.queued,
  );
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
    loadedGauge(name, help, (loaded) => (loaded.batching ? read(loaded.batching) : undefined));
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
  batchingGauge(
    'vmm_kv_cache_usage_ratio',
    "The KV cache's use of its budget (0 to 1), as of the worker's last poll.",
    (b) => (Number(b.kvCacheBudgetBytes) > 0 ? Number(b.kvCacheBytes) / Number(b.kvCacheBudgetBytes) : 0),
  );
  const histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ) => new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] });
  const modelLabels = ['model', 'backend'] as const;
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
    timeToFirstToken: histogram(
      'vmm_time_to_first_token_seconds',
      'From the request to the first generated token.',
      modelLabels,
      [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    ),
    interTokenLatency: histogram(
      'vmm_inter_token_latency_seconds',
      'Time between consecutive generated tokens.',
      modelLabels,
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5],
    ),
    tokensGenerated: new Counter({
      name: 'vmm_tokens_generated_total',
      help: 'Tokens generated (vLLM: generation_tokens), by model and backend.',
      labelNames: modelLabels,
      registers: [registry],
    }),
    promptTokens: new Counter({
      name: 'vmm_prompt_tokens_total',
      help: 'Prompt tokens of finished text and embedding requests, by model and backend.',
      labelNames: modelLabels,
      registers: [registry],
    }),
    e2eLatency: histogram(
      'vmm_e2e_request_latency_seconds',
      'A text request from its arrival at the gateway to its last token.',
      modelLabels,
      LATENCY_BUCKETS,
    ),
    queueTime: histogram(
      'vmm_request_queue_time_seconds',
      "A text request's wait in the worker before its first prefill step (the model's load aside).",
      modelLabels,
      LATENCY_BUCKETS,
    ),
    prefillTime: histogram(
      'vmm_request_prefill_time_seconds',
      "A text request's prompt processing (tokenizing and prefill).",
      modelLabels,
      LATENCY_BUCKETS,
    ),
    decodeTime: histogram(
      'vmm_request_decode_time_seconds',
      "A text request's decoding, from its first generated token to its last.",
      modelLabels,
      LATENCY_BUCKETS,
    ),
    requestPromptTokens: histogram(
      'vmm_request_prompt_tokens',
      'Prompt tokens per finished text request.',
      modelLabels,
      TOKEN_BUCKETS,
    ),
    requestGenerationTokens: histogram(
      'vmm_request_generation_tokens',
      'Generated tokens per finished text request.',
      modelLabels,
      TOKEN_BUCKETS,
    ),
    requestsFinished: new Counter({
      name: 'vmm_request_success_total',
      help: 'Text requests by how they ended: stop, length, tool_calls, cancelled (by the worker), abort (the client left), error.',
      labelNames: ['model', 'backend', 'finished_reason'] as const,
      registers: [registry],
    }),
    visionRequests: new Counter({
      name: 'vmm_vision_requests_total',
      help: 'Images detected or classified, by model, backend and task.',
      labelNames: ['model', 'backend', 'task'] as const,
      registers: [registry],
    }),
    visionStage: histogram(
      'vmm_vision_stage_seconds',
      "A vision request's time by stage: load, decode, preprocess, inference, postprocess.",
      ['model', 'backend', 'stage'] as const,
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
    embeddingInputs: new Counter({
      name: 'vmm_embedding_inputs_total',
      help: 'Texts embedded, by model and backend.',
      labelNames: modelLabels,
      registers: [registry],
    }),
  };
}

/** A served vision request: one image, its time by stage. */
/** The vision routes, as the `task` label of vmm_vision_requests_total names them. */
export type VisionKind = 'detect' | 'classify' | 'segment' | 'pose' | 'remove-background';

export function recordVision(
  metrics: Metrics,
  model: string,
  backend: string,
  task: VisionKind,
  timings:
    | { loadNs: number; decodeNs: number; preprocessNs: number; inferenceNs: number; postprocessNs: number }
    | undefined,
): void {
  const name = tryCanonicalModelName(model) ?? model;
  metrics.visionRequests.inc({ model: name, backend, task });
  if (!timings) return;
  const stages = {
    load: timings.loadNs,
    decode: timings.decodeNs,
    preprocess: timings.preprocessNs,
    inference: timings.inferenceNs,
    postprocess: timings.postprocessNs,
  };
  for (const [stage, ns] of Object.entries(stages))
    if (stage !== 'load' || ns > 0) metrics.visionStage.observe({ model: name, backend, stage }, ns / 1e9);
}

/** A served embedding request: its inputs and prompt tokens. */
export function recordEmbedding(
  metrics: Metrics,
  model: string,
  backend: string,
  inputs: number,
  promptTokens: number,
): void {
  const name = tryCanonicalModelName(model) ?? model;
  metrics.embeddingInputs.inc({ model: name, backend }, inputs);
  metrics.promptTokens.inc({ model: name, backend }, promptTokens);
}
