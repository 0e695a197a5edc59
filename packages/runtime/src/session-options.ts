import type { Backend } from './backend.js';

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface SessionOptions {
  backend: Backend;
  /** GPU ordinal for cuda. */
  deviceId?: number;
  /** OpenVINO device for the openvino backend; default AUTO. */
  openvinoDevice?: 'CPU' | 'GPU' | 'AUTO';
  /** Threads one operator may use; default: ONNX Runtime's (all cores). */
  intraOpThreads?: number;
  /** Threads across independent operators; default 1 (sequential execution). */
  interOpThreads?: number;
  /**
   * Whether intra-op threads spin between operators waiting for work (ONNX Runtime's default:
   * yes). A session that runs in bursts beside another (a vision encoder beside its decoder)
   * gives the cores back instead of spinning on them.
   */
  spinning?: boolean;
  graphOptimizationLevel?: GraphOptimizationLevel;
  /**
   * Where a model given as bytes finds its external data files (the folder of the .onnx file
   * the bytes came from); unused for a model given as a path.
   */
  externalDataDir?: string;
  /**
   * The most V8 heap (MiB) the model's thread may hold: past it the thread is stopped (its
   * requests fail with UNAVAILABLE) rather than the process; undefined: V8's default.
   */
  threadHeapMb?: number;
  /**
   * Whether sessions that ask for bound runs (a decoder's KV cache written in place) may use
   * ONNX Runtime's C API; default true. False keeps every run on onnxruntime-node's session.run.
   */
  ortCApi?: boolean;
}

/** What a model input or output looks like, as the session reports it. */
export interface ValueInfo {
  name: string;
  /** Element type, e.g. "float32", "float16", "int64", "bool". */
  type: string;
  /** Dimensions: a number when fixed, a name when symbolic (e.g. "batch_size"). */
  shape: (number | string)[];
}
