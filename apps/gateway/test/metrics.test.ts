// The gateway's and a worker's /metrics: vLLM's text-generation series by canonical model and
// backend, vision and embedding series, process metrics — checked as promtool checks them.
import { describe, expect, it } from '@jest/globals';
import { drawSquares } from '@vmm/model-fixtures';
import {
  parsePrometheusText,
  type PrometheusText,
  promtoolCheck,
  promtoolPath,
  waitFor,
} from '@vmm/test-support';
import sharp from 'sharp';
import { cpuWorkers, gatewayConfig, useGateway, useWorkers } from './harness.js';

const workers = useWorkers();
const gateway = useGateway(() => gatewayConfig(cpuWorkers(workers)));

const post = (path: string, body: unknown) =>
  fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** The value of the one sample of `name` whose labels include `labels`; undefined if none. */
function value(text: PrometheusText, name: string, labels: Record<string, string>): number | undefined {
  const found = text.samples.filter(
    (sample) =>
      sample.name === name && Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted),
  );
  return found.length === 0 ? undefined : found.reduce((sum, sample) => sum + sample.value, 0);
}

const model = { model: 'tiny-llama:latest', backend: 'cpu' };

describe('metrics', () => {
  it('the gateway exports vLLM’s text series, vision, embeddings and the process, promtool-clean', async () => {
    // One request of each kind; the model named without its tag, as clients do.
    await (
      await post('/api/generate', { model: 'tiny-llama', prompt: 'Hi', options: { num_predict: 3 } })
    ).text();
    await (
      await post('/v1/chat/completions', {
        model: 'tiny-llama:latest',
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 2,
      })
    ).text();
    await (await post('/api/embed', { model: 'mini-embed', input: ['a', 'b'] })).text();
    const image = await sharp(drawSquares(64, 64, []).data, { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toBuffer();
    await (await post('/v1/vision/detect', { model: 'detector', image: image.toString('base64') })).text();
    await (
      await post('/v1/vision/classify', { model: 'classifier', image: image.toString('base64') })
    ).text();
    // A client that leaves mid-stream: counted as an abort.
    const controller = new AbortController();
    const leaving = await fetch(`${gateway.url}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny-llama', prompt: 'Go', options: { num_predict: 10_000 } }),
      signal: controller.signal,
    });
    await leaving.body?.getReader().read();
    controller.abort();
    // A misspelt model makes no series of its own.
    await (await post('/api/generate', { model: 'no-such-model', prompt: 'x' })).text();

    // The abandoned stream ends on the gateway when its socket closes: wait for its count.
    const text = await waitFor('the abort to be counted', async () => {
      await gateway.gateway.pool.refresh();
      const read = parsePrometheusText(await (await fetch(`${gateway.url}/metrics`)).text());
      return value(read, 'vmm_request_success_total', { ...model, finished_reason: 'abort' })
        ? read
        : undefined;
    });
    expect(text.problems).toEqual([]);
    expect(value(text, 'vmm_request_success_total', { ...model, finished_reason: 'abort' })).toBe(1);
    expect(value(text, 'vmm_request_success_total', { ...model, finished_reason: 'length' })).toBe(2);
    expect(value(text, 'vmm_tokens_generated_total', model)).toBeGreaterThanOrEqual(5);
    // Three streams had a first token; every later token is one inter-token gap, under the same
    // labels (the per-token series are labelled once a stream has its first token).
    expect(value(text, 'vmm_time_to_first_token_seconds_count', model)).toBe(3);
    const gaps = value(text, 'vmm_inter_token_latency_seconds_count', model) ?? 0;
    expect(gaps).toBeGreaterThan(0);
    expect(gaps).toBeLessThanOrEqual((value(text, 'vmm_tokens_generated_total', model) ?? 0) - 3);
    expect(value(text, 'vmm_prompt_tokens_total', model)).toBeGreaterThan(0);
    for (const histogram of [
      'vmm_time_to_first_token_seconds',
      'vmm_inter_token_latency_seconds',
      'vmm_e2e_request_latency_seconds',
      'vmm_request_queue_time_seconds',
      'vmm_request_prefill_time_seconds',
      'vmm_request_decode_time_seconds',
      'vmm_request_prompt_tokens',
      'vmm_request_generation_tokens',
    ]) {
      expect(text.types.get(histogram)).toBe('histogram');
      expect([histogram, value(text, `${histogram}_count`, model)]).toEqual([histogram, expect.any(Number)]);
    }
    expect(value(text, 'vmm_request_generation_tokens_sum', model)).toBeGreaterThanOrEqual(5);
    expect(value(text, 'vmm_num_requests_running', { model: 'tiny-llama:latest' })).toBeDefined();
    expect(value(text, 'vmm_num_requests_waiting', { model: 'tiny-llama:latest' })).toBeDefined();
    expect(value(text, 'vmm_kv_cache_usage_ratio', { model: 'tiny-llama:latest' })).toBeDefined();
    expect(
      value(text, 'vmm_vision_requests_total', { model: 'detector:latest', backend: 'cpu', task: 'detect' }),
    ).toBe(1);
    expect(value(text, 'vmm_vision_requests_total', { model: 'classifier:latest', task: 'classify' })).toBe(
      1,
    );
    expect(
      value(text, 'vmm_vision_stage_seconds_count', { model: 'detector:latest', stage: 'inference' }),
    ).toBe(1);
    expect(value(text, 'vmm_embedding_inputs_total', { model: 'mini-embed:latest', backend: 'cpu' })).toBe(2);
    expect(value(text, 'process_cpu_seconds_total', {})).toBeGreaterThan(0);
    expect(value(text, 'nodejs_heap_size_used_bytes', {})).toBeGreaterThan(0);
    expect(text.samples.some((sample) => sample.labels.model?.startsWith('no-such-model'))).toBe(false);
    expect(text.samples.some((sample) => sample.labels.model === 'tiny-llama')).toBe(false);
  });

  it('each worker serves its own /metrics, promtool-clean and live', async () => {
    const port = workers[0]?.metricsPort;
    expect(port).toBeDefined();
    await (
      await post('/api/generate', { model: 'tiny-llama', prompt: 'Hi', options: { num_predict: 2 } })
    ).text();
    const text = parsePrometheusText(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    expect(text.problems).toEqual([]);
    expect(
      value(text, 'vmm_worker_calls_total', { method: 'Generate', code: 'OK', backend: 'cpu' }),
    ).toBeGreaterThan(0);
    expect(
      value(text, 'vmm_worker_generation_tokens_total', { model: 'tiny-llama:latest' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      value(text, 'vmm_worker_model_load_seconds_count', { model: 'tiny-llama:latest' }),
    ).toBeGreaterThanOrEqual(1);
    expect(value(text, 'vmm_worker_loaded_models', {})).toBeGreaterThanOrEqual(1);
    expect(value(text, 'process_resident_memory_bytes', { backend: 'cpu' })).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  });

  // The real promtool where Debian's prometheus package is installed (.ci/run installs it).
  (promtoolPath() ? it : it.skip)('both /metrics pass promtool check metrics', async () => {
    await (
      await post('/api/generate', { model: 'tiny-llama', prompt: 'Hi', options: { num_predict: 2 } })
    ).text();
    const gatewayText = await (await fetch(`${gateway.url}/metrics`)).text();
    const workerText = await (await fetch(`http://127.0.0.1:${workers[0]?.metricsPort}/metrics`)).text();
    expect(await promtoolCheck(gatewayText)).toEqual({ ok: true, output: '' });
    expect(await promtoolCheck(workerText)).toEqual({ ok: true, output: '' });
  });

  it('the checker refuses what promtool refuses', () => {
    const bad = parsePrometheusText(
      [
        '# HELP requests Requests.',
        '# TYPE requests counter',
        'requests{a="1"} 1',
        'requests{a="1"} 2',
        '# HELP latency_ms Latency.',
        '# TYPE latency_ms histogram',
        'latency_ms_bucket{le="1"} 2',
        'latency_ms_bucket{le="2"} 1',
        'latency_ms_sum 3',
        'latency_ms_count 2',
        '# HELP handles_total Handles.',
        '# TYPE handles_total gauge',
        'handles_total 3',
        'orphan{__x="1"} one',
        '',
      ].join('\n'),
    );
    expect(bad.problems).toEqual(
      expect.arrayContaining([
        'requests: counter metrics should have "_total" suffix',
        'handles_total: non-counter metrics should not have "_total" suffix',
        expect.stringMatching(/repeated series requests/),
        'latency_ms: use base units (seconds), not a fraction of them',
        expect.stringMatching(/latency_ms.*no \+Inf bucket/),
        expect.stringMatching(/latency_ms.*bucket counts decrease/),
        expect.stringMatching(/"one" is not a number/),
        expect.stringMatching(/invalid label name "__x"/),
        expect.stringMatching(/orphan has no TYPE/),
      ]),
    );
  });
});
