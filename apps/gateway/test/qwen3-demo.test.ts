// The demo set's Qwen 3-shaped model (issue 29, point 5) through the gateway with the official
// clients: Qwen 3's real tokenizer and chat template decide the prompt (its own thinking switch,
// its tool definitions), a forced tool call comes back valid in each API's shape, a tool result
// goes back in, and /api/show tells what the model can do.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_QWEN3, writeInChild } from '@vmm/model-fixtures';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { gatewayConfig, startWorker, stopWorker, useGateway, type WorkerProcess } from './harness.js';

const modelsDir = mkdtempSync(join(tmpdir(), 'vmm-qwen3-demo-'));
// The demo set, written in a plain Node process (jest's vm is slow at real vocabularies).
writeInChild('writeDemoModels', modelsDir);

let worker: WorkerProcess;
beforeAll(async () => {
  worker = await startWorker(modelsDir);
});
afterAll(async () => {
  await stopWorker(worker);
  rmSync(modelsDir, { recursive: true, force: true });
});
const gateway = useGateway(() => gatewayConfig([{ backend: 'cpu', port: worker.port }]));

const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'The current weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    },
  },
};
const question = 'What is the weather in Paris?';

it('shows Qwen 3’s real template and its capabilities: completion, tools, thinking', async () => {
  const ollama = new Ollama({ host: gateway.url });
  const show = await ollama.show({ model: DEMO_QWEN3 });
  expect(show.capabilities).toEqual(['completion', 'tools', 'thinking']);
  expect(show.template).toContain('<|im_start|>');
  expect(show.template).toContain('enable_thinking');
  expect(show.template).toContain('<tool_call>');
});

it('renders its prompts with Qwen 3’s own switch and tool section', async () => {
  const ollama = new Ollama({ host: gateway.url });
  const ask = (extra: object) =>
    ollama.chat({
      model: DEMO_QWEN3,
      messages: [{ role: 'user', content: question }],
      options: { temperature: 0, num_predict: 4 },
      ...extra,
    });
  const thinking = await ask({ think: true });
  const notThinking = await ask({ think: false });
  const withTools = await ask({ think: false, tools: [weather] });
  // enable_thinking=false closes an empty thought in the prompt: <think>, \n\n, </think>, \n\n.
  expect(notThinking.prompt_eval_count - thinking.prompt_eval_count).toBe(4);
  expect(notThinking.message.thinking).toBeUndefined();
  // The template's own tool section (the definitions as JSON inside <tools></tools>).
  expect(withTools.prompt_eval_count).toBeGreaterThan(notThinking.prompt_eval_count + 40);
});

it('returns a forced tool call valid by construction, and takes its result back (OpenAI and Ollama)', async () => {
  const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const first = await openai.chat.completions.create({
    model: DEMO_QWEN3,
    messages: [{ role: 'user', content: question }],
    tools: [weather],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    reasoning_effort: 'none',
    max_tokens: 48,
  });
  const call = first.choices[0]?.message.tool_calls?.[0];
  expect(first.choices[0]?.finish_reason).toBe('tool_calls');
  if (call?.type !== 'function') throw new Error('no function call came back');
  expect(call.function.name).toBe('get_weather');
  expect(JSON.parse(call.function.arguments)).toEqual({ city: expect.any(String) });

  const second = await openai.chat.completions.create({
    model: DEMO_QWEN3,
    messages: [
      { role: 'user', content: question },
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: call.id, content: '{"sky":"sunny","celsius":21}' },
    ],
    tools: [weather],
    tool_choice: 'none',
    reasoning_effort: 'none',
    max_tokens: 4,
  });
  expect(second.choices[0]?.message.tool_calls ?? []).toEqual([]);
  // The call and its result are in the prompt (Qwen 3 renders results as <tool_response> in a user turn).
  expect(second.usage?.prompt_tokens).toBeGreaterThan((first.usage?.prompt_tokens ?? 0) + 10);

  const ollama = new Ollama({ host: gateway.url });
  const answer = await ollama.chat({
    model: DEMO_QWEN3,
    messages: [{ role: 'user', content: question }],
    tools: [weather],
    think: false,
    format: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
    },
    options: { temperature: 0, num_predict: 48 },
  });
  expect(JSON.parse(answer.message.content)).toEqual({ city: expect.any(String) });
});
