import { readFileSync } from 'node:fs';
import { expect, it } from '@jest/globals';
import { generateTypes } from './generate.js';

it('src/gen/vmm-api.ts is what openapi-typescript makes of openapi.json (run `npm run api:generate`)', async () => {
  const document = JSON.parse(readFileSync(new URL('../openapi.json', import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
  const committed = readFileSync(new URL('./gen/vmm-api.ts', import.meta.url), 'utf8');
  expect(await generateTypes(document)).toBe(committed);
});
