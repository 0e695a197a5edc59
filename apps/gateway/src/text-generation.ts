import { Metadata } from '@grpc/grpc-js';
import type { TextJob } from '@vmm/http-api';
import { tryCanonicalModelName } from '@vmm/model-store';
import { FinishReason, type GenerateChunk } from '@vmm/proto';
import { type BackendName, servedBackend, type WorkerPool } from '@vmm/worker-pool';
import type { Metrics } from './metrics.js';

const finishNames: Readonly<Record<FinishReason, string>> = {
  [FinishReason.FINISH_REASON_UNSPECIFIED]: 'stop',
  [FinishReason.FINISH_REASON_STOP]: 'stop',
  [FinishReason.FINISH_REASON_LENGTH]: 'length',
  [FinishReason.FINISH_REASON_CANCELLED]: 'cancelled',
  [FinishReason.FINISH_REASON_TOOL_CALLS]: 'tool_calls',
  [FinishReason.UNRECOGNIZED]: 'stop',
};

const seconds = (ns: number | undefined) => (ns ?? 0) / 1e9;

/**
 * Streams a generation from the pool and records its metrics (vLLM's set: time to first token,
 * inter-token latency, end-to-end, queue, prefill and decode times, prompt and generated tokens,
 * how it finished), labelled by canonical model name and the backend that served it. Breaking
 * out of the loop (the HTTP client went away) cancels the gRPC call, which stops the worker
 * within one decode step.
 */
export async function* streamText(
  pool: WorkerPool,
  job: TextJob,
  pin: BackendName | undefined,
  requestId: string,
  metrics: Metrics,
): AsyncGenerator<GenerateChunk> {
  const metadata = new Metadata();
  metadata.set('x-request-id', requestId);
  // Labelled by canonical name: `tiny-llama` and `tiny-llama:latest` are one series.
  const model = tryCanonicalModelName(job.request.model) ?? job.request.model;
  let backend: string = pin ?? 'unknown';
  const labels = () => ({ model, backend });
  const started = performance.now();
  let last = 0;
  let finished: string | undefined;
  const stream = pool.stream<GenerateChunk>(
    job.request.model,
    pin,
    (handle) => {
      backend = servedBackend(handle.state);
      return job.kind === 'generate'
        ? handle.inference.generate(job.request, metadata)
        : handle.inference.chat(job.request, metadata);
    },
    (chunk) => chunk.done !== undefined,
  );
  // The per-token series, labelled once at the first token (the backend is known by then):
  // resolving labels costs a hash of them, on every token of every stream.
  let perToken:
    | {
        interToken: ReturnType<Metrics['interTokenLatency']['labels']>;
        tokens: ReturnType<Metrics['tokensGenerated']['labels']>;
      }
    | undefined;
  try {
    for await (const chunk of stream) {
      if (chunk.tokenIds.length > 0) {
        const now = performance.now();
        if (perToken === undefined) {
          metrics.timeToFirstToken.observe(labels(), (now - started) / 1000);
          perToken = {
            interToken: metrics.interTokenLatency.labels(labels()),
            tokens: metrics.tokensGenerated.labels(labels()),
          };
        } else perToken.interToken.observe((now - last) / 1000);
        last = now;
        perToken.tokens.inc(chunk.tokenIds.length);
      }
      const done = chunk.done;
      if (done) {
        finished = finishNames[done.finishReason];
        const prompt = done.usage?.promptTokens ?? 0;
        metrics.promptTokens.inc(labels(), prompt);
        metrics.requestPromptTokens.observe(labels(), prompt);
        metrics.requestGenerationTokens.observe(labels(), done.usage?.completionTokens ?? 0);
        metrics.e2eLatency.observe(labels(), (performance.now() - started) / 1000);
        metrics.queueTime.observe(labels(), seconds(done.timings?.queueNs));
        metrics.prefillTime.observe(labels(), seconds(done.timings?.promptEvalNs));
        metrics.decodeTime.observe(labels(), seconds(done.timings?.evalNs));
      }
      yield chunk;
    }
  } catch (error) {
    // Only models the workers serve get series: a misspelt name must not make new ones.
    finished = pool.find(model) ? 'error' : 'unknown-model';
    throw error;
  } finally {
    // A route that stopped reading (the client left) ends here without a last chunk.
    if (finished !== 'unknown-model')
      metrics.requestsFinished.inc({ ...labels(), finished_reason: finished ?? 'abort' });
  }
}
