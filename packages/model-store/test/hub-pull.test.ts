import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeHub, waitFor, type FakeHub } from '@vmm/test-support';
import { ErrorCode } from '@vmm/errors';
import { HubPuller, hubReference, ModelStore, PullCoordinator, type PullProgress } from '../src/index.js';

const sha = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

// A repository laid out as an Optimum export: configuration, tokenizer, two ONNX variants (one
// with external data), and weights VMM must not fetch.
const graph = randomBytes(300_000);
const q4 = randomBytes(40_000);
const q4Data = randomBytes(200_000);
const files = new Map<string, Buffer>([
  ['config.json', Buffer.from('{"model_type":"llama"}')],
  ['tokenizer.json', Buffer.from('{"model":{}}')],
  ['tokenizer_config.json', Buffer.from('{}')],
  ['README.md', Buffer.from('# a model')],
  ['model.safetensors', randomBytes(5000)],
  ['onnx/model.onnx', graph],
  ['onnx/model_q4.onnx', q4],
  ['onnx/model_q4.onnx_data', q4Data],
]);

// A vision-language export as onnx-community publishes SmolVLM: three graphs in variants.
const vlmFiles = new Map<string, Buffer>([
  ['config.json', Buffer.from('{"model_type":"idefics3"}')],
  ['preprocessor_config.json', Buffer.from('{}')],
  ['processor_config.json', Buffer.from('{}')],
  ['tokenizer.json', Buffer.from('{"model":{}}')],
  ['tokenizer_config.json', Buffer.from('{}')],
  ['onnx/vision_encoder.onnx', randomBytes(30_000)],
  ['onnx/vision_encoder_q4.onnx', randomBytes(20_000)],
  ['onnx/embed_tokens.onnx', randomBytes(20_000)],
  ['onnx/decoder_model_merged.onnx', randomBytes(40_000)],
  ['onnx/decoder_model_merged_q4.onnx', randomBytes(20_000)],
  ['onnx/decoder_model_merged_fp16.onnx', randomBytes(20_000)],
]);

let hub: FakeHub;
let dir: string;
let store: ModelStore;
const token = 'hf_test_token_0123456789';

beforeAll(async () => {
  hub = await startFakeHub(
    {
      'org/tiny': { files },
      'org/gated': { files, private: true },
      'org/no-onnx': { files: new Map([['config.json', Buffer.from('{}')]]) },
      'org/vlm': { files: vlmFiles },
    },
    { token, pageSize: 3 },
  );
});
afterAll(() => hub.close());

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmm-pull-'));
  store = new ModelStore(dir);
  hub.requests.length = 0;
  hub.throttle(undefined);
  hub.blackHole(false);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function puller(options: { token?: string; maxBytes?: number } = {}) {
  return new HubPuller(store, { endpoint: hub.url, maxBytes: options.maxBytes ?? 1e9, token: options.token });
}

async function pull(name: string, p = puller(), signal = new AbortController().signal) {
  const lines: PullProgress[] = [];
  const reference = hubReference(name);
  if (!reference) throw new Error(`not a hub name: ${name}`);
  const manifest = await p.pull(
    reference,
    (line) => lines.push(line),
    signal,
    () => undefined,
  );
  return { manifest, lines };
}

describe('pulling from a Hugging Face Hub repository', () => {
  it('fetches the configuration, tokenizer and default variant, in Ollama progress lines', async () => {
    const { manifest, lines } = await pull('hf.co/org/tiny');
    expect(manifest.files.map((file) => file.path)).toEqual([
      'config.json',
      'onnx/model.onnx',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    expect(manifest.name).toBe('hf.co/org/tiny:latest');
    expect(manifest.source).toMatchObject({
      repo: 'org/tiny',
      revision: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    const resolved = store.resolve('hf.co/org/tiny');
    expect(readFileSync(join(resolved?.dir ?? '', 'onnx/model.onnx')).equals(graph)).toBe(true);
    // Ollama's shape: status lines, then per file digest/total/completed, then the closing steps.
    expect(lines[0]).toEqual({ status: 'pulling manifest' });
    expect(lines.slice(-3).map((line) => line.status)).toEqual([
      'verifying sha256 digest',
      'writing manifest',
      'success',
    ]);
    const graphLines = lines.filter((line) => line.digest === sha(graph));
    expect(graphLines[0]).toMatchObject({
      status: `pulling ${sha(graph).slice(7, 19)}`,
      total: graph.byteLength,
    });
    expect(graphLines.at(-1)).toMatchObject({ completed: graph.byteLength });
    // Paged file list (3 per page), and LFS files through the "CDN" on another origin.
    expect(hub.requests.filter((request) => request.path.includes('/tree/')).length).toBe(3);
    expect(hub.requests.some((request) => request.server === 'cdn')).toBe(true);
  });

  it('picks a variant by tag, with its external data', async () => {
    const { manifest } = await pull('hf.co/org/tiny:q4');
    expect(manifest.files.map((file) => file.path)).toContain('onnx/model_q4.onnx_data');
    expect(manifest.files.map((file) => file.path)).not.toContain('onnx/model.onnx');
    await expect(pull('hf.co/org/tiny:fp16')).rejects.toThrow(/has no fp16 ONNX file/);
  });

  it('pulls a vision-language export: the decoder of the variant asked for, with its encoder and embedding', async () => {
    const graphs = (manifest: { files: { path: string }[] }) =>
      manifest.files.map((file) => file.path).filter((path) => path.endsWith('.onnx'));
    const plain = await pull('hf.co/org/vlm');
    expect(graphs(plain.manifest)).toEqual([
      'onnx/decoder_model_merged.onnx',
      'onnx/embed_tokens.onnx',
      'onnx/vision_encoder.onnx',
    ]);
    expect(plain.manifest.files.map((file) => file.path)).toContain('preprocessor_config.json');
    // No embed_tokens_q4.onnx in the repository: the full-precision one comes with the q4 decoder.
    const q4 = await pull('hf.co/org/vlm:q4');
    expect(graphs(q4.manifest)).toEqual([
      'onnx/decoder_model_merged_q4.onnx',
      'onnx/embed_tokens.onnx',
      'onnx/vision_encoder_q4.onnx',
    ]);
  });

  it('resumes a dropped download with a Range request and checks the digest', async () => {
    hub.dropAfter('onnx/model.onnx', 100_000);
    const { manifest } = await pull('hf.co/org/tiny');
    // What arrived before the drop is not fetched again.
    const ranged = hub.requests.filter((request) => request.server === 'cdn' && request.range !== undefined);
    expect(ranged.map((request) => request.range)).toEqual(['bytes=100000-']);
    expect(readFileSync(store.blobPath(manifest.files[1]?.digest ?? '')).equals(graph)).toBe(true);
  });

  it('resumes in a later pull what an earlier one left, and never shows a partial model', async () => {
    hub.dropAfter('onnx/model.onnx', 120_000);
    const once = new HubPuller(store, { endpoint: hub.url, maxBytes: 1e9, attempts: 1 });
    await expect(pull('hf.co/org/tiny', once)).rejects.toMatchObject({ code: ErrorCode.Unavailable });
    expect(store.resolve('hf.co/org/tiny')).toBeUndefined();
    const kept = statSync(store.partialPath(`${sha(graph).replace(':', '-')}.part`)).size;
    expect(kept).toBe(120_000);
    await pull('hf.co/org/tiny');
    expect(hub.requests.filter((r) => r.server === 'cdn' && r.range === `bytes=${kept}-`).length).toBe(1);
    expect(readdirSync(join(store.home, 'partial'))).toEqual([]);
  });

  it('refuses a file that does not match its sha256, and deletes it', async () => {
    hub.corrupt('onnx/model_q4.onnx_data');
    await expect(pull('hf.co/org/tiny:q4')).rejects.toThrow(/hashes to sha256:[0-9a-f]+, not the Hub's/);
    expect(store.resolve('hf.co/org/tiny:q4')).toBeUndefined();
    expect(store.hasBlob(sha(q4Data))).toBe(false);
  });

  it('sends HF_TOKEN to the Hub only, never to the CDN it redirects to', async () => {
    await expect(pull('hf.co/org/gated')).rejects.toMatchObject({ code: ErrorCode.PermissionDenied });
    hub.requests.length = 0;
    await pull('hf.co/org/gated', puller({ token }));
    expect(hub.requests.filter((r) => r.server === 'hub').every((r) => r.authorized)).toBe(true);
    expect(hub.requests.filter((r) => r.server === 'cdn').some((r) => r.authorized)).toBe(false);
  });

  it('says what is wrong: no repository, no ONNX export, over the size limit', async () => {
    await expect(pull('hf.co/org/missing')).rejects.toMatchObject({ code: ErrorCode.NotFound });
    await expect(pull('hf.co/org/no-onnx')).rejects.toThrow(/has no ONNX export/);
    await expect(pull('hf.co/org/tiny', puller({ maxBytes: 1000 }))).rejects.toThrow(
      /more than the pull limit/,
    );
  });

  it('coalesces concurrent pulls, replays progress to a late joiner, and stops when all leave', async () => {
    const runs: string[] = [];
    const p = puller();
    const coordinator = new PullCoordinator(async (name, progress, signal) => {
      runs.push(name);
      const reference = hubReference(name);
      if (!reference) throw new Error(name);
      await p.pull(reference, progress, signal, () => undefined);
    }, 2);
    hub.throttle(1_000_000);
    const first: PullProgress[] = [];
    const second: PullProgress[] = [];
    const one = coordinator.pull(
      'hf.co/org/tiny:latest',
      (line) => first.push(line),
      new AbortController().signal,
    );
    await waitFor('the first pull to be downloading', () =>
      first.some((line) => (line.completed ?? 0) > 0 && line.digest === sha(graph)),
    );
    const two = coordinator.pull(
      'hf.co/org/tiny:latest',
      (line) => second.push(line),
      new AbortController().signal,
    );
    await Promise.all([one, two]);
    expect(runs).toEqual(['hf.co/org/tiny:latest']);
    expect(second[0]).toEqual({ status: 'pulling manifest' });
    expect(second.at(-1)).toEqual({ status: 'success' });
    expect(hub.requests.filter((request) => request.server === 'cdn').length).toBe(1);

    // Cancellation: the only caller leaves; the download stops and leaves no model.
    const leaving = new AbortController();
    const lines: PullProgress[] = [];
    const cancelled = coordinator.pull('hf.co/org/tiny:q4', (line) => lines.push(line), leaving.signal);
    await waitFor('the q4 pull to be downloading', () =>
      lines.some((line) => (line.completed ?? 0) > 0 && line.digest === sha(q4Data)),
    );
    leaving.abort();
    await expect(cancelled).rejects.toMatchObject({ code: ErrorCode.Cancelled });
    await waitFor('the cancelled pull to stop', () => coordinator.active().length === 0);
    expect(store.resolve('hf.co/org/tiny:q4')).toBeUndefined();
    expect(existsSync(store.partialPath(`${sha(q4Data).replace(':', '-')}.part`))).toBe(true);
  });
});

describe('a Hub that misbehaves', () => {
  // Short bounds, so that each fault shows in well under a second of waiting.
  const timeouts = { connectMs: 2_000, headersMs: 600, idleMs: 600 };
  const impatient = (attempts = 3) =>
    new HubPuller(store, { endpoint: hub.url, maxBytes: 1e9, attempts, timeouts });
  const noSocketLeft = () =>
    waitFor('every connection to the Hub to be closed', () => hub.openConnections() === 0, {
      timeoutMs: 5_000,
    });

  it('fails a pull from a Hub that accepts and never answers, within its header timeout', async () => {
    hub.blackHole(true);
    const started = performance.now();
    await expect(pull('hf.co/org/tiny', impatient())).rejects.toMatchObject({
      code: ErrorCode.DeadlineExceeded,
      message: expect.stringMatching(/did not answer .* within 600 ms \(VMM_PULL_HEADERS_TIMEOUT\)/),
    });
    // Not tried again and again: one timeout, and a little.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(hub.requests).toHaveLength(1);
    await noSocketLeft();
  });

  it('fails a download that stops mid-body within its idle timeout, keeping what came', async () => {
    hub.stallAfter('onnx/model.onnx', 100_000);
    await expect(pull('hf.co/org/tiny', impatient())).rejects.toMatchObject({
      code: ErrorCode.DeadlineExceeded,
      message: expect.stringMatching(/sent nothing of onnx\/model.onnx for 600 ms \(VMM_PULL_IDLE_TIMEOUT\)/),
    });
    await noSocketLeft();
    expect(store.resolve('hf.co/org/tiny')).toBeUndefined();
    // A later pull resumes where the stalled one stopped.
    expect(statSync(store.partialPath(`${sha(graph).replace(':', '-')}.part`)).size).toBe(100_000);
    await pull('hf.co/org/tiny');
    expect(hub.requests.filter((r) => r.server === 'cdn' && r.range === 'bytes=100000-')).toHaveLength(1);
  });

  it('fails a small file that stops mid-body', async () => {
    hub.stallAfter('tokenizer.json', 5);
    await expect(pull('hf.co/org/tiny', impatient())).rejects.toMatchObject({
      code: ErrorCode.DeadlineExceeded,
      message: expect.stringMatching(/sent nothing of tokenizer.json/),
    });
    await noSocketLeft();
  });

  it('refuses more bytes than the Hub listed, and deletes them', async () => {
    hub.lengthen('onnx/model.onnx', 10);
    await expect(pull('hf.co/org/tiny', impatient(1))).rejects.toMatchObject({
      code: ErrorCode.Unavailable,
      message: expect.stringMatching(/sent more of onnx\/model.onnx than the 300000 bytes it listed/),
    });
    expect(existsSync(store.partialPath(`${sha(graph).replace(':', '-')}.part`))).toBe(false);
    hub.lengthen('tokenizer_config.json', 3);
    hub.lengthen('onnx/model.onnx', 0);
    await expect(pull('hf.co/org/tiny', impatient(1))).rejects.toMatchObject({
      code: ErrorCode.Unavailable,
      message: expect.stringMatching(/tokenizer_config.json does not match the Hub's git blob id/),
    });
    hub.lengthen('tokenizer_config.json', 0);
    await noSocketLeft();
  });

  it('closes its sockets when the caller leaves a stalled download', async () => {
    hub.stallAfter('onnx/model.onnx', 50_000);
    const leaving = new AbortController();
    const lines: PullProgress[] = [];
    // Patient about idle bodies: the caller leaves first.
    const patient = new HubPuller(store, { endpoint: hub.url, maxBytes: 1e9, timeouts: { idleMs: 60_000 } });
    const pulling = patient
      .pull(
        hubReference('hf.co/org/tiny') ?? fail(),
        (line) => lines.push(line),
        leaving.signal,
        () => undefined,
      )
      .catch((error: unknown) => error);
    await waitFor('the download to stall', () => hub.requests.some((request) => request.server === 'cdn'));
    leaving.abort();
    expect(await pulling).toMatchObject({ code: ErrorCode.Cancelled });
    await noSocketLeft();
  });
});

function fail(): never {
  throw new Error('not a hub name');
}
