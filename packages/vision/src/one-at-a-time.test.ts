import { describe, expect, it } from '@jest/globals';
import { OneAtATime } from './one-at-a-time.js';

/** A task that records when it starts and ends, and finishes when `release` is called. */
function gated(log: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return {
    release: () => release(),
    task: async () => {
      log.push(`${name} start`);
      await done;
      log.push(`${name} end`);
      return name;
    },
  };
}

describe('OneAtATime', () => {
  it('starts each task only after the one before has settled, in the order given', async () => {
    const queue = new OneAtATime();
    const log: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((name) => gated(log, name)) as [
      ReturnType<typeof gated>,
      ReturnType<typeof gated>,
      ReturnType<typeof gated>,
    ];
    const results = [queue.run(a.task), queue.run(b.task), queue.run(c.task)];
    await Promise.resolve();
    expect(log).toEqual(['a start']);
    expect(queue.queued).toBe(2);
    // Released out of order: b may not start before a ends, whatever is released first.
    c.release();
    b.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['a start']);
    a.release();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
    expect(queue.queued).toBe(0);
  });

  it('goes on after a task fails, and hands the failure to its caller only', async () => {
    const queue = new OneAtATime();
    const failed = queue.run(() => Promise.reject(new Error('run failed')));
    const next = queue.run(() => Promise.resolve('next'));
    await expect(failed).rejects.toThrow('run failed');
    await expect(next).resolves.toBe('next');
  });
});
