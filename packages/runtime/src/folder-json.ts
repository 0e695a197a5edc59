import { existsSync, readFileSync, statSync } from 'node:fs';
import { ErrorCode, VmmError } from '@vmm/errors';
import { modelTextLimits } from '@vmm/model-store';
import { folderPath } from './folder-path.js';

/**
 * A JSON object from a model folder (`config.json`, `tokenizer_config.json`, a module's
 * `1_Pooling/config.json`, ...): undefined when the file is absent or holds no object,
 * FAILED_PRECONDITION naming the file when it is not JSON, larger than `maxBytes`, or outside
 * the folder (`file` may come from the folder's own JSON, such as modules.json's `path`).
 */
export function readFolderJson(
  dir: string,
  file: string,
  maxBytes: number = modelTextLimits.configFileBytes,
): Record<string, unknown> | undefined {
  const path = folderPath(dir, file, 'a JSON file of the model');
  if (!existsSync(path)) return undefined;
  // Read whole and parsed on a model's thread or the worker's loop: one of gigabytes is refused
  // rather than read.
  if (statSync(path).size > maxBytes)
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `${file} is larger than ${maxBytes / (1024 * 1024)} MiB`,
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
