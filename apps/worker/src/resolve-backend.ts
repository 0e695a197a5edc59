import { ErrorCode, VmmError } from '@vmm/errors';
import { type Backend, probeBackend } from '@vmm/runtime';
import type { Logger } from 'pino';
import type { WorkerConfig } from './config.js';

export interface ResolvedBackend {
  /** What the worker serves on. */
  backend: Backend;
  /** What it was asked for: differs after VMM_ALLOW_FALLBACK=cpu. */
  requested: Backend;
  providers: readonly string[];
}

/**
 * Proves at start-up that the configured backend works (a tiny session on it), so a worker
 * never claims a GPU it cannot use. On failure: a clear error, or, with VMM_ALLOW_FALLBACK=cpu,
 * the CPU — reported truthfully in WorkerInfo.
 */
export async function resolveBackend(
  config: Pick<WorkerConfig, 'backend' | 'deviceId' | 'openvinoDevice' | 'allowFallback' | 'threads'>,
  logger: Logger,
): Promise<ResolvedBackend> {
  const requested = config.backend;
  try {
    const providers = await probeBackend({
      backend: requested,
      deviceId: config.deviceId,
      openvinoDevice: config.openvinoDevice,
      intraOpThreads: 1,
    });
    return { backend: requested, requested, providers };
  } catch (error) {
    const reason = VmmError.from(error);
    const message = reason.code === ErrorCode.Internal ? String((error as Error).message) : reason.message;
    if (requested !== 'cpu' && config.allowFallback === 'cpu') {
      logger.warn(
        { requested, reason: message },
        'backend unavailable; serving on the CPU (VMM_ALLOW_FALLBACK=cpu)',
      );
      const providers = await probeBackend({ backend: 'cpu', intraOpThreads: 1 });
      return { backend: 'cpu', requested, providers };
    }
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `VMM_BACKEND=${requested} cannot start: ${message}${requested === 'cpu' ? '' : ' (set VMM_ALLOW_FALLBACK=cpu to serve on the CPU instead)'}`,
      { cause: error },
    );
  }
}
