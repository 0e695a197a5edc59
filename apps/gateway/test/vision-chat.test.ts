// Images in chat (issue 33) through every face a client uses: Ollama's `images` on /api/chat
// and /api/generate, OpenAI's image_url parts, /v1/responses' input_image, and the clients and
// frameworks people use unchanged (ollama, openai, LangChain, the AI SDK). A greedy answer about
// the same picture and question is the same whichever way the picture came; another picture
// gives another answer; what cannot be served is refused with a clear 4xx.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { HumanMessage } from '@langchain/core/messages';
import { ChatOllama } from '@langchain/ollama';
import { ChatOpenAI } from '@langchain/openai';
import { writeLlamaFolder, writeVlmFolder } from '@vmm/model-fixtures';
import { generateText } from 'ai';
import { Ollama } from 'ollama';
import { createOllama } from 'ollama-ai-provider-v2';
import OpenAI from 'openai';
import sharp from 'sharp';
import {
  cpuWorkers,
  gatewayConfig,
  startGateway,
  type RunningGateway,
  useGateway,
  useWorkerOn,
} from './harness.js';

const MODEL = 'smolvlm';
const QUESTION = 'What is in this picture?';
const TOKENS = 12;

const workers = useWorkerOn(
  (dir) => {
    // Tiles of 512 from a long side of 1024: a 300×200 picture is 2×2 tiles and the whole, 320 image rows.
    writeVlmFolder(join(dir, MODEL), { layout: 'idefics3', seed: 33, processor: { longestEdge: 1024 } });
    writeLlamaFolder(join(dir, 'tiny-llama'));
  },
  { VMM_MAX_CHAT_IMAGES: '3', VMM_MAX_IMAGE_PIXELS: '2000000' },
);
const gateway = useGateway(() => gatewayConfig(cpuWorkers(workers)));

let red: Buffer;
let blue: Buffer;
const dataUrl = (png: Buffer) => `data:image/png;base64,${png.toString('base64')}`;

beforeAll(async () => {
  const picture = (r: number, g: number, b: number) =>
    sharp({ create: { width: 300, height: 200, channels: 3, background: { r, g, b } } })
      .composite([
        {
          input: { create: { width: 80, height: 60, channels: 3, background: { r: b, g: r, b: g } } },
          left: 40,
          top: 30,
        },
      ])
      .png()
      .toBuffer();
  red = await picture(220, 40, 30);
  blue = await picture(20, 60, 230);
});

const post = (path: string, body: unknown) =>
  fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

// Ollama's repeat_penalty defaults to 1.1, OpenAI has none: 1 everywhere, so every way matches.
const greedy = { temperature: 0, num_predict: TOKENS, repeat_penalty: 1 };

/** Ollama's answer about `png`, the reference every other way is checked against. */
async function ollamaAnswer(png: Buffer): Promise<{ content: string; promptTokens: number }> {
  const response = await post('/api/chat', {
    model: MODEL,
    stream: false,
    messages: [{ role: 'user', content: QUESTION, images: [png.toString('base64')] }],
    options: greedy,
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { message: { content: string }; prompt_eval_count: number };
  return { content: body.message.content, promptTokens: body.prompt_eval_count };
}

describe('a vision-language model through the HTTP API', () => {
  let reference: { content: string; promptTokens: number };
  beforeAll(async () => {
    reference = await ollamaAnswer(red);
  }, 120_000);

  it('reads the picture: another picture, another answer; image rows counted as prompt tokens', async () => {
    const other = await ollamaAnswer(blue);
    expect(reference.content.length).toBeGreaterThan(0);
    expect(other.content).not.toBe(reference.content);
    // 5 tiles × 64 rows, and the text around them.
    expect(reference.promptTokens).toBeGreaterThan(5 * 64);
    expect(other.promptTokens).toBe(reference.promptTokens);
  });

  it('says `vision` in /api/show for the model that sees, not for a text model', async () => {
    const show = async (model: string) =>
      ((await (await post('/api/show', { model })).json()) as { capabilities: string[] }).capabilities;
    expect(await show(MODEL)).toEqual(expect.arrayContaining(['completion', 'vision']));
    expect(await show('tiny-llama')).not.toContain('vision');
  });

  it('the official ollama client: chat and generate with images', async () => {
    const ollama = new Ollama({ host: gateway.url });
    const chat = await ollama.chat({
      model: MODEL,
      messages: [{ role: 'user', content: QUESTION, images: [new Uint8Array(red)] }],
      options: greedy,
    });
    expect(chat.message.content).toBe(reference.content);
    // /api/generate renders the prompt through the template as one user turn, the picture first.
    const generated = await ollama.generate({
      model: MODEL,
      prompt: QUESTION,
      images: [red.toString('base64')],
      options: greedy,
    });
    expect(generated.response).toBe(reference.content);
    expect(generated.prompt_eval_count).toBe(reference.promptTokens);
  });

  it('the official openai client: image_url data URLs in chat completions, input_image in responses', async () => {
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const completion = await openai.chat.completions.create({
      model: MODEL,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: dataUrl(red), detail: 'auto' } },
            { type: 'text', text: QUESTION },
          ],
        },
      ],
      temperature: 0,
      max_tokens: TOKENS,
    });
    expect(completion.choices[0]?.message.content).toBe(reference.content);
    expect(completion.usage?.prompt_tokens).toBe(reference.promptTokens);
    const response = await openai.responses.create({
      model: MODEL,
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_image', image_url: dataUrl(red), detail: 'auto' },
            { type: 'input_text', text: QUESTION },
          ],
        },
      ],
      temperature: 0,
      max_output_tokens: TOKENS,
    });
    expect(response.output_text).toBe(reference.content);
  });

  it('LangChain: ChatOllama and ChatOpenAI with an image content part', async () => {
    const message = () =>
      new HumanMessage({
        content: [
          { type: 'image_url', image_url: dataUrl(red) },
          { type: 'text', text: QUESTION },
        ],
      });
    const ollama = new ChatOllama({
      model: MODEL,
      baseUrl: gateway.url,
      temperature: 0,
      numPredict: TOKENS,
      repeatPenalty: 1,
    });
    // LangChain's Ollama integration sends each content part as a message of its own (the
    // picture in one user turn, the text in the next): the answer is Ollama's for those two.
    const split = await post('/api/chat', {
      model: MODEL,
      stream: false,
      messages: [
        { role: 'user', content: '', images: [red.toString('base64')] },
        { role: 'user', content: QUESTION },
      ],
      options: greedy,
    });
    const expected = ((await split.json()) as { message: { content: string } }).message.content;
    expect((await ollama.invoke([message()])).content).toBe(expected);
    const openai = new ChatOpenAI({
      model: MODEL,
      apiKey: 'unused',
      temperature: 0,
      maxTokens: TOKENS,
      configuration: { baseURL: `${gateway.url}/v1` },
    });
    expect((await openai.invoke([message()])).content).toBe(reference.content);
  });

  it('the AI SDK: an image part through the OpenAI-compatible and Ollama providers', async () => {
    const messagesWith = (image: Uint8Array | string) => [
      {
        role: 'user' as const,
        content: [
          { type: 'image' as const, image, mediaType: 'image/png' },
          { type: 'text' as const, text: QUESTION },
        ],
      },
    ];
    const compatible = createOpenAICompatible({ name: 'vmm', baseURL: `${gateway.url}/v1` });
    const viaOpenAi = await generateText({
      model: compatible(MODEL),
      messages: messagesWith(new Uint8Array(red)),
      temperature: 0,
      maxOutputTokens: TOKENS,
    });
    expect(viaOpenAi.text).toBe(reference.content);
    const ollama = createOllama({ baseURL: `${gateway.url}/api` });
    const viaOllama = await generateText({
      providerOptions: { ollama: { options: { repeat_penalty: 1 } } },
      model: ollama(MODEL),
      // This provider puts bytes into `images` as they are (JSON makes an object of them, which
      // Ollama refuses too): it is given the picture as base64.
      messages: messagesWith(red.toString('base64')),
      temperature: 0,
      maxOutputTokens: TOKENS,
    });
    expect(viaOllama.text).toBe(reference.content);
  });
});

describe('refusals', () => {
  const chatWith = (images: string[], model = MODEL) =>
    post('/api/chat', {
      model,
      stream: false,
      messages: [{ role: 'user', content: QUESTION, images }],
      options: greedy,
    });

  it('a text model given an image: 400 naming the model', async () => {
    const response = await chatWith([red.toString('base64')], 'tiny-llama');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(
      /model "tiny-llama:latest" does not read images/,
    );
    const openai = await post('/v1/chat/completions', {
      model: 'tiny-llama',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl(red) } }] }],
    });
    expect(openai.status).toBe(400);
    expect(((await openai.json()) as { error: { message: string } }).error.message).toMatch(/tiny-llama/);
  });

  it('more images than VMM_MAX_CHAT_IMAGES: 400', async () => {
    const response = await chatWith(Array.from({ length: 4 }, () => red.toString('base64')));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(
      /4 images in one request; at most 3/,
    );
  });

  it('a picture over VMM_MAX_IMAGE_PIXELS: 413 before it is decoded', async () => {
    const huge = await sharp({ create: { width: 2000, height: 1500, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const response = await chatWith([huge.toString('base64')]);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: string }).error).toMatch(
      /2000×1500 pixels; the limit is 2000000/,
    );
  });

  it('bytes that are no picture: 400', async () => {
    const response = await chatWith([Buffer.from('this is not a picture').toString('base64')]);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/not a readable image/);
  });

  it('a remote image URL when the gateway may not fetch: 400 saying how to send it', async () => {
    const response = await post('/v1/chat/completions', {
      model: MODEL,
      messages: [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://127.0.0.1:9/cat.png' } }] },
      ],
    });
    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { message: string; param?: string } }).error;
    expect(error.message).toMatch(/VMM_ALLOW_IMAGE_URLS is off.*data URL/);
  });
});

describe('remote image URLs with VMM_ALLOW_IMAGE_URLS', () => {
  let server: Server;
  let base: string;
  let fetching: RunningGateway;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/red.png') res.writeHead(200, { 'content-type': 'image/png' }).end(red);
      else if (req.url === '/big.png')
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': 65536 }).end(Buffer.alloc(65536));
      // No length said: counted as it arrives.
      else if (req.url === '/big-chunked.png') {
        res.writeHead(200, { 'content-type': 'image/png' });
        res.write(Buffer.alloc(20_000));
        res.end(Buffer.alloc(20_000));
      } else if (req.url === '/page')
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
      // Never answers: the fetch's time bound ends it.
      else if (req.url === '/slow.png') res.writeHead(200, { 'content-type': 'image/png' });
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    fetching = await startGateway(
      gatewayConfig(cpuWorkers(workers), { imageUrls: { maxBytes: 32 * 1024, timeoutMs: 1500 } }),
    );
  });
  afterAll(async () => {
    await fetching?.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const ask = (url: string) =>
    fetch(`${fetching.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: MODEL,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url } },
              { type: 'text', text: QUESTION },
            ],
          },
        ],
        temperature: 0,
        max_tokens: TOKENS,
      }),
    });

  it('fetches the picture and answers as for the same picture sent inline', async () => {
    const inline = (await (await ask(dataUrl(red))).json()) as {
      choices: { message: { content: string } }[];
    };
    const response = await ask(`${base}/red.png`);
    expect(response.status).toBe(200);
    const remote = (await response.json()) as { choices: { message: { content: string } }[] };
    expect(remote.choices[0]?.message.content).toBe(inline.choices[0]?.message.content);
  });

  it.each([
    ['/missing.png', /answered 404/],
    ['/page', /text\/html, not an image/],
    ['/big.png', /65536 bytes; the limit is 32768/],
    ['/big-chunked.png', /more than 32768 bytes/],
    ['/slow.png', /within 1500 ms/],
  ])('refuses %s with a 400 saying why', async (path, why) => {
    const response = await ask(`${base}${path}`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(why);
  });
});
