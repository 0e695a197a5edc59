import type { BenchApi, BenchTask } from './api-client.js';
import type { LevelResult } from './summarise.js';

/** What `vmm bench --json` writes: one run against one server, every level it measured. */
export interface BenchResult {
  /** The format's version, for readers of stored results. */
  vmmBench: 1;
  /** The series name in tables and charts (the server or backend measured). */
  label: string;
  host: string;
  api: BenchApi;
  task: BenchTask;
  model: string;
  maxTokens: number;
  startedAt: string;
  levels: LevelResult[];
}

/** Reads a stored result back (`--compare`), checking the fields the chart needs. */
export function parseBenchResult(text: string, source: string): BenchResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${source} is not JSON`);
  }
  const result = value as Partial<BenchResult>;
  if (result.vmmBench !== 1 || typeof result.label !== 'string' || !Array.isArray(result.levels)) {
    throw new Error(`${source} is not a vmm bench result (written by vmm bench --json)`);
  }
  return result as BenchResult;
}
