import { parseDuration } from '@vmm/duration';
import { ErrorCode, VmmError } from '@vmm/errors';
import { z } from 'zod';

export const backendField = z.enum(['cpu', 'cuda', 'openvino']).optional();
export const keepAliveField = z.union([z.number(), z.string()]).optional();
export type BackendName = NonNullable<z.infer<typeof backendField>>;

/** keep_alive as Ollama takes it: seconds (number) or a duration string; → milliseconds. */
export function keepAliveMs(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new VmmError(ErrorCode.InvalidArgument, 'keep_alive must be finite', { field: 'keep_alive' });
    }
    return Math.round(value * 1000);
  }
  return parseDuration(value, 'keep_alive');
}
