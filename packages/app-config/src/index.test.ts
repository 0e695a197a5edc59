import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { loadEnv } from './index.js';

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
