// A thinking model through Ollama's /api/chat (issue 29, point 4): `think` reaches the chat
// template's own switch, the thought comes back apart from the answer (`message.thinking`,
// streamed as it comes and whole), /api/show lists the `thinking` capability, and a model that
// does not think refuses `think` naming the model. The model: the fixture Llama with a template
// shaped as thinking models' are (a switch, and a thought the prompt opens, as DeepSeek R1's).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLlamaFolder } from '@vmm/model-fixtures';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { gatewayConfig, startWorker, stopWorker, useGateway, type WorkerProcess } from './harness.js';

const THINKING_TEMPLATE =
  "{{ bos_token }}{% for m in messages %}{{ '<|' + m['role'] + '|>\\n' + m['content'] + eos_token }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}" +
  "{% if enable_thinking is defined and enable_thinking is false %}{{ '<think>\\n\\n</think>\\n\\n' }}" +
  "{% else %}{{ '<think>\\n' }}{% endif %}{% endif %}";

const modelsDir = mkdtempSync(join(tmpdir(), 'vmm-thinking-'));
writeLlamaFolder(join(modelsDir, 'thinker'));
writeLlamaFolder(join(modelsDir, 'plain'));
const configPath = join(modelsDir, 'thinker', 'tokenizer_config.json');
const config = JSON.parse(readFileSync(configPath, 'utf8')) as { eos_token: string; chat_template: string };
writeFileSync(configPath, JSON.stringify({ ...config, chat_template: THINKING_TEMPLATE }));

let worker: WorkerProcess;
beforeAll(async () => {
  worker = await startWorker(modelsDir);
});
afterAll(async () => {
  await stopWorker(worker);
  rmSync(modelsDir, { recursive: true, force: true });
});
const gateway = useGateway(() => gatewayConfig([{ backend: 'cpu', port: worker.port }]));

const question = 'Why is the sky blue?';
const options = { temperature: 0, num_predict: 12 };
const post = async (path: string, body: object) => {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
};
/**
 * What the model writes after the prompt, greedy, as a raw generation (the reference): through
 * Ollama's generate, or OpenAI's completions (whose sampling defaults differ: no repeat penalty).
 */
async function rawAfter(promptTail: string, api: 'ollama' | 'openai' = 'ollama'): Promise<string> {
  const prompt = `<|user|>\n${question}${config.eos_token}<|assistant|>\n${promptTail}`;
  if (api === 'openai') {
    const { status, text } = await post('/v1/completions', {
      model: 'thinker',
      prompt,
      temperature: 0,
      max_tokens: 12,
    });
    expect(status).toBe(200);
    return (JSON.parse(text) as { choices: { text: string }[] }).choices[0]?.text ?? '';
  }
  const { status, text } = await post('/api/generate', {
    model: 'thinker',
    prompt,
    raw: true,
    stream: false,
    options,
  });
  expect(status).toBe(200);
  return (JSON.parse(text) as { response: string }).response;
}
const chat = (think: boolean | undefined, stream: boolean) =>
  post('/api/chat', {
    model: 'thinker',
    messages: [{ role: 'user', content: question }],
    stream,
    options,
    ...(think === undefined ? {} : { think }),
  });

it('returns the thought apart from the answer, whole and streamed', async () => {
  // The prompt opens the thought: all the model writes (it never closes it) is thinking.
  const expected = (await rawAfter('<think>\n')).trimStart();
  expect(expected).not.toContain('</think>');
  const whole = await chat(true, false);
  expect(whole.status).toBe(200);
  const message = (JSON.parse(whole.text) as { message: { content: string; thinking?: string } }).message;
  expect(message).toEqual({ role: 'assistant', content: '', thinking: expected });

  const streamed = await chat(true, true);
  expect(streamed.status).toBe(200);
  const lines = streamed.text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { message: { content: string; thinking?: string }; done: boolean });
  expect(lines.filter((line) => line.message.thinking).length).toBeGreaterThan(1);
  expect(lines.map((line) => line.message.thinking ?? '').join('')).toBe(expected);
  expect(lines.map((line) => line.message.content).join('')).toBe('');
  expect(lines.at(-1)?.done).toBe(true);
  // Left out, think leaves the model's default (this template's: thinking).
  expect(JSON.parse((await chat(undefined, false)).text)).toMatchObject({ message: { thinking: expected } });
});

it('turns thinking off through the template’s switch: the answer is all content', async () => {
  const expected = await rawAfter('<think>\n\n</think>\n\n');
  const { status, text } = await chat(false, false);
  expect(status).toBe(200);
  expect((JSON.parse(text) as { message: unknown }).message).toEqual({
    role: 'assistant',
    content: expected,
  });
});

it('lists the thinking capability, and refuses think on a model that does not think', async () => {
  const show = JSON.parse((await post('/api/show', { model: 'thinker' })).text) as { capabilities: string[] };
  expect(show.capabilities).toEqual(['completion', 'tools', 'thinking']);
  const plain = JSON.parse((await post('/api/show', { model: 'plain' })).text) as { capabilities: string[] };
  expect(plain.capabilities).toEqual(['completion', 'tools']);
  const refused = await post('/api/chat', {
    model: 'plain',
    messages: [{ role: 'user', content: 'Hi' }],
    think: true,
    stream: false,
  });
  expect(refused.status).toBe(400);
  expect(JSON.parse(refused.text)).toEqual({
    error:
      'think: model "plain:latest" does not think (its chat template has no thinking); leave think out or false',
  });
});

it('serves the official clients: ollama’s think, OpenAI’s reasoning_effort and reasoning_content', async () => {
  const expected = (await rawAfter('<think>\n')).trimStart();
  const ollama = new Ollama({ host: gateway.url });
  const answer = await ollama.chat({
    model: 'thinker',
    messages: [{ role: 'user', content: question }],
    think: true,
    options,
  });
  expect(answer.message.thinking).toBe(expected);
  const thought = (await rawAfter('<think>\n', 'openai')).trimStart();
  const answered = await rawAfter('<think>\n\n</think>\n\n', 'openai');

  const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const request = {
    model: 'thinker',
    messages: [{ role: 'user' as const, content: question }],
    temperature: 0,
    max_tokens: 12,
  };
  const whole = await openai.chat.completions.create({ ...request, reasoning_effort: 'high' });
  const message = whole.choices[0]?.message as { content: string | null; reasoning_content?: string };
  expect(message.reasoning_content).toBe(thought);
  expect(message.content).toBe('');
  let streamed = '';
  for await (const chunk of await openai.chat.completions.create({
    ...request,
    reasoning_effort: 'low',
    stream: true,
  }))
    streamed +=
      (chunk.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? '';
  expect(streamed).toBe(thought);
  const none = await openai.chat.completions.create({ ...request, reasoning_effort: 'none' });
  expect(none.choices[0]?.message.content).toBe(answered);

  const refused = await post('/v1/chat/completions', {
    ...request,
    model: 'plain',
    reasoning_effort: 'high',
  });
  expect(refused.status).toBe(400);
  expect(JSON.parse(refused.text)).toMatchObject({
    error: {
      message: expect.stringContaining(
        `unsupported parameter 'reasoning_effort': model "plain:latest" does not think`,
      ),
      param: 'reasoning_effort',
      code: 'unsupported_parameter',
    },
  });
});
