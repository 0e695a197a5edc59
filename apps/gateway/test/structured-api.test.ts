// Embeddings, structured outputs, tool calls and logprobs through a real gateway and worker:
// the HTTP shapes Ollama's and OpenAI's clients read, and the guarantees behind them.
import { describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { cpuWorkers, gatewayConfig, useGateway, useWorkers } from './harness.js';

const workers = useWorkers({ VMM_MAX_BATCH: '4' });
const gateway = useGateway(() => gatewayConfig(cpuWorkers(workers)));
const ajv = new Ajv2020({ strict: false });

/** A parsed response body: its shape is what the assertions check. */
type JsonBody = ReturnType<typeof JSON.parse>;

async function post(path: string, body: unknown): Promise<{ status: number; json: JsonBody; text: string }> {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

const sseEvents = (text: string) =>
  text
    .split('\n\n')
    .filter((block) => block.startsWith('data: ') && !block.includes('[DONE]'))
    .map((block) => JSON.parse(block.slice(6)) as JsonBody);

const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 20 },
    age: { type: 'integer', minimum: 0, maximum: 120 },
    pets: { type: 'array', items: { enum: ['cat', 'dog'] }, maxItems: 3 },
  },
  required: ['name', 'age', 'pets'],
  additionalProperties: false,
};

describe('embeddings', () => {
  it('answers /api/embed with unit vectors, in order, with Ollama’s stats', async () => {
    const { status, json } = await post('/api/embed', {
      model: 'mini-embed',
      input: ['the town', 'the sea', 'the town'],
    });
    expect(status).toBe(200);
    expect(json.embeddings).toHaveLength(3);
    expect(json.embeddings[0]).toHaveLength(64);
    expect(Math.abs(Math.hypot(...json.embeddings[1]) - 1)).toBeLessThan(1e-5);
    expect(json.embeddings[0]).toEqual(json.embeddings[2]);
    expect(json.embeddings[0]).not.toEqual(json.embeddings[1]);
    expect(json).toMatchObject({ model: 'mini-embed', prompt_eval_count: 12 });
    expect(json.total_duration).toBeGreaterThan(0);
  });

  it('answers the older /api/embeddings and OpenAI’s /v1/embeddings with the same vector', async () => {
    const modern = await post('/api/embed', { model: 'mini-embed', input: 'snow on the hills' });
    const legacy = await post('/api/embeddings', { model: 'mini-embed', prompt: 'snow on the hills' });
    const openai = await post('/v1/embeddings', { model: 'mini-embed', input: 'snow on the hills' });
    const base64 = await post('/v1/embeddings', {
      model: 'mini-embed',
      input: ['snow on the hills'],
      encoding_format: 'base64',
    });
    expect(legacy.json.embedding).toEqual(modern.json.embeddings[0]);
    expect(openai.json).toMatchObject({
      object: 'list',
      model: 'mini-embed',
      data: [{ object: 'embedding', index: 0 }],
    });
    expect(openai.json.data[0].embedding).toEqual(modern.json.embeddings[0]);
    expect(openai.json.usage.prompt_tokens).toBe(modern.json.prompt_eval_count);
    const raw = Buffer.from(base64.json.data[0].embedding, 'base64');
    const decoded = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    expect(Array.from(decoded)).toEqual(modern.json.embeddings[0]);
  });

  it('takes token ids and dimensions, and refuses what it cannot do', async () => {
    const ids = await post('/v1/embeddings', {
      model: 'mini-embed',
      input: [[10, 11, 12], [13]],
      dimensions: 8,
    });
    expect(ids.status).toBe(200);
    expect(ids.json.data.map((d: JsonBody) => d.embedding.length)).toEqual([8, 8]);
    const tooWide = await post('/v1/embeddings', { model: 'mini-embed', input: 'x', dimensions: 65 });
    expect(tooWide.status).toBe(400);
    expect(tooWide.json.error.param).toBe('dimensions');
    const long = 'the town by the sea '.repeat(200);
    const refused = await post('/api/embed', { model: 'mini-embed', input: long, truncate: false });
    expect(refused.status).toBe(400);
    expect((await post('/api/embed', { model: 'mini-embed', input: long })).status).toBe(200);
    const wrongModel = await post('/api/embed', { model: 'tiny-llama', input: 'x' });
    expect(wrongModel.status).toBe(400);
    expect(wrongModel.json.error).toMatch(/text-generation model/);
  });

  it('lists the embedding capability in /api/show', async () => {
    expect((await post('/api/show', { model: 'mini-embed' })).json.capabilities).toEqual(['embedding']);
    expect((await post('/api/show', { model: 'tiny-llama' })).json.capabilities).toEqual([
      'completion',
      'tools',
    ]);
  });
});

describe('structured outputs', () => {
  it('makes format "json" and json_object valid JSON objects', async () => {
    for (let seed = 0; seed < 4; seed += 1) {
      const chat = await post('/api/chat', {
        model: 'tiny-llama',
        messages: [{ role: 'user', content: 'Describe the town as JSON.' }],
        format: 'json',
        stream: false,
        options: { seed, num_predict: 48, temperature: 1 },
      });
      expect(typeof JSON.parse(chat.json.message.content)).toBe('object');
      const openai = await post('/v1/chat/completions', {
        model: 'tiny-llama',
        messages: [{ role: 'user', content: 'JSON please' }],
        response_format: { type: 'json_object' },
        max_tokens: 40,
        seed,
      });
      const value = JSON.parse(openai.json.choices[0].message.content);
      expect(value !== null && typeof value === 'object' && !Array.isArray(value)).toBe(true);
    }
  });

  it('keeps to a JSON schema, streamed and not, chat and generate', async () => {
    const validate = ajv.compile(PERSON);
    const bodies = [0, 1, 2].map((seed) =>
      post('/v1/chat/completions', {
        model: 'tiny-llama',
        messages: [{ role: 'user', content: 'A person, please.' }],
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'person', schema: PERSON, strict: true },
        },
        max_tokens: 60,
        temperature: 1,
        seed,
      }),
    );
    for (const { json } of await Promise.all(bodies)) {
      expect(validate(JSON.parse(json.choices[0].message.content))).toBe(true);
    }
    const streamed = await post('/api/generate', {
      model: 'tiny-llama',
      prompt: 'A person:',
      format: PERSON,
      options: { seed: 5, num_predict: 60 },
    });
    const lines = streamed.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(validate(JSON.parse(lines.map((line) => line.response).join('')))).toBe(true);
    expect(lines.at(-1).context.length).toBeGreaterThan(lines.at(-1).eval_count);
  });

  it('refuses schema keywords it cannot enforce, and a max_tokens the schema cannot fit', async () => {
    const pattern = await post('/api/chat', {
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'x' }],
      format: { type: 'object', properties: { a: { type: 'string', format: 'email' } } },
      stream: false,
    });
    expect(pattern.status).toBe(400);
    expect(pattern.json.error).toMatch(/unsupported keyword format/);
    const short = await post('/v1/chat/completions', {
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_schema', json_schema: { name: 'p', schema: PERSON } },
      max_tokens: 3,
    });
    expect(short.status).toBe(400);
    expect(short.json.error.message).toMatch(/shortest output/);
    const xml = await post('/api/generate', { model: 'tiny-llama', prompt: 'x', format: 'xml' });
    expect(xml.status).toBe(400);
  });
});

const WEATHER = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { enum: ['celsius', 'fahrenheit'] } },
      required: ['city', 'unit'],
    },
  },
};
const TIME = {
  type: 'function',
  function: {
    name: 'get_time',
    parameters: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] },
  },
};

describe('tool calls', () => {
  it('makes a required call valid against the tool’s schema (OpenAI, whole and streamed)', async () => {
    const validate = ajv.compile(WEATHER.function.parameters);
    const body = {
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [WEATHER, TIME],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      max_tokens: 60,
      seed: 2,
    };
    const whole = await post('/v1/chat/completions', body);
    const choice = whole.json.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const [call] = choice.message.tool_calls;
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
    expect(call.id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    expect(validate(JSON.parse(call.function.arguments))).toBe(true);

    const streamed = sseEvents((await post('/v1/chat/completions', { ...body, stream: true })).text);
    const deltas = streamed.flatMap((event) => event.choices[0]?.delta?.tool_calls ?? []);
    expect(deltas).toHaveLength(1);
    expect(deltas[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'get_weather' } });
    expect(validate(JSON.parse(deltas[0].function.arguments))).toBe(true);
    expect(streamed.some((event) => event.choices[0]?.delta?.content)).toBe(false);
    expect(streamed.at(-1).choices[0].finish_reason).toBe('tool_calls');

    const any = await post('/v1/chat/completions', { ...body, tool_choice: 'required' });
    expect(['get_weather', 'get_time']).toContain(any.json.choices[0].message.tool_calls[0].function.name);
  });

  it('takes a conversation with calls and results in its history (OpenAI and Ollama)', async () => {
    const openai = await post('/v1/chat/completions', {
      model: 'tiny-llama',
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temperature": 21}' },
      ],
      tools: [WEATHER],
      tool_choice: 'none',
      max_tokens: 8,
    });
    expect(openai.status).toBe(200);
    expect(openai.json.choices[0].finish_reason).toBe('length');
    const ollama = await post('/api/chat', {
      model: 'tiny-llama',
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }],
        },
        { role: 'tool', content: '21 degrees', tool_name: 'get_weather' },
      ],
      tools: [WEATHER],
      stream: false,
      options: { num_predict: 8 },
    });
    expect(ollama.status).toBe(200);
  });
});

describe('logprobs', () => {
  it('reports each token’s logprob and alternatives (OpenAI chat, streamed and whole)', async () => {
    const body = {
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'Hello' }],
      logprobs: true,
      top_logprobs: 3,
      max_tokens: 6,
      temperature: 0,
    };
    const whole = await post('/v1/chat/completions', body);
    const content = whole.json.choices[0].logprobs.content;
    expect(content).toHaveLength(whole.json.usage.completion_tokens);
    for (const entry of content) {
      expect(entry.top_logprobs).toHaveLength(3);
      // Greedy: the chosen token is the most likely one.
      expect(entry.logprob).toBeCloseTo(entry.top_logprobs[0].logprob, 6);
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.top_logprobs[1].logprob).toBeLessThanOrEqual(entry.top_logprobs[0].logprob);
    }
    const streamed = sseEvents((await post('/v1/chat/completions', { ...body, stream: true })).text);
    const fromStream = streamed.flatMap((event) => event.choices[0]?.logprobs?.content ?? []);
    expect(fromStream.map((e: JsonBody) => e.logprob)).toEqual(content.map((e: JsonBody) => e.logprob));
  });

  it('reports them for completions and Ollama too', async () => {
    const completion = await post('/v1/completions', {
      model: 'tiny-llama',
      prompt: 'Once upon',
      max_tokens: 4,
      logprobs: 2,
      temperature: 0,
    });
    const logprobs = completion.json.choices[0].logprobs;
    expect(logprobs.tokens).toHaveLength(4);
    expect(logprobs.token_logprobs).toHaveLength(4);
    expect(Object.keys(logprobs.top_logprobs[0]).length).toBeGreaterThanOrEqual(1);
    expect(logprobs.text_offset[0]).toBe(0);
    const ollama = await post('/api/generate', {
      model: 'tiny-llama',
      prompt: 'Once upon',
      logprobs: true,
      top_logprobs: 2,
      stream: false,
      options: { num_predict: 4, temperature: 0 },
    });
    expect(ollama.json.logprobs).toHaveLength(4);
    expect(ollama.json.logprobs[0].top_logprobs).toHaveLength(2);
  });

  it('echoes the prompt and continues an Ollama context', async () => {
    const echo = await post('/v1/completions', {
      model: 'tiny-llama',
      prompt: 'Once upon',
      max_tokens: 3,
      echo: true,
      temperature: 0,
    });
    expect(echo.json.choices[0].text.startsWith('Once upon')).toBe(true);
    const first = await post('/api/generate', {
      model: 'tiny-llama',
      prompt: 'Hello',
      stream: false,
      options: { num_predict: 3 },
    });
    const next = await post('/api/generate', {
      model: 'tiny-llama',
      prompt: 'And then?',
      context: first.json.context,
      stream: false,
      options: { num_predict: 3 },
    });
    expect(next.status).toBe(200);
    expect(next.json.prompt_eval_count).toBeGreaterThan(first.json.context.length);
  });
});
