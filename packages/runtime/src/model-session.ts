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

/**
 * Memory a bound run reads and writes in place: host memory here; an execution provider's
 * device memory is bound through the same interface (its `data` then is not host-readable).
 */
export interface BoundMemory {
  readonly data: ArrayBuffer;
  release(): void;
}

/**
 * A session run through ONNX Runtime's I/O binding: tensors that view memory from `allocate`
 * are passed by address, so a KV cache stays where it is between steps and an output may be
 * written straight into it.
 */
export interface BoundSession extends ModelSession {
  /** Memory that runs bind without copying (not zeroed; pages untouched cost no RAM). */
  allocate(bytes: number): BoundMemory;
  /**
   * One run with every output bound: each output must view memory from `allocate`, and an
   * output given the very object of an input shares that input's buffer (GroupQueryAttention's
   * past and present). Inputs in other memory are copied into the session's own first.
   */
  runBound(
    inputs: Readonly<Record<string, TensorData>>,
    outputs: Readonly<Record<string, TensorData>>,
  ): Promise<void>;
}
