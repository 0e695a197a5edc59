// Images in chat (issue 33): vision-language folders as onnx-community publishes them (vision
// encoder, token embedding, decoder on inputs_embeds; SmolVLM/Idefics3 and Qwen2-VL with its
// multimodal positions) must generate what transformers.js's
// image-text-to-text generation writes from the same folder, token for token, for prompts with
// one and with two images; and sequences with and without images batched together must write
// what each writes alone.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type VlmFolder, writeInChild, writeLlamaFolder, writeVlmFolder } from '@vmm/model-fixtures';
import sharp from 'sharp';
import { type ChatMessage, LlmRunner } from '../src/index.js';
import { collect } from './collect.js';

const root = mkdtempSync(join(tmpdir(), 'vmm-vlm-'));
const TOKENS = 32;
const BUDGET = 240_000;
let folder: VlmFolder;
const pictures: Record<string, { path: string; bytes: Uint8Array }> = {};

/** A picture with a pattern (so tiles differ), as PNG or JPEG. */
async function picture(width: number, height: number, seed: number, format: 'png' | 'jpeg'): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const i = (y * width + x) * 3;
      data[i] = (x * seed + y * 3) % 256;
      data[i + 1] = Math.round(127.5 + 127.5 * Math.sin((x - y) / (4 + seed)));
      data[i + 2] = ((x >> 4) ^ (y >> 4)) & 1 ? 230 : 20;
    }
  }
  const image = sharp(data, { raw: { width, height, channels: 3 } });
  return format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: 90 }).toBuffer();
}

/** Each layout's folder, by the name transformers.js finds it under. */
const layouts = { smolvlm: '', qwen2vl: '' } as Record<'smolvlm' | 'qwen2vl', string>;
let qwenEos: number[] = [];

beforeAll(async () => {
  folder = writeVlmFolder(join(root, 'smolvlm'), { layout: 'idefics3', seed: 33 });
  layouts.smolvlm = folder.dir;
  // Qwen's real 151 936-token vocabulary: written in a plain Node process (jest's vm is slow at it).
  const qwen = writeInChild('writeQwen2VlFolder', join(root, 'qwen2vl'), { seed: 33 });
  layouts.qwen2vl = qwen.dir;
  qwenEos = qwen.eosTokenIds;
  for (const [key, width, height, seed, format] of [
    ['wide', 640, 360, 5, 'jpeg'],
    ['tall', 300, 500, 11, 'png'],
    ['small', 200, 200, 3, 'png'],
  ] as const) {
    const bytes = await picture(width, height, seed, format);
    const path = join(root, `${key}.${format}`);
    writeFileSync(path, bytes);
    pictures[key] = { path, bytes: new Uint8Array(bytes) };
  }
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** transformers.js on the folder, in a plain Node process (see transformers-vlm-greedy.mjs). */
async function transformersJs(
  messages: object[],
  images: string[],
  name: keyof typeof layouts = 'smolvlm',
): Promise<{ promptIds: number[]; generated: number[] }> {
  const script = new URL('./transformers-vlm-greedy.mjs', import.meta.url).pathname;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [script, JSON.stringify({ root, name, messages, images, tokens: TOKENS })],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as { promptIds: number[]; generated: number[] };
}

const open = (maxBatch = 8, layout: keyof typeof layouts = 'smolvlm') =>
  LlmRunner.open({
    dir: layouts[layout],
    file: 'onnx/decoder_model_merged.onnx',
    session: { backend: 'cpu', intraOpThreads: 1 },
    batching: { maxBatch },
  });

const greedy = { temperature: 0, repetitionPenalty: 1, maxTokens: TOKENS };

describe.each([
  ['SmolVLM (Idefics3)', 'smolvlm'],
  ['Qwen2-VL', 'qwen2vl'],
] as const)('transformers.js on the same %s folder', (_, layout) => {
  it.each([
    ['one image', ['wide'], 'What is in this picture?'],
    ['two images', ['tall', 'small'], 'Which of the two is brighter?'],
  ] as const)(
    '%s: VMM greedy equals transformers.js image-text-to-text for 32 tokens',
    async (_, keys, question) => {
      const images = keys.map((key) => pictures[key] as { path: string; bytes: Uint8Array });
      const runner = await open(8, layout);
      let ours: Awaited<ReturnType<typeof collect>>;
      try {
        expect(runner.info.takesImages).toBe(true);
        ours = await collect(
          runner.chat({
            messages: [
              { role: 'user', content: question, images: images.map((image) => ({ data: image.bytes })) },
            ],
            options: greedy,
          }),
        );
      } finally {
        await runner.close();
      }
      const { promptIds, generated } = await transformersJs(
        [
          {
            role: 'user',
            content: [...keys.map(() => ({ type: 'image' })), { type: 'text', text: question }],
          },
        ],
        images.map((image) => image.path),
        layout,
      );
      expect(ours.done?.promptTokens).toBe(promptIds.length);
      const eos = layout === 'smolvlm' ? folder.eosTokenIds : qwenEos;
      const stop = generated.findIndex((id) => eos.includes(id));
      const expected = stop < 0 ? generated : generated.slice(0, stop);
      expect(ours.ids).toEqual(expected);
      expect(expected.length).toBeGreaterThan(4);
    },
    BUDGET,
  );
});

describe('serving pictures', () => {
  it.each(['smolvlm', 'qwen2vl'] as const)(
    '%s: writes what each sequence writes alone when image and text-only chats are batched together',
    async (layout) => {
      const conversations: ChatMessage[][] = [
        [
          {
            role: 'user',
            content: 'Describe it.',
            images: [{ data: (pictures.wide as { bytes: Uint8Array }).bytes }],
          },
        ],
        [{ role: 'user', content: 'Tell me about the sea and the old lighthouse keeper.' }],
        [
          {
            role: 'user',
            content: 'Compare these.',
            images: [
              { data: (pictures.small as { bytes: Uint8Array }).bytes },
              { data: (pictures.tall as { bytes: Uint8Array }).bytes },
            ],
          },
        ],
        [
          {
            role: 'user',
            content: 'Describe it.',
            images: [{ data: (pictures.small as { bytes: Uint8Array }).bytes }],
          },
        ],
      ];
      // Alone: one sequence at a time, nothing cached between them.
      const alone: number[][] = [];
      for (const messages of conversations) {
        const runner = await open(1, layout);
        try {
          alone.push((await collect(runner.chat({ messages, options: greedy }))).ids);
        } finally {
          await runner.close();
        }
      }
      const runner = await open(4, layout);
      try {
        const together = await Promise.all(
          conversations.map((messages) => collect(runner.chat({ messages, options: greedy }))),
        );
        expect(together.map((result) => result.ids)).toEqual(alone);
        const stats = await runner.stats();
        expect(stats.running).toBe(0);
      } finally {
        await runner.close();
      }
      // Each picture changes what is written: the runs differ from one another.
      expect(new Set(alone.map((ids) => ids.join(','))).size).toBe(conversations.length);
    },
    BUDGET,
  );

  it(
    'reuses a cached prefix only where the same picture sits in the same place',
    async () => {
      const wide = (pictures.wide as { bytes: Uint8Array }).bytes;
      const tall = (pictures.tall as { bytes: Uint8Array }).bytes;
      const turn = (data: Uint8Array, content: string): ChatMessage[] => [
        { role: 'user', content, images: [{ data }] },
      ];
      const runner = await open(1);
      try {
        const first = await collect(runner.chat({ messages: turn(wide, 'Describe it.'), options: greedy }));
        // The same picture, a new question: everything up to the question is reused.
        const again = await collect(runner.chat({ messages: turn(wide, 'What colours?'), options: greedy }));
        let stats = await runner.stats();
        expect(stats.prefixCacheHits).toBe(1);
        // 640×360 is scaled to 2048×1152 and cut into 4×3 tiles and the whole: 13 × 64 image rows.
        expect(stats.prefixCacheTokens).toBeGreaterThan(13 * 64);
        expect(stats.prefixCacheTokens).toBeLessThan(first.done?.promptTokens ?? 0);
        // Another picture with the first question: token for token the same prompt but for the
        // picture's rows, which must not be taken from the cache.
        const other = await collect(
          runner.chat({ messages: turn(Buffer.from(tall), 'Describe it.'), options: greedy }),
        );
        stats = await runner.stats();
        expect(stats.prefixCacheHits).toBe(1);
        // And each answer is what a fresh model writes.
        for (const [messages, result] of [
          [turn(wide, 'What colours?'), again],
          [turn(tall, 'Describe it.'), other],
        ] as const) {
          const fresh = await open(1);
          try {
            expect((await collect(fresh.chat({ messages, options: greedy }))).ids).toEqual(result.ids);
          } finally {
            await fresh.close();
          }
        }
      } finally {
        await runner.close();
      }
    },
    BUDGET,
  );

  it.each([
    [
      'more images than the limit',
      () => Array.from({ length: 3 }, () => ({ data: (pictures.small as { bytes: Uint8Array }).bytes })),
      'invalid_argument',
      /3 images in one request; at most 2/,
    ],
    [
      'a picture over the pixel limit',
      () => [{ data: (pictures.wide as { bytes: Uint8Array }).bytes }],
      'payload_too_large',
      /640×360 pixels; the limit is 100000/,
    ],
    [
      'bytes that are no picture',
      () => [{ data: new TextEncoder().encode('not an image at all') }],
      'invalid_argument',
      /not a readable image/,
    ],
    ['an empty picture', () => [{ data: new Uint8Array(0) }], 'invalid_argument', /empty/],
  ] as const)(
    'refuses %s before any compute',
    async (_, images, code, message) => {
      const runner = await LlmRunner.open({
        dir: folder.dir,
        file: 'onnx/decoder_model_merged.onnx',
        session: { backend: 'cpu', intraOpThreads: 1 },
        images: { maxImages: 2, maxPixels: 100_000 },
      });
      try {
        const error = await collect(
          runner.chat({
            messages: [{ role: 'user', content: 'Describe it.', images: images() }],
            options: greedy,
          }),
        ).catch((caught: unknown) => caught);
        expect(error).toMatchObject({ code });
        expect((error as Error).message).toMatch(message);
        expect((await runner.stats()).running).toBe(0);
      } finally {
        await runner.close();
      }
    },
    BUDGET,
  );

  it(
    'refuses a prompt that names more image places than it sends images',
    async () => {
      const runner = await open(1);
      try {
        const error = await collect(
          runner.chat({
            messages: [
              {
                role: 'user',
                content: 'Here: <image> and',
                images: [{ data: (pictures.small as { bytes: Uint8Array }).bytes }],
              },
            ],
            options: greedy,
          }),
        ).catch((caught: unknown) => caught);
        expect(error).toMatchObject({ code: 'invalid_argument' });
        expect((error as Error).message).toMatch(/2 image places \(<image>\) for 1 images/);
      } finally {
        await runner.close();
      }
    },
    BUDGET,
  );

  it(
    'a text-only model refuses images',
    async () => {
      const text = writeLlamaFolder(join(root, 'text-only'), { preset: 'tiny', variants: ['fp32'] });
      const runner = await LlmRunner.open({
        dir: text.dir,
        file: 'onnx/model.onnx',
        session: { backend: 'cpu', intraOpThreads: 1 },
      });
      try {
        expect(runner.info.takesImages).toBe(false);
        const error = await collect(
          runner.generate({
            prompt: 'Describe it.',
            images: [(pictures.small as { bytes: Uint8Array }).bytes],
            options: greedy,
          }),
        ).catch((caught: unknown) => caught);
        expect(error).toMatchObject({ code: 'invalid_argument', field: 'images' });
        expect((error as Error).message).toMatch(/does not read images/);
      } finally {
        await runner.close();
      }
    },
    BUDGET,
  );

  it(
    'checks the rest of a request before it decodes a picture',
    async () => {
      const runner = await open(1);
      try {
        // Bytes that are no picture and a switch the model lacks: the switch is named, not the picture.
        const error = await collect(
          runner.chat({
            messages: [
              {
                role: 'user',
                content: 'Describe it.',
                images: [{ data: new TextEncoder().encode('no picture') }],
              },
            ],
            think: true,
            options: greedy,
          }),
        ).catch((caught: unknown) => caught);
        expect(error).toMatchObject({ code: 'invalid_argument', field: 'think' });
      } finally {
        await runner.close();
      }
    },
    BUDGET,
  );
});
