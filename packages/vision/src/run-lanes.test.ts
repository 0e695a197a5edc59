import { describe, expect, it } from '@jest/globals';
import { ErrorCode, VmmError } from '@vmm/errors';
import { LaneScheduler } from './run-lanes.js';

type Lane = 'wide' | 'a' | 'b';

/** Calls that run until the test settles them, recording which lanes run at once. */
function harness(narrow: readonly Lane[] = ['a', 'b']) {
  const scheduler = new LaneScheduler<Lane>({ wide: 'wide', narrow });
  const running = new Set<Lane>();
  const overlaps: Lane[][] = [];
  const settle = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  const lanes = new Map<number, Lane>();
  let next = 0;
  const call = (signal?: AbortSignal) => {
    const id = next++;
    const result = scheduler.run(async (lane) => {
      expect(running.has(lane)).toBe(false);
      running.add(lane);
      overlaps.push([...running].sort());
      lanes.set(id, lane);
      try {
        await new Promise<void>((resolve, reject) => settle.set(id, { resolve, reject }));
        return `${id} on ${lane}`;
      } finally {
        running.delete(lane);
      }
    }, signal);
    return { id, result };
  };
  /** Resolves once call `id` has started (bounded: every call here starts within a few ticks). */
  const started = async (id: number) => {
    for (let tick = 0; tick < 100 && !settle.has(id); tick++) await Promise.resolve();
    if (!settle.has(id)) throw new Error(`call ${id} never started`);
  };
  return { scheduler, call, started, settle, lanes, running, overlaps };
}

describe('LaneScheduler', () => {
  it('runs a call that finds the model idle and nobody behind it on the wide lane', async () => {
    const h = harness();
    const only = h.call();
    await h.started(only.id);
    expect(h.lanes.get(only.id)).toBe('wide');
    h.settle.get(only.id)?.resolve();
    await expect(only.result).resolves.toBe('0 on wide');
  });

  it('runs calls that had to wait side by side on the narrow lanes, never beside the wide one', async () => {
    const h = harness();
    const calls = Array.from({ length: 6 }, () => h.call());
    // The first found the model idle: wide. The rest wait for it, then share the narrow lanes.
    await h.started(0);
    expect(h.lanes.get(0)).toBe('wide');
    expect(h.scheduler.waiting).toBe(5);
    h.settle.get(0)?.resolve();
    await h.started(1);
    await h.started(2);
    expect([h.lanes.get(1), h.lanes.get(2)]).toEqual(['a', 'b']);
    // Finishing on a narrow lane lets the next queued call onto that lane.
    h.settle.get(2)?.resolve();
    await h.started(3);
    expect(h.lanes.get(3)).toBe('b');
    for (const id of [1, 3, 4, 5]) {
      await h.started(id);
      expect(h.lanes.get(id)).not.toBe('wide');
      h.settle.get(id)?.resolve();
    }
    await Promise.all(calls.map((c) => c.result));
    expect(h.overlaps.every((lanes) => !(lanes.includes('wide') && lanes.length > 1))).toBe(true);
    expect(Math.max(...h.overlaps.map((lanes) => lanes.length))).toBe(2);
  });

  it('sends a lone call that waited to a narrow lane, and goes back to wide once drained', async () => {
    const h = harness();
    const first = [h.call(), h.call()];
    await h.started(0);
    h.settle.get(0)?.resolve();
    await h.started(1);
    expect(h.lanes.get(1)).toBe('a');
    h.settle.get(1)?.resolve();
    await Promise.all(first.map((c) => c.result));
    const later = h.call();
    await h.started(later.id);
    expect(h.lanes.get(later.id)).toBe('wide');
    h.settle.get(later.id)?.resolve();
    await later.result;
  });

  it('holds calls behind a wide run rather than start a narrow one beside it', async () => {
    const h = harness();
    const wide = h.call();
    await h.started(wide.id);
    const behind = [h.call(), h.call()];
    await Promise.resolve();
    expect(h.scheduler.waiting).toBe(2);
    expect([...h.running]).toEqual(['wide']);
    h.settle.get(wide.id)?.resolve();
    await h.started(1);
    await h.started(2);
    expect([h.lanes.get(1), h.lanes.get(2)]).toEqual(['a', 'b']);
    expect(h.overlaps.some((lanes) => lanes.includes('wide') && lanes.length > 1)).toBe(false);
    h.settle.get(1)?.resolve();
    h.settle.get(2)?.resolve();
    await Promise.all([wide.result, ...behind.map((c) => c.result)]);
  });

  it('frees the lane of a call that fails', async () => {
    const h = harness();
    const failing = h.call();
    await h.started(failing.id);
    h.settle.get(failing.id)?.reject(new Error('the run failed'));
    await expect(failing.result).rejects.toThrow('the run failed');
    const next = h.call();
    await h.started(next.id);
    expect(h.lanes.get(next.id)).toBe('wide');
    h.settle.get(next.id)?.resolve();
    await next.result;
  });

  it('refuses a call cancelled while it waits, without running it', async () => {
    const h = harness();
    const wide = h.call();
    await h.started(wide.id);
    const controller = new AbortController();
    const waiting = h.call(controller.signal);
    controller.abort();
    const error = await waiting.result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VmmError);
    expect((error as VmmError).code).toBe(ErrorCode.Cancelled);
    expect(h.scheduler.waiting).toBe(0);
    h.settle.get(wide.id)?.resolve();
    await wide.result;
    expect(h.lanes.has(waiting.id)).toBe(false);
    // A signal already aborted is refused at once.
    await expect(h.scheduler.run(async () => 'ran', AbortSignal.abort())).rejects.toBeInstanceOf(VmmError);
  });

  it('with no narrow lanes runs one call at a time on the wide lane', async () => {
    const h = harness([]);
    const calls = [h.call(), h.call(), h.call()];
    for (const { id } of calls) {
      await h.started(id);
      expect(h.lanes.get(id)).toBe('wide');
      expect(h.running.size).toBe(1);
      h.settle.get(id)?.resolve();
    }
    await Promise.all(calls.map((c) => c.result));
  });
});
