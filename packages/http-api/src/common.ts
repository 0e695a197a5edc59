import { parseDuration } from '@vmm/duration';
import { ErrorCode, VmmError } from '@vmm/errors';
import { z } from 'zod';
import { MAX_STOP_LENGTH, MAX_STOP_SEQUENCES } from './text-limits.js';

export const backendField = z.enum(['cpu', 'cuda', 'openvino']).optional();
export const keepAliveField = z.union([z.number(), z.string().max(64)]).optional();
export type BackendName = NonNullable<z.infer<typeof backendField>>;

/** Stop sequences, bounded as the worker bounds them. */
export const stopList = z.array(z.string().min(1).max(MAX_STOP_LENGTH)).max(MAX_STOP_SEQUENCES);

/**
 * keep_alive as Ollama takes it: seconds (number) or a duration string; → milliseconds. Any
 * negative value keeps the model loaded forever (-1); a positive one must fit the int64 the
 * contract carries, as a safe integer.
 */
export function keepAliveMs(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new VmmError(ErrorCode.InvalidArgument, 'keep_alive must be finite', { field: 'keep_alive' });
    }
    ms = Math.round(value * 1000);
  } else {
    ms = parseDuration(value, 'keep_alive');
  }
  if (ms < 0) return -1;
  if (!Number.isSafeInteger(ms)) {
    throw new VmmError(
      ErrorCode.InvalidArgument,
      'keep_alive is too long; use a negative value to keep the model loaded forever',
      { field: 'keep_alive' },
    );
  }
  return ms;
}
