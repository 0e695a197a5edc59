import { expect, it } from '@jest/globals';
import { formatBytes } from './format-bytes.js';

it('writes sizes as Ollama does', () => {
  expect([0, 999, 1000, 1400, 111_000, 3_100_000, 4_400_000_000, 2e15].map(formatBytes)).toEqual([
    '0 B',
    '999 B',
    '1.0 kB',
    '1.4 kB',
    '111 kB',
    '3.1 MB',
    '4.4 GB',
    '2000 TB',
  ]);
});
