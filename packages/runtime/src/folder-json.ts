import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, VmmError } from '@vmm/errors';
import { modelTextLimits } from '@vmm/model-store';

/**
 * A JSON object from a model folder (`config.json`, `tokenizer_config.json`, ...): undefined when
 * the file is absent or holds no object, FAILED_PRECONDITION naming the file when it is not JSON.
 */
export function readFolderJson(dir: string, file: string): Record<string, unknown> | undefined {
  const path = join(dir, file);
  if (!existsSync(path)) return undefined;
  // Read whole and parsed on a model's thread or the worker's loop: a model folder's JSON is
  // kilobytes; one of gigabytes is refused rather than read.
  if (statSync(path).size > modelTextLimits.configFileBytes)
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `${file} is larger than ${modelTextLimits.configFileBytes / (1024 * 1024)} MiB`,
    );
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
