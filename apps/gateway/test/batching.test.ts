// What the continuous-batching scheduler reports through the gateway: /api/ps and /metrics
// show a text model's running sequences, KV-cache use and budget, and prefix-cache hits.
import { describe, expect, it } from '@jest/globals';
import { waitFor } from '@vmm/test-support';
import { cpuWorkers, gatewayConfig, useGateway, useWorkers } from './harness.js';

const workers = useWorkers({ VMM_KV_CACHE_MB: '64' });
const gateway = useGateway(() => gatewayConfig(cpuWorkers(workers)));

interface PsModel {
  name: string;
  batching?: {
    running_sequences: number;
    kv_cache_budget_bytes: number;
    kv_cache_bytes: number;
    prefix_cache_hits: number;
    prefix_cache_tokens: number;
  };
}

const words = 'the people of the town were kind and they worked hard every day by the sea'.split(' ');
const prompt = Array.from({ length: 80 }, (_, i) => words[i % words.length]).join(' ');

async function generate(text: string): Promise<{ response: string }> {
  const response = await fetch(`${gateway.url}/api/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'tiny-llama',
      prompt: text,
      raw: true,
      stream: false,
      options: { temperature: 0, num_predict: 8 },
    }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { response: string };
}

describe('batching state', () => {
  it('shows KV-cache use and prefix-cache hits in /api/ps and /metrics', async () => {
    await generate(prompt);
    await generate(`${prompt} and the children played`);
    // The gateway polls workers: a poll taken while the second request was still decoding shows
    // its hit with the sequence running. Wait for one taken after it finished.
    const model = await waitFor('/api/ps to show a prefix-cache hit and nothing running', async () => {
      const ps = (await (await fetch(`${gateway.url}/api/ps`)).json()) as { models: PsModel[] };
      const found = ps.models.find((entry) => entry.name.startsWith('tiny-llama'));
      return found?.batching &&
        found.batching.prefix_cache_hits >= 1 &&
        found.batching.running_sequences === 0
        ? found
        : undefined;
    });
    expect(model.batching).toMatchObject({
      running_sequences: 0,
      kv_cache_budget_bytes: 64 * 2 ** 20,
      prefix_cache_hits: 1,
    });
    expect(model.batching?.prefix_cache_tokens).toBeGreaterThanOrEqual(70);
    // The finished sequences' caches are kept as prefixes: memory stays held, within budget.
    expect(model.batching?.kv_cache_bytes).toBeGreaterThan(0);
    expect(model.batching?.kv_cache_bytes).toBeLessThanOrEqual(64 * 2 ** 20);

    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/vmm_prefix_cache_hits\{[^}]*model="tiny-llama:latest"[^}]*\} 1/);
    expect(metrics).toMatch(/vmm_kv_cache_budget_bytes\{[^}]*model="tiny-llama:latest"[^}]*\} 67108864/);
    expect(metrics).toMatch(/vmm_llm_running_sequences\{[^}]*model="tiny-llama:latest"[^}]*\} 0/);
  });
});
