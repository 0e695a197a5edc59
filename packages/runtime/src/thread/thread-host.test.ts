import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ErrorCode, VmmError } from '@vmm/errors';
import { STREAM_WINDOW } from './protocol.js';
import { ThreadHost, threadEntry } from './thread-host.js';

const entry = new URL('../../test/echo-thread.mjs', import.meta.url);
let host: ThreadHost;

beforeEach(async () => {
  host = await ThreadHost.start(entry);
});
afterEach(async () => {
  await host.close();
});

/** Waits (bounded, 10 s) until `condition` holds. */
async function waitFor(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function collect<T>(stream: AsyncIterable<T>, stopAfter = Infinity): Promise<T[]> {
  const values: T[] = [];
  for await (const value of stream) {
    values.push(value);
    if (values.length >= stopAfter) break;
  }
  return values;
}

describe('ThreadHost', () => {
  it('answers requests, concurrently and in any order', async () => {
    const answers = await Promise.all([
      host.request('echo', { a: 1 }),
      host.request('sum', [1, 2, 3]),
      host.request('echo', 'x'),
    ]);
    expect(answers).toEqual([{ a: 1 }, 6, 'x']);
  });

  it('moves transferred buffers into the thread', async () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const echoed = await host.request<Uint8Array>('echo', bytes, { transfer: [bytes.buffer] });
    expect(Array.from(echoed)).toEqual([1, 2, 3]);
    expect(bytes.byteLength).toBe(0);
  });

  it('refuses a call whose buffer was moved already, at once (Node would drop its message)', async () => {
    const bytes = new Uint8Array([1, 2, 3]);
    await host.request('echo', bytes, { transfer: [bytes.buffer] });
    // The same array again: its buffer is detached now.
    await expect(host.request('echo', bytes, { transfer: [bytes.buffer] })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: expect.stringContaining('moved to a thread already'),
    });
    // The host still answers.
    expect(await host.request('echo', 'x')).toBe('x');
  });

  it('moves an answer the thread marks as transferring out of the thread', async () => {
    const { data } = await host.request<{ data: Float32Array }>('fill', 1024);
    expect(data).toHaveLength(1024);
    expect(data[1023]).toBe(1.5);
    // Moved, not copied: the thread's own array was detached by the transfer.
    expect(await host.request('lastFilled', null)).toBe(0);
  });

  it('streams values in order to the end', async () => {
    expect(await collect(host.stream('count', { to: 100 }))).toEqual(
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
  });

  it('stops the producer when the consumer breaks out of the stream', async () => {
    await host.request('reset', null);
    expect(await collect(host.stream('count', { to: 10_000, busyMs: 1 }), 3)).toEqual([1, 2, 3]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const produced = await host.request<number>('produced', null);
    expect(produced).toBeLessThan(3 + STREAM_WINDOW + 2);
  });

  it('cancels a stream through an AbortSignal', async () => {
    const controller = new AbortController();
    const values: number[] = [];
    for await (const value of host.stream<number>(
      'count',
      { to: 10_000, busyMs: 1 },
      { signal: controller.signal },
    )) {
      values.push(value);
      if (values.length === 3) controller.abort();
    }
    // The thread stops at its next check; the consumer may see what was already in flight.
    expect(values.length).toBeLessThan(3 + STREAM_WINDOW + 2);
  });

  it('bounds what a producer sends ahead of a consumer that does not read', async () => {
    await host.request('reset', null);
    const stream = host.stream<number>('count', { to: 10_000 });
    await stream.next();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const produced = await host.request<number>('produced', null);
    expect(produced).toBeLessThanOrEqual(STREAM_WINDOW + 2);
    await stream.return(undefined);
  });

  it('rebuilds the VmmError a handler throws, field included', async () => {
    const error = await host.request('fail', 'top_k').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VmmError);
    expect(error).toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: 'bad top_k',
      field: 'options.top_k',
    });
  });

  it('answers an unknown method with UNIMPLEMENTED', async () => {
    await expect(host.request('nope', null)).rejects.toMatchObject({ code: ErrorCode.Unimplemented });
  });

  it('fails pending and later calls when the thread dies', async () => {
    const pending = host.request('crash', null);
    await expect(pending).rejects.toBeInstanceOf(VmmError);
    await expect(host.request('echo', 1)).rejects.toBeInstanceOf(VmmError);
  });

  it('keeps the owning thread responsive while the thread computes', async () => {
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 5);
    await collect(host.stream('count', { to: 20, busyMs: 25 }));
    clearInterval(timer);
    // 500 ms of blocking work in the thread; the 5 ms timer here kept firing throughout.
    expect(ticks).toBeGreaterThan(30);
  });
});

describe('ThreadHost.watch', () => {
  it('ends a thread whose event loop stops answering: its calls fail, its owner is told', async () => {
    const lost: VmmError[] = [];
    host.onExit((error) => lost.push(error));
    host.watch({ intervalMs: 50, unresponsiveMs: 300, runTimeoutMs: 60_000, onStuckRun: () => undefined });
    const started = performance.now();
    // Spins for a minute; the watchdog ends it within a second or so.
    await expect(host.request('spin', 60_000)).rejects.toThrow(
      /answered nothing for \d+ s \(stuck\) and was ended; retry/,
    );
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(lost).toHaveLength(1);
    expect(lost[0]?.code).toBe(ErrorCode.Unavailable);
  });

  it('waits out a native run longer than unresponsiveMs, and reports one past runTimeoutMs, once', async () => {
    const stuck: number[] = [];
    const lost: VmmError[] = [];
    host.onExit((error) => lost.push(error));
    host.watch({
      intervalMs: 20,
      unresponsiveMs: 200,
      runTimeoutMs: 600,
      onStuckRun: (ms) => stuck.push(ms),
    });
    // A run blocks the thread (no pong) for 1.5 s: far past unresponsiveMs, yet not ended.
    const run = host.request('slowRun', 1_500);
    await waitFor('the long run to be reported', () => stuck.length > 0);
    expect(stuck[0]).toBeGreaterThanOrEqual(600);
    expect(await run).toBe('ran');
    expect(await host.request('echo', 'still here')).toBe('still here');
    expect(stuck).toHaveLength(1);
    expect(lost).toEqual([]);
  });

  it('leaves a busy but answering thread alone', async () => {
    const stuck: number[] = [];
    host.watch({
      intervalMs: 20,
      unresponsiveMs: 2_000,
      runTimeoutMs: 2_000,
      onStuckRun: (ms) => stuck.push(ms),
    });
    // 500 ms of blocking work in 25 ms steps, with the event loop free between them.
    expect(await collect(host.stream('count', { to: 20, busyMs: 25 }))).toHaveLength(20);
    expect(await host.request('slowRun', 300)).toBe('ran');
    expect(await host.request('echo', 'fine')).toBe('fine');
    expect(stuck).toEqual([]);
  });
});

describe('threadEntry', () => {
  it.each([
    [
      'file:///r/packages/llm/src/llm-runner.ts',
      './llm-thread.js',
      'file:///r/packages/llm/dist/llm-thread.js',
    ],
    [
      'file:///r/packages/llm/dist/llm-runner.js',
      './llm-thread.js',
      'file:///r/packages/llm/dist/llm-thread.js',
    ],
    ['file:///src/r/packages/llm/src/a/b.ts', '../c.js', 'file:///src/r/packages/llm/dist/c.js'],
  ])('resolves %s + %s to %s', (from, entryName, expected) => {
    expect(threadEntry(from, entryName).href).toBe(expected);
  });
});
