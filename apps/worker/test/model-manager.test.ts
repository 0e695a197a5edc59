// The model manager's policies on real runners: coalesced loads, LRU eviction, bounded queues,
// keep-alive, load errors.
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '@vmm/errors';
import { waitFor } from '@vmm/test-support';
import { ModelManager } from '../src/index.js';
import { openRunner } from '../src/model-runner.js';
import { removeModels, writeModels } from './worker-harness.js';

const modelsDir = writeModels();
cpSync(join(modelsDir, 'tiny-llama'), join(modelsDir, 'broken-llama'), { recursive: true });
// A well-formed ONNX file (ir_version 8) with no graph: the folder passes inspection, the load fails.
writeFileSync(join(modelsDir, 'broken-llama', 'onnx', 'model.onnx'), Buffer.from([0x08, 0x08]));
const managers: ModelManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((manager) => manager.close()));
});
afterAll(() => removeModels(modelsDir));

const settings = {
  session: { backend: 'cpu' as const, intraOpThreads: 1 },
  visionMaxBatch: 2,
  embeddingMaxBatch: 4,
  maxImagePixels: 1e7,
  maxChatImages: 8,
  batching: {},
};
const text = { tasks: ['text-generation' as const] };
const any = {
  tasks: ['text-generation' as const, 'object-detection' as const, 'image-classification' as const],
};

function manager(overrides: Partial<ConstructorParameters<typeof ModelManager>[0]> = {}) {
  const opened: string[] = [];
  const created = new ModelManager({
    modelsDir,
    backend: 'cpu',
    keepAliveMs: 60_000,
    maxLoaded: 2,
    maxRunning: 1,
    maxQueue: 1,
    open: (folder, file) => {
      opened.push(folder.name);
      return openRunner(folder, file, settings);
    },
    ...overrides,
  });
  managers.push(created);
  return { manager: created, opened };
}

const loadedNames = (m: ModelManager) =>
  m
    .loaded()
    .map((state) => state.name)
    .sort();

describe('ModelManager', () => {
  it('coalesces concurrent loads of one model into one', async () => {
    const { manager: m, opened } = manager({ maxRunning: 3 });
    const leases = await Promise.all([
      m.acquire('tiny-llama', text),
      m.acquire('tiny-llama', text),
      m.acquire('tiny-llama', text),
    ]);
    expect(opened).toEqual(['tiny-llama:latest']);
    expect(new Set(leases.map((lease) => lease.model)).size).toBe(1);
    leases.forEach((lease) => lease.release());
    expect(m.totals()).toEqual({ running: 0, queued: 0 });
  });

  it('evicts the least recently used idle model beyond the limit', async () => {
    const { manager: m } = manager();
    for (const name of ['tiny-llama', 'detector', 'tiny-llama', 'classifier'])
      (await m.acquire(name, any)).release();
    expect(loadedNames(m)).toEqual(['classifier:latest', 'tiny-llama:latest']);
  });

  it('refuses a new model with RESOURCE_EXHAUSTED when every loaded model is busy', async () => {
    const { manager: m } = manager({ maxLoaded: 1 });
    const lease = await m.acquire('tiny-llama', text);
    await expect(m.acquire('detector', any)).rejects.toMatchObject({ code: ErrorCode.ResourceExhausted });
    lease.release();
    (await m.acquire('detector', any)).release();
    expect(loadedNames(m)).toEqual(['detector:latest']);
  });

  it('queues within the bound, refuses beyond it, and drops a queued request whose caller gives up', async () => {
    const { manager: m } = manager();
    const running = await m.acquire('tiny-llama', text);
    const controller = new AbortController();
    const queued = m.acquire('tiny-llama', { ...text, signal: controller.signal });
    expect(m.totals()).toEqual({ running: 1, queued: 1 });
    await expect(m.acquire('tiny-llama', text)).rejects.toMatchObject({ code: ErrorCode.ResourceExhausted });
    controller.abort();
    await expect(queued).rejects.toMatchObject({ code: ErrorCode.Cancelled });
    expect(m.totals()).toEqual({ running: 1, queued: 0 });
    const next = m.acquire('tiny-llama', text);
    running.release();
    (await next).release();
    expect(m.totals()).toEqual({ running: 0, queued: 0 });
  });

  it('unloads an idle model when its keep-alive ends, and keeps it with a negative one', async () => {
    const { manager: m } = manager();
    (await m.acquire('detector', { ...any, keepAliveMs: -1 })).release();
    (await m.acquire('tiny-llama', { ...text, keepAliveMs: 150 })).release();
    expect(m.loaded().find((state) => state.name === 'tiny-llama:latest')?.expiresAtMs).toBeGreaterThan(
      Date.now(),
    );
    expect(m.loaded().find((state) => state.name === 'detector:latest')?.expiresAtMs).toBeUndefined();
    await waitFor('tiny-llama to unload', () => !loadedNames(m).includes('tiny-llama:latest'));
    expect(loadedNames(m)).toEqual(['detector:latest']);
  });

  it('keeps a model for a keep-alive longer than a timer can wait (Node fires those at once)', async () => {
    const { manager: m } = manager();
    const thirtyDays = 30 * 24 * 3600 * 1000;
    (await m.acquire('detector', { ...any, keepAliveMs: thirtyDays })).release();
    (await m.acquire('tiny-llama', { ...text, keepAliveMs: 100 })).release();
    // A timer that fired early would have fired before the 100 ms one.
    await waitFor('tiny-llama to unload', () => !loadedNames(m).includes('tiny-llama:latest'));
    expect(loadedNames(m)).toEqual(['detector:latest']);
    expect(m.loaded()[0]?.expiresAtMs).toBeGreaterThan(Date.now() + thirtyDays - 60_000);
  });

  it('reports a load error to the request that caused it, and tries again next time', async () => {
    const { manager: m, opened } = manager();
    await expect(m.acquire('broken-llama', text)).rejects.toMatchObject({
      code: ErrorCode.FailedPrecondition,
    });
    await expect(m.acquire('broken-llama', text)).rejects.toMatchObject({
      code: ErrorCode.FailedPrecondition,
    });
    expect(opened).toEqual(['broken-llama:latest', 'broken-llama:latest']);
    expect(m.totals()).toEqual({ running: 0, queued: 0 });
  });

  it('refuses work once closed', async () => {
    const { manager: m } = manager();
    await m.close();
    await expect(m.acquire('tiny-llama', text)).rejects.toMatchObject({ code: ErrorCode.Unavailable });
  });
});
