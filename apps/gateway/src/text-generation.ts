import { Metadata } from '@grpc/grpc-js';
import type { TextJob } from '@vmm/http-api';
import { tryCanonicalModelName } from '@vmm/model-store';
import type { GenerateChunk } from '@vmm/proto';
import type { BackendName, WorkerPool } from '@vmm/worker-pool';
import type { Metrics } from './metrics.js';

/**
 * Streams a generation from the pool, recording time to first token, inter-token latency and
 * tokens. Breaking out of the loop (the HTTP client went away) cancels the gRPC call, which
 * stops the worker within one decode step.
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
  const started = performance.now();
  let last = 0;
  const stream = pool.stream<GenerateChunk>(
    job.request.model,
    pin,
    (handle) =>
      job.kind === 'generate'
        ? handle.inference.generate(job.request, metadata)
        : handle.inference.chat(job.request, metadata),
    (chunk) => chunk.done !== undefined,
  );
  for await (const chunk of stream) {
    if (chunk.tokenIds.length > 0) {
      const now = performance.now();
      if (last === 0) metrics.timeToFirstToken.observe({ model }, (now - started) / 1000);
      else metrics.interTokenLatency.observe({ model }, (now - last) / 1000);
      last = now;
      metrics.tokensGenerated.inc({ model }, chunk.tokenIds.length);
    }
    yield chunk;
  }
}
