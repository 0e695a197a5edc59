import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, VmmError } from '@vmm/errors';

/**
 * A JSON object from a model folder (`config.json`, `tokenizer_config.json`, ...): undefined when
 * the file is absent or holds no object, FAILED_PRECONDITION naming the file when it is not JSON.
 */
export function readFolderJson(dir: string, file: string): Record<string, unknown> | undefined {
  const path = join(dir, file);
  if (!existsSync(path)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new VmmError(ErrorCode.FailedPrecondition, `${file} is not valid JSON`, { cause: error });
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
