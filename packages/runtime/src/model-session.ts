import type { ValueInfo } from './session-options.js';
import type { TensorData } from './tensor-data.js';

/**
 * A loaded model, whatever runs it. Feeds and results are plain tensors that share memory with
 * the runtime's own: feeding a result back as an input (a KV cache) copies nothing in JS.
 */
export interface ModelSession {
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  /** The execution providers the session was created with, in priority order. */
  readonly providers: readonly string[];
  run(
    feeds: Readonly<Record<string, TensorData>>,
    outputNames?: readonly string[],
  ): Promise<Record<string, TensorData>>;
  release(): Promise<void>;
}
