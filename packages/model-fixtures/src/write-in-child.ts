import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDemoModels, writeQwen3Demo } from './demo-models.js';
import { writeFamilyFolder } from './family/write-family-folder.js';
import { writeLlamaFolder } from './llama/write-llama-folder.js';
import { writeQwen2VlFolder } from './vlm/write-qwen2-vl-folder.js';
import { writeVlmFolder } from './vlm/write-vlm-folder.js';

/** The writers a test may run in a child process (their arguments and results are JSON). */
export const childWriters = {
  writeFamilyFolder,
  writeLlamaFolder,
  writeDemoModels,
  writeQwen3Demo,
  writeVlmFolder,
  writeQwen2VlFolder,
};
export type ChildWriters = typeof childWriters;

/**
 * Runs a fixture writer in a plain Node child process and returns its result. Under jest's ESM
 * loader (a vm context) the writers' number crunching runs 15-30 times slower — measured: 10 M
 * weights take 3.4 s there and 0.1 s in Node — so tests that write models with real
 * vocabularies (tens of millions of weights) write them here.
 */
export function writeInChild<K extends keyof ChildWriters>(
  name: K,
  ...args: Parameters<ChildWriters[K]>
): ReturnType<ChildWriters[K]> {
  // From dist, the child script is beside this file; from src (this package's own tests, after
  // the build their task depends on), it is the built one.
  const here = fileURLToPath(import.meta.url);
  const script = here.endsWith('.ts')
    ? join(dirname(here), '..', 'dist', 'write-in-child-main.js')
    : join(dirname(here), 'write-in-child-main.js');
  const output = execFileSync(process.execPath, [script], {
    input: JSON.stringify({ name, args }),
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return JSON.parse(output.toString('utf8')) as ReturnType<ChildWriters[K]>;
}
