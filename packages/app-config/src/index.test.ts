import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { exitOnSignals, loadEnv, redactUrl } from './index.js';

const schema = z.object({ PORT: z.coerce.number().int().min(1).default(80), NAME: z.string().default('x') });

describe('loadEnv', () => {
  it('reads only the schema’s variables, treats empty as unset, and freezes the result', () => {
    const config = loadEnv(schema, { PORT: '8080', NAME: '', OTHER: 'ignored' }, (e) => ({
      port: e.PORT,
      name: e.NAME,
    }));
    expect(config).toEqual({ port: 8080, name: 'x' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    [{ PORT: '0' }, /invalid configuration: PORT: /],
    [{ PORT: 'eighty' }, /invalid configuration: PORT: /],
  ])('names the variable at fault in %p', (env, message) => {
    expect(() => loadEnv(schema, env, (e) => e)).toThrow(message);
  });

  it('reports errors of the build step the same way', () => {
    expect(() =>
      loadEnv(schema, {}, () => {
        throw new Error('NAME must be y');
      }),
    ).toThrow('invalid configuration: NAME must be y');
  });
});

describe('redactUrl', () => {
  it.each([
    ['redis://:s3cret@redis:6379/0', 'redis://:***@redis:6379/0'],
    ['redis://admin:s3cret@10.0.0.1:6380', 'redis://***:***@10.0.0.1:6380'],
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['not a url s3cret', '(unparsable URL)'],
  ])('%s → %s', (text, expected) => {
    expect(redactUrl(text)).toBe(expected);
    expect(redactUrl(text)).not.toContain('s3cret');
  });
});

describe('exitOnSignals', () => {
  const log = () => {
    const lines: string[] = [];
    return {
      lines,
      info: (_: object, m: string) => lines.push(m),
      error: (_: object, m: string) => lines.push(m),
    };
  };

  it('stops once on SIGTERM, says so, then exits 0', async () => {
    const said = log();
    let stops = 0;
    const exited = new Promise<number>((resolve) => {
      const remove = exitOnSignals(
        async () => {
          stops += 1;
        },
        said,
        (code) => {
          remove();
          resolve(code);
        },
      );
      process.emit('SIGTERM', 'SIGTERM');
      process.emit('SIGINT', 'SIGINT');
    });
    expect(await exited).toBe(0);
    expect(stops).toBe(1);
    expect(said.lines).toEqual(['shutting down']);
  });

  it('exits 1 and says why when stopping fails', async () => {
    const said = log();
    const exited = new Promise<number>((resolve) => {
      const remove = exitOnSignals(
        () => Promise.reject(new Error('stuck')),
        said,
        (code) => {
          remove();
          resolve(code);
        },
      );
      process.emit('SIGINT', 'SIGINT');
    });
    expect(await exited).toBe(1);
    expect(said.lines).toEqual(['shutting down', 'shutdown failed']);
  });
});
