// No silent ignoring: every request field is honoured or refused with a 400 that names it.
// One row per decision in docs/api.md's "Fields VMM refuses" table.
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
  ['/api/generate', { ...generate, options: { tfs_z: 0.9 } }, 'options.tfs_z'],
  ['/api/generate', { ...generate, options: { mirostat: 2 } }, 'options.mirostat'],
  ['/api/generate', { ...generate, options: { penalize_newline: false } }, 'options.penalize_newline'],
  ['/api/generate', { ...generate, options: { num_thread: 4 } }, 'options.num_thread'],
  ['/api/generate', { ...generate, options: { num_gpu: 1 } }, 'options.num_gpu'],
  ['/api/generate', { ...generate, options: { num_keep: 5 } }, 'options.num_keep'],
  ['/api/generate', { ...generate, unknown_field: 1 }, 'unknown_field'],
  // Ollama /api/chat
  ['/api/chat', { ...chat, think: 'high' }, 'think'],
  [
    '/api/chat',
    { ...chat, messages: [{ role: 'user', content: 'x', thinking: 'hmm' }] },
    'messages.0.thinking',
  ],
  ['/api/chat', { ...chat, messages: [{ role: 'user', content: 'x', extra: 1 }] }, 'messages.0.extra'],
  ['/api/chat', { ...chat, tools: [{ type: 'retrieval' }] }, 'tools.0.type'],
  // Ollama embeddings
  ['/api/embed', { model: 'mini-embed', input: 'x', options: { temperature: 1 } }, 'options.temperature'],
  ['/api/embeddings', { model: 'mini-embed', prompt: 'x', truncate: false }, 'truncate'],
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
  [
    '/v1/chat/completions',
    { ...chat, response_format: { type: 'json_schema' } },
    'response_format.json_schema',
  ],
  ['/v1/chat/completions', { ...chat, tool_choice: 'required' }, 'tool_choice'],
  [
    '/v1/chat/completions',
    { ...chat, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] },
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
];

async function post(path: string, body: unknown) {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
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
      {
        ...generate,
        think: false,
        suffix: '',
        template: '',
        options: { typical_p: 1, tfs_z: 1, mirostat: 0, num_predict: 1 },
      },
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
