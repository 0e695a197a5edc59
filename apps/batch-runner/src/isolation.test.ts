import { describe, expect, it } from '@jest/globals';
import { Isolation } from './isolation.js';

describe('Isolation', () => {
  it('runs shared work side by side, and alone work with nothing else in flight, first in line', async () => {
    const isolation = new Isolation();
    const log: string[] = [];
    let inFlight = 0;
    let most = 0;
    const step = (name: string, alone: boolean) =>
      (alone ? isolation.alone.bind(isolation) : isolation.shared.bind(isolation))(async () => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        log.push(`${name} start (${inFlight} in flight)`);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight -= 1;
        log.push(`${name} end`);
      });
    const a = step('a', false);
    const b = step('b', false);
    const suspect = step('suspect', true);
    const c = step('c', false);
    await Promise.all([a, b, suspect, c]);
    expect(most).toBe(2);
    expect(log).toContain('suspect start (1 in flight)');
    // The suspect ran before c, which arrived after it.
    expect(log.indexOf('suspect end')).toBeLessThan(log.indexOf('c start (1 in flight)'));
  });

  it('lets work after a failure go on', async () => {
    const isolation = new Isolation();
    await expect(isolation.alone(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(isolation.shared(() => Promise.resolve(1))).resolves.toBe(1);
  });
});
