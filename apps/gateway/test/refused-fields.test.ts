// No silent ignoring. OpenAI and vision routes refuse what they do not honour with a 400 that
// names the field; Ollama routes ignore what Ollama ignores and say so in X-VMM-Ignored, and
// refuse what Ollama honours and VMM cannot. One row per decision in docs/api.md.
import { describe, expect, it } from '@jest/globals';
import { cpuWorkers, gatewayConfig, useGateway, useWorkers } from './harness.js';

const workers = useWorkers();
const gateway = useGateway(() => gatewayConfig(cpuWorkers(workers)));

const chat = { model: 'tiny-llama', messages: [{ role: 'user', content: 'hi' }] };
const generate = { model: 'tiny-llama', prompt: 'hi' };

/** [route, body, the field the answer must name] */
const refused: [string, Record<string, unknown>, string][] = [
  // Ollama /api/generate
  ['/api/generate', { ...generate, suffix: 'end' }, 'suffix'],
  ['/api/generate', { ...generate, template: '{{ .Prompt }}' }, 'template'],
  ['/api/generate', { ...generate, images: ['AA=='] }, 'images'],
  ['/api/generate', { ...generate, think: true }, 'think'],
  ['/api/generate', { ...generate, format: 'xml' }, 'format'],
  ['/api/generate', { ...generate, top_logprobs: 2 }, 'top_logprobs'],
  ['/api/generate', { ...generate, context: [-1] }, 'context'],
  ['/api/generate', { ...generate, options: { typical_p: 0.5 } }, 'options.typical_p'],
  // Ollama /api/chat
  ['/api/chat', { ...chat, think: 'high' }, 'think'],
  ['/api/chat', { ...chat, tools: [{ type: 'retrieval' }] }, 'tools.0.type'],
  ['/api/chat', { ...chat, tool_choice: 'required' }, 'tool_choice'],
  ['/api/chat', { ...chat, tool_choice: { type: 'web_search_preview' } }, 'tool_choice'],
  // OpenAI chat
  ['/v1/chat/completions', { ...chat, n: 2 }, 'n'],
  ['/v1/chat/completions', { ...chat, top_logprobs: 3 }, 'top_logprobs'],
  ['/v1/chat/completions', { ...chat, logprobs: true, top_logprobs: 21 }, 'top_logprobs'],
  ['/v1/chat/completions', { ...chat, store: true }, 'store'],
  ['/v1/chat/completions', { ...chat, reasoning_effort: 'low' }, 'reasoning_effort'],
  ['/v1/chat/completions', { ...chat, functions: [{ name: 'f' }] }, 'functions'],
  ['/v1/chat/completions', { ...chat, function_call: 'auto' }, 'function_call'],
  ['/v1/chat/completions', { ...chat, modalities: ['text', 'audio'] }, 'modalities'],
  ['/v1/chat/completions', { ...chat, prediction: { type: 'content', content: 'x' } }, 'prediction'],
  ['/v1/chat/completions', { ...chat, service_tier: 'flex' }, 'service_tier'],
  ['/v1/chat/completions', { ...chat, logit_bias: { abc: 1 } }, 'logit_bias.abc'],
  ['/v1/chat/completions', { ...chat, logit_bias: { '999999': 1 } }, 'logit_bias'],
  // Past uint32, where token ids travel: refused here, never a 500 from the encoder.
  ['/v1/chat/completions', { ...chat, logit_bias: { '4294967301': 1 } }, 'logit_bias.4294967301'],
  [
    '/v1/chat/completions',
    { ...chat, logit_bias: { '99999999999999999999': 1 } },
    'logit_bias.99999999999999999999',
  ],
  [
    '/v1/chat/completions',
    { ...chat, response_format: { type: 'json_schema' } },
    'response_format.json_schema',
  ],
  ['/v1/chat/completions', { ...chat, tool_choice: 'required' }, 'tool_choice'],
  [
    '/v1/chat/completions',
    { ...chat, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] },
    'messages.0.content.0',
  ],
  [
    '/v1/chat/completions',
    {
      ...chat,
      messages: [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] },
      ],
    },
    'messages.0.content.0',
  ],
  [
    '/v1/chat/completions',
    {
      ...chat,
      messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA==' } }] }],
    },
    'messages.0.content',
  ],
  // OpenAI completions
  ['/v1/completions', { ...generate, suffix: 'end' }, 'suffix'],
  ['/v1/completions', { ...generate, best_of: 2 }, 'best_of'],
  ['/v1/completions', { ...generate, echo: true, logprobs: 1 }, 'echo'],
  ['/v1/completions', { ...generate, logprobs: 21 }, 'logprobs'],
  // OpenAI embeddings
  ['/v1/embeddings', { model: 'mini-embed', input: 'x', extra: true }, 'extra'],
  ['/v1/embeddings', { model: 'mini-embed', input: 'x', encoding_format: 'int8' }, 'encoding_format'],
  // OpenAI batches
  [
    '/v1/batches',
    { input_file_id: 'file-x', endpoint: '/v1/chat/completions', completion_window: '24h', bogus: 1 },
    'bogus',
  ],
];

async function post(path: string, body: unknown) {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  // Every answer, refusals included, tells a browser to take its declared type at its word.
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  return { status: response.status, body: (await response.json()) as unknown };
}

describe('refused fields', () => {
  it.each(refused)('%s refuses %j naming %s', async (path, body, field) => {
    const { status, body: answer } = await post(path, body);
    expect(status).toBe(400);
    if (path.startsWith('/api/')) {
      expect((answer as { error: string }).error).toContain(field.split('.').at(-1) as string);
    } else {
      expect((answer as { error: { param: string } }).error.param).toBe(field);
    }
  });

  it('tags unknown OpenAI fields unsupported_parameter, as OpenAI does', async () => {
    const { body } = await post('/v1/chat/completions', { ...chat, reasoning_effort: 'low' });
    expect(body).toMatchObject({
      error: { type: 'invalid_request_error', code: 'unsupported_parameter', param: 'reasoning_effort' },
    });
  });

  it.each([
    [
      '/api/generate',
      { ...generate, think: false, suffix: '', template: '', options: { typical_p: 1, num_predict: 1 } },
    ],
    [
      '/v1/chat/completions',
      { ...chat, n: 1, store: false, user: 'u1', parallel_tool_calls: true, max_tokens: 1 },
    ],
    ['/v1/completions', { ...generate, best_of: 1, suffix: null, echo: false, max_tokens: 1 }],
  ])('%s accepts the values that change nothing', async (path, body) => {
    const { status } = await post(path, { ...body, stream: false });
    expect(status).toBe(200);
  });
});

/** [route, body, what X-VMM-Ignored must say] */
const ignored: [string, Record<string, unknown>, string][] = [
  // Samplers Ollama dropped and runner options: Ollama logs "invalid option" and goes on.
  ['/api/generate', { ...generate, options: { tfs_z: 0.9, mirostat: 2 } }, 'options.tfs_z, options.mirostat'],
  ['/api/generate', { ...generate, options: { penalize_newline: false } }, 'options.penalize_newline'],
  [
    '/api/generate',
    { ...generate, options: { num_thread: 4, num_gpu: 1, num_keep: 5 } },
    'options.num_thread, options.num_gpu, options.num_keep',
  ],
  ['/api/generate', { ...generate, unknown_field: 1 }, 'unknown_field'],
  // Genkit's Ollama plugin sends an empty tool list to /api/generate, which has no tools.
  ['/api/generate', { ...generate, tools: [] }, 'tools'],
  // ollama-ai-provider-v2's completion model.
  ['/api/generate', { ...generate, user: 'u1', echo: false }, 'user, echo'],
  ['/api/chat', { ...chat, messages: [{ role: 'user', content: 'x', extra: 1 }] }, 'messages.0.extra'],
  [
    '/api/chat',
    { ...chat, messages: [{ role: 'user', content: 'x', thinking: 'hmm' }] },
    'messages.0.thinking',
  ],
  // @llamaindex/ollama's OllamaEmbedding sends its LLM's sampling options.
  [
    '/api/embeddings',
    { model: 'mini-embed', prompt: 'x', options: { num_ctx: 4096, top_p: 0.9, temperature: 0.7 } },
    'options.top_p, options.temperature',
  ],
  ['/api/embeddings', { model: 'mini-embed', prompt: 'x', truncate: false }, 'truncate'],
  ['/api/embed', { model: 'mini-embed', input: 'x', options: { temperature: 1 } }, 'options.temperature'],
  ['/api/show', { model: 'tiny-llama', verbose: true, extra: 1 }, 'extra'],
];

describe('fields Ollama ignores', () => {
  it.each(ignored)('%s ignores %j and says %s', async (path, body, said) => {
    // Text routes generate one token, whole.
    const text = path === '/api/generate' || path === '/api/chat';
    const sent = text
      ? { ...body, stream: false, options: { num_predict: 1, ...(body.options as object | undefined) } }
      : body;
    const response = await fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sent),
    });
    expect([response.status, await response.text()]).toEqual([200, expect.any(String)]);
    expect(response.headers.get('x-vmm-ignored')).toBe(said);
  });

  it('sets no X-VMM-Ignored header when nothing was ignored', async () => {
    const response = await fetch(`${gateway.url}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...generate, stream: false, options: { num_predict: 1 } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-vmm-ignored')).toBeNull();
  });
});

describe('fields Ollama ignores and VMM honours', () => {
  it('maps top-level max_tokens and stop (ollama-ai-provider-v2) onto num_predict and stop', async () => {
    const { status, body } = await post('/api/generate', {
      ...generate,
      max_tokens: 3,
      stop: [],
      stream: false,
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ eval_count: 3, done_reason: 'length' });
    // options.num_predict wins over the top-level field.
    const both = await post('/api/generate', {
      ...generate,
      max_tokens: 3,
      options: { num_predict: 2 },
      stream: false,
    });
    expect(both.body).toMatchObject({ eval_count: 2 });
  });
});

describe('vision routes refuse what they do not know', () => {
  const png = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC',
    'base64',
  );
  it.each(['detect', 'classify'])('%s: a JSON body with an unknown field', async (task) => {
    const model = task === 'detect' ? 'detector' : 'classifier';
    const { status, body } = await post(`/v1/vision/${task}`, {
      model,
      image: png.toString('base64'),
      bogus: 1,
    });
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: { param: 'bogus', code: 'unsupported_parameter' } });
  });

  it.each(['detect', 'classify'])('%s: a form with an unknown field', async (task) => {
    const form = new FormData();
    form.set('model', task === 'detect' ? 'detector' : 'classifier');
    form.set('bogus', '1');
    form.set('image', new Blob([png], { type: 'image/png' }), 'dot.png');
    const response = await fetch(`${gateway.url}/v1/vision/${task}`, { method: 'POST', body: form });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { param: 'bogus', code: 'unsupported_parameter' } });
    form.delete('bogus');
    const ok = await fetch(`${gateway.url}/v1/vision/${task}`, { method: 'POST', body: form });
    expect(ok.status).toBe(200);
  });
});
