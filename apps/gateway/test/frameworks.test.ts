// The frameworks people build on, unchanged, against a real gateway: LangChain (Ollama and
// OpenAI integrations), the Vercel AI SDK (OpenAI-compatible, OpenAI and Ollama providers) and
// the official clients — embeddings, structured output and tool calls. The models have random
// weights, so a free tool choice is nonsense; a required or named choice is valid by
// construction, and that is what is checked.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { tool as langchainTool } from '@langchain/core/tools';
import { ChatOllama, OllamaEmbeddings } from '@langchain/ollama';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { OllamaEmbedding } from '@llamaindex/ollama';
import { embed, embedMany, generateObject, generateText, Output, streamText, tool } from 'ai';
import { createOllama } from 'ollama-ai-provider-v2';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { cpuWorkers, gatewayConfig, useGateway, useWorkers } from './harness.js';

const workers = useWorkers();
const gateway = useGateway(() => gatewayConfig(cpuWorkers(workers)));

const Person = z.object({
  name: z.string().max(16),
  age: z.number().int().min(0).max(120),
  likes: z.array(z.enum(['tea', 'coffee'])).max(2),
});
const WeatherArgs = z.object({ city: z.string().max(24), unit: z.enum(['celsius', 'fahrenheit']) });

let openaiBase: string;
beforeAll(() => {
  openaiBase = `${gateway.url}/v1`;
});

describe('LangChain', () => {
  it('embeds with OllamaEmbeddings and OpenAIEmbeddings, the same vectors', async () => {
    const ollama = new OllamaEmbeddings({ model: 'mini-embed', baseUrl: gateway.url });
    const openai = new OpenAIEmbeddings({
      model: 'mini-embed',
      apiKey: 'unused',
      configuration: { baseURL: openaiBase },
    });
    const [a, b] = await ollama.embedDocuments(['the town', 'the sea']);
    const query = await openai.embedQuery('the town');
    expect(a).toHaveLength(64);
    expect(b).not.toEqual(a);
    query.forEach((value, i) => expect(value).toBeCloseTo(a?.[i] as number, 6));
  });

  it('gets structured output from ChatOllama and ChatOpenAI', async () => {
    const ollama = new ChatOllama({ model: 'tiny-llama', baseUrl: gateway.url, numPredict: 64, seed: 1 });
    const fromOllama = await ollama.withStructuredOutput(Person).invoke('Describe a person.');
    expect(Person.safeParse(fromOllama).success).toBe(true);
    const openai = new ChatOpenAI({
      model: 'tiny-llama',
      apiKey: 'unused',
      maxTokens: 64,
      configuration: { baseURL: openaiBase },
    });
    const fromOpenAI = await openai
      .withStructuredOutput(Person, { name: 'person' })
      .invoke('Describe a person.');
    expect(Person.safeParse(fromOpenAI).success).toBe(true);
  });

  it('binds tools: ChatOpenAI with a named choice gets a valid call, ChatOllama takes the tools', async () => {
    const weather = langchainTool(async () => 'sunny', {
      name: 'get_weather',
      description: 'The weather in a city',
      schema: WeatherArgs,
    });
    const openai = new ChatOpenAI({
      model: 'tiny-llama',
      apiKey: 'unused',
      maxTokens: 64,
      configuration: { baseURL: openaiBase },
    });
    const message = await openai
      .bindTools([weather], { tool_choice: 'get_weather' })
      .invoke('Weather in Paris?');
    expect(message.tool_calls).toHaveLength(1);
    expect(message.tool_calls?.[0]?.name).toBe('get_weather');
    expect(WeatherArgs.safeParse(message.tool_calls?.[0]?.args).success).toBe(true);
    const ollama = new ChatOllama({ model: 'tiny-llama', baseUrl: gateway.url, numPredict: 8 });
    const reply = await ollama.bindTools([weather]).invoke('Weather in Paris?');
    expect(Array.isArray(reply.tool_calls)).toBe(true);
  });
});

describe('Vercel AI SDK', () => {
  const compatible = () =>
    createOpenAICompatible({ name: 'vmm', baseURL: openaiBase, supportsStructuredOutputs: true });

  it('embeds one value and many', async () => {
    const model = compatible().textEmbeddingModel('mini-embed');
    const one = await embed({ model, value: 'the town' });
    const many = await embedMany({ model, values: ['the town', 'the sea'] });
    expect(one.embedding).toHaveLength(64);
    expect(many.embeddings[0]).toEqual(one.embedding);
  });

  it('generates an object valid against its schema (OpenAI-compatible and Ollama providers)', async () => {
    const fromCompatible = await generateObject({
      model: compatible()('tiny-llama'),
      schema: Person,
      prompt: 'Describe a person.',
      maxOutputTokens: 64,
      seed: 4,
    });
    expect(Person.safeParse(fromCompatible.object).success).toBe(true);
    const ollama = createOllama({ baseURL: `${gateway.url}/api` });
    const fromOllama = await generateObject({
      model: ollama('tiny-llama'),
      schema: Person,
      prompt: 'Describe a person.',
      maxOutputTokens: 64,
    });
    expect(Person.safeParse(fromOllama.object).success).toBe(true);
    const structured = await generateText({
      model: createOpenAI({ baseURL: openaiBase, apiKey: 'unused' }).chat('tiny-llama'),
      output: Output.object({ schema: Person }),
      prompt: 'Describe a person.',
      maxOutputTokens: 64,
    });
    expect(Person.safeParse(structured.output).success).toBe(true);
  });

  it('makes the tool call a toolChoice asks for', async () => {
    const result = await generateText({
      model: compatible()('tiny-llama'),
      tools: { get_weather: tool({ description: 'The weather in a city', inputSchema: WeatherArgs }) },
      toolChoice: { type: 'tool', toolName: 'get_weather' },
      prompt: 'Weather in Paris?',
      maxOutputTokens: 64,
    });
    expect(result.toolCalls).toHaveLength(1);
    expect(result.toolCalls[0]?.toolName).toBe('get_weather');
    expect(WeatherArgs.safeParse(result.toolCalls[0]?.input).success).toBe(true);
  });
});

describe('the AI SDK’s Ollama provider (ollama-ai-provider-v2)', () => {
  const ollama = () => createOllama({ baseURL: `${gateway.url}/api` });
  const tools = { get_weather: tool({ description: 'The weather in a city', inputSchema: WeatherArgs }) };

  // It always sends tool_choice (also "auto") and, for a named tool, Responses' shape.
  it.each([
    ['required', 'required' as const],
    ['named', { type: 'tool' as const, toolName: 'get_weather' as const }],
  ])('makes the tool call a %s toolChoice asks for', async (_, toolChoice) => {
    const result = await generateText({
      model: ollama()('tiny-llama'),
      tools,
      toolChoice,
      prompt: 'Weather in Paris?',
      maxOutputTokens: 64,
    });
    expect(result.toolCalls.length).toBeGreaterThanOrEqual(1);
    for (const call of result.toolCalls) {
      expect(call.toolName).toBe('get_weather');
      expect(WeatherArgs.safeParse(call.input).success).toBe(true);
    }
  });

  it('takes tools with the automatic choice', async () => {
    const result = await generateText({
      model: ollama()('tiny-llama'),
      tools,
      prompt: 'Weather in Paris?',
      maxOutputTokens: 8,
    });
    expect(['stop', 'length', 'tool-calls']).toContain(result.finishReason);
  });

  // /api/generate with top-level max_tokens, stop, temperature and top_p.
  it('runs its completion model, honouring maxOutputTokens and stop sequences', async () => {
    const whole = await generateText({
      model: ollama().completion('tiny-llama'),
      prompt: 'Say hello.',
      maxOutputTokens: 6,
      temperature: 0,
    });
    expect(whole.usage.outputTokens).toBe(6);
    expect(whole.text.length).toBeGreaterThan(0);
    const stop = whole.text.slice(2, 4);
    const cut = await generateText({
      model: ollama().completion('tiny-llama'),
      prompt: 'Say hello.',
      maxOutputTokens: 6,
      temperature: 0,
      stopSequences: [stop],
    });
    expect(cut.text).not.toContain(stop);
    expect(whole.text.startsWith(cut.text)).toBe(true);
  });
});

describe('LlamaIndex', () => {
  // OllamaEmbedding sends its LLM's options (num_ctx, top_p, temperature) to /api/embeddings.
  it('embeds with @llamaindex/ollama’s OllamaEmbedding, the vectors /api/embed gives', async () => {
    const embedder = new OllamaEmbedding({ model: 'mini-embed', config: { host: gateway.url } });
    const vector = await embedder.getTextEmbedding('the town');
    const [batch] = await embedder.getTextEmbeddings(['the town']);
    expect(vector).toHaveLength(64);
    expect(batch).toEqual(vector);
    const direct = (await (
      await fetch(`${gateway.url}/api/embed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mini-embed', input: 'the town' }),
      })
    ).json()) as { embeddings: number[][] };
    vector.forEach((value, i) => expect(value).toBeCloseTo(direct.embeddings[0]?.[i] as number, 6));
  });
});

describe('OpenAI’s Responses API', () => {
  it('answers the AI SDK’s default OpenAI provider (which calls /v1/responses), whole and streamed', async () => {
    const provider = createOpenAI({ baseURL: openaiBase, apiKey: 'unused' });
    const whole = await generateText({
      model: provider('tiny-llama'),
      system: 'Be brief.',
      prompt: 'Say hello.',
      maxOutputTokens: 5,
      temperature: 0,
    });
    expect(whole.text.length).toBeGreaterThan(0);
    expect(whole.usage.outputTokens).toBe(5);
    expect(whole.finishReason).toBe('length');
    const streamed = streamText({
      model: provider('tiny-llama'),
      system: 'Be brief.',
      prompt: 'Say hello.',
      maxOutputTokens: 5,
      temperature: 0,
    });
    let text = '';
    for await (const delta of streamed.textStream) text += delta;
    // Greedy: the stream's deltas add up to the whole answer.
    expect(text).toBe(whole.text);
    expect((await streamed.usage).outputTokens).toBe(5);
    const structured = await generateText({
      model: provider('tiny-llama'),
      output: Output.object({ schema: Person }),
      prompt: 'Describe a person.',
      maxOutputTokens: 64,
    });
    expect(Person.safeParse(structured.output).success).toBe(true);
  });

  // createOpenAI()(model) — the AI SDK's default — and Mastra's api: 'responses' call tools here.
  it.each([
    ['required', 'required' as const],
    ['named', { type: 'tool' as const, toolName: 'get_weather' as const }],
  ])(
    'the AI SDK’s default OpenAI provider makes the call a %s toolChoice asks for',
    async (_, toolChoice) => {
      const provider = createOpenAI({ baseURL: openaiBase, apiKey: 'unused' });
      const tools = { get_weather: tool({ description: 'The weather in a city', inputSchema: WeatherArgs }) };
      const whole = await generateText({
        model: provider('tiny-llama'),
        tools,
        toolChoice,
        prompt: 'Weather in Paris?',
        maxOutputTokens: 64,
      });
      expect(whole.finishReason).toBe('tool-calls');
      expect(whole.toolCalls.length).toBeGreaterThanOrEqual(1);
      for (const call of whole.toolCalls) {
        expect(call.toolName).toBe('get_weather');
        expect(WeatherArgs.safeParse(call.input).success).toBe(true);
      }
      const streamed = streamText({
        model: provider('tiny-llama'),
        tools,
        toolChoice,
        prompt: 'Weather in Paris?',
        maxOutputTokens: 64,
      });
      const calls = await streamed.toolCalls;
      expect(calls.length).toBeGreaterThanOrEqual(1);
      expect(calls.every((call) => WeatherArgs.safeParse(call.input).success)).toBe(true);
      expect(await streamed.finishReason).toBe('tool-calls');
    },
  );

  it('runs the AI SDK’s tool loop: the call is executed and its result goes back as function_call_output', async () => {
    const provider = createOpenAI({ baseURL: openaiBase, apiKey: 'unused' });
    const seen: unknown[] = [];
    const result = await generateText({
      model: provider('tiny-llama'),
      // VMM stores no responses: the items travel in each request, not as item_reference.
      providerOptions: { openai: { store: false } },
      tools: {
        get_weather: tool({
          description: 'The weather in a city',
          inputSchema: WeatherArgs,
          execute: async (input) => {
            seen.push(input);
            return { sky: 'sunny' };
          },
        }),
      },
      // The first step must call; the second may only answer.
      prepareStep: ({ stepNumber }) => ({ toolChoice: stepNumber === 0 ? 'required' : 'none' }),
      stopWhen: ({ steps }) => steps.length >= 2,
      prompt: 'Weather in Paris?',
      maxOutputTokens: 64,
    });
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0]?.finishReason).toBe('tool-calls');
    expect(result.steps[1]?.toolCalls).toHaveLength(0);
    expect(result.steps[1]?.usage.inputTokens).toBeGreaterThan(result.steps[0]?.usage.inputTokens ?? 0);
  });

  it('answers openai.responses.create with function tools, then takes the function output back', async () => {
    const openai = new OpenAI({ baseURL: openaiBase, apiKey: 'unused', maxRetries: 0 });
    const tools = [
      {
        type: 'function' as const,
        name: 'get_weather',
        description: 'The weather in a city',
        parameters: z.toJSONSchema(WeatherArgs) as Record<string, unknown>,
        strict: true,
      },
    ];
    const input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await openai.responses.create({
      model: 'tiny-llama',
      input,
      tools,
      tool_choice: { type: 'function', name: 'get_weather' },
      parallel_tool_calls: false,
      max_output_tokens: 64,
    });
    const calls = first.output.filter((item) => item.type === 'function_call');
    expect(calls).toHaveLength(1);
    const call = calls[0];
    if (call?.type !== 'function_call') throw new Error('no call');
    expect(call).toMatchObject({
      name: 'get_weather',
      status: 'completed',
      call_id: expect.stringMatching(/./),
    });
    expect(WeatherArgs.safeParse(JSON.parse(call.arguments)).success).toBe(true);
    expect(first.tools).toEqual([expect.objectContaining({ type: 'function', name: 'get_weather' })]);

    const second = await openai.responses.create({
      model: 'tiny-llama',
      input: [
        ...input,
        call,
        { type: 'function_call_output', call_id: call.call_id, output: '{"sky":"sunny"}' },
      ],
      tools,
      tool_choice: 'none',
      max_output_tokens: 4,
    });
    expect(second.output.map((item) => item.type)).toEqual(['message']);
    expect(second.usage?.input_tokens).toBeGreaterThan(first.usage?.input_tokens ?? 0);

    // The same first turn streamed: the call's events, and the same item in the final response.
    const types: string[] = [];
    let argumentsText = '';
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of await openai.responses.create({
      model: 'tiny-llama',
      input,
      tools,
      tool_choice: 'required',
      max_output_tokens: 64,
      stream: true,
    })) {
      types.push(event.type);
      if (event.type === 'response.function_call_arguments.delta') argumentsText += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(types).toEqual(
      expect.arrayContaining([
        'response.output_item.added',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.done',
        'response.output_item.done',
      ]),
    );
    expect(types.at(-1)).toBe('response.completed');
    const streamedCall = completed?.output.find((item) => item.type === 'function_call');
    expect(streamedCall?.type === 'function_call' && streamedCall.arguments).toBe(argumentsText);

    // Stored items cannot be pointed at.
    await expect(
      openai.responses.create({ model: 'tiny-llama', input: [{ type: 'item_reference', id: 'fc_1' }] }),
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/item_reference needs stored responses/),
    });
  });

  it('answers the official openai client’s responses.create, and its stream events', async () => {
    const openai = new OpenAI({ baseURL: openaiBase, apiKey: 'unused', maxRetries: 0 });
    const response = await openai.responses.create({
      model: 'tiny-llama',
      instructions: 'Be brief.',
      input: [{ role: 'user', content: 'Hello' }],
      max_output_tokens: 4,
      temperature: 0,
    });
    expect(response).toMatchObject({
      object: 'response',
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
    });
    expect(response.usage?.output_tokens).toBe(4);
    expect(response.output_text.length).toBeGreaterThan(0);
    const types: string[] = [];
    let streamed = '';
    for await (const event of await openai.responses.create({
      model: 'tiny-llama',
      instructions: 'Be brief.',
      input: [{ role: 'user', content: 'Hello' }],
      max_output_tokens: 4,
      temperature: 0,
      stream: true,
    })) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') streamed += event.delta;
    }
    expect(streamed).toBe(response.output_text);
    expect(types[0]).toBe('response.created');
    expect(types).toEqual(
      expect.arrayContaining(['response.output_item.added', 'response.output_text.done']),
    );
    expect(types.at(-1)).toBe('response.incomplete');
    await expect(
      openai.responses.create({ model: 'tiny-llama', input: 'x', previous_response_id: 'resp_1' }),
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/previous_response_id is not supported/),
    });
  });
});

describe('official clients', () => {
  it('ollama: embed, a schema format and tools', async () => {
    const ollama = new Ollama({ host: gateway.url });
    const embedded = await ollama.embed({ model: 'mini-embed', input: ['the town', 'the sea'] });
    expect(embedded.embeddings).toHaveLength(2);
    const chat = await ollama.chat({
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'A person?' }],
      format: z.toJSONSchema(Person),
      options: { num_predict: 64 },
    });
    expect(Person.safeParse(JSON.parse(chat.message.content)).success).toBe(true);
    const withTools = await ollama.chat({
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'weather',
            parameters: z.toJSONSchema(WeatherArgs) as never,
          },
        },
      ],
      options: { num_predict: 8 },
    });
    expect(withTools.done).toBe(true);
  });

  it('openai: embeddings, parse with a schema, and a required tool call', async () => {
    const openai = new OpenAI({ baseURL: openaiBase, apiKey: 'unused', maxRetries: 0 });
    const embeddings = await openai.embeddings.create({ model: 'mini-embed', input: ['the town'] });
    expect(embeddings.data[0]?.embedding).toHaveLength(64);
    const parsed = await openai.chat.completions.parse({
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'A person?' }],
      response_format: zodResponseFormat(Person, 'person'),
      max_tokens: 64,
    });
    expect(Person.safeParse(parsed.choices[0]?.message.parsed).success).toBe(true);
    const called = await openai.chat.completions.create({
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            parameters: z.toJSONSchema(WeatherArgs) as Record<string, unknown>,
          },
        },
      ],
      tool_choice: 'required',
      max_tokens: 64,
    });
    const call = called.choices[0]?.message.tool_calls?.[0];
    expect(
      call?.type === 'function' && WeatherArgs.safeParse(JSON.parse(call.function.arguments)).success,
    ).toBe(true);
  });
});
