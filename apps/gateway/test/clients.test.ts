// The official ollama and openai npm clients, unchanged, against the gateway.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { cpuWorkers, gatewayConfig, useGateway, useWorkers } from './harness.js';

const workers = useWorkers();
const gateway = useGateway(() => gatewayConfig(cpuWorkers(workers)));
let ollama: Ollama;
let openai: OpenAI;

beforeAll(() => {
  ollama = new Ollama({ host: gateway.url });
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

describe('ollama (npm)', () => {
  it('streams generate, ending with Ollama’s final stats', async () => {
    const parts = [];
    for await (const part of await ollama.generate({
      model: 'tiny-llama',
      prompt: 'Once upon a time',
      stream: true,
      options: { num_predict: 8, temperature: 0 },
    })) {
      parts.push(part);
    }
    const last = parts.at(-1);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.slice(0, -1).every((part) => part.done === false)).toBe(true);
    expect(last).toMatchObject({ model: 'tiny-llama', done: true, done_reason: 'length', eval_count: 8 });
    expect(last?.prompt_eval_count).toBeGreaterThan(0);
    expect(last?.total_duration).toBeGreaterThan(0);
  });

  it('answers generate with one object when stream is false', async () => {
    const response = await ollama.generate({
      model: 'tiny-llama',
      prompt: 'Hello',
      stream: false,
      options: { num_predict: 4, temperature: 0 },
    });
    expect(response).toMatchObject({ done: true, eval_count: 4 });
    expect(response.response?.length).toBeGreaterThan(0);
  });

  it('streams chat with assistant messages', async () => {
    const parts = [];
    for await (const part of await ollama.chat({
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
      stream: true,
      options: { num_predict: 6, seed: 3 },
    })) {
      parts.push(part);
    }
    expect(parts.every((part) => part.message.role === 'assistant')).toBe(true);
    expect(parts.at(-1)).toMatchObject({ done: true, eval_count: 6 });
  });

  it('lists models with their task in details', async () => {
    const { models } = await ollama.list();
    const byName = Object.fromEntries(
      models.map((model) => [model.name, model.details as unknown as { task: string; format: string }]),
    );
    expect(byName['tiny-llama:latest']).toMatchObject({ task: 'text-generation', format: 'onnx' });
    expect(byName['detector:latest']).toMatchObject({ task: 'object-detection' });
    expect(byName['classifier:latest']).toMatchObject({ task: 'image-classification' });
  });

  it('shows a model and reports an unknown one as an error', async () => {
    const shown = await ollama.show({ model: 'tiny-llama' });
    expect(shown.template).toContain('<|user|>');
    await expect(ollama.show({ model: 'nope' })).rejects.toThrow(/not found/);
  });
});

describe('openai (npm)', () => {
  it('creates a chat completion', async () => {
    const completion = await openai.chat.completions.create({
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 5,
      temperature: 0,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.role).toBe('assistant');
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.usage).toMatchObject({ completion_tokens: 5 });
  });

  it('streams a chat completion, with usage when asked', async () => {
    const stream = await openai.chat.completions.create({
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 6,
      stream: true,
      stream_options: { include_usage: true },
      seed: 1,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.some((chunk) => chunk.choices[0]?.finish_reason === 'length')).toBe(true);
    expect(chunks.at(-1)?.usage).toMatchObject({ completion_tokens: 6 });
  });

  it('creates a legacy completion', async () => {
    const completion = await openai.completions.create({
      model: 'tiny-llama',
      prompt: 'Once upon a time',
      max_tokens: 4,
      temperature: 0,
    });
    expect(completion.object).toBe('text_completion');
    expect(completion.usage?.completion_tokens).toBe(4);
  });

  it('lists models', async () => {
    const ids = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    expect(ids).toEqual([
      'classifier:latest',
      'detector:latest',
      'heavy-llama:latest',
      'mini-embed:latest',
      'tiny-llama:latest',
    ]);
  });

  it('raises the SDK’s NotFoundError for an unknown model', async () => {
    await expect(
      openai.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });
});
