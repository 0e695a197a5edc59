import { ErrorCode, VmmError } from '@vmm/errors';
import {
  type ModelFolder,
  type SessionOptions,
  ThreadHost,
  threadEntry,
  type ThreadWatch,
} from '@vmm/runtime';
import { DEFAULT_MAX_PIXELS } from './image-input.js';
import type { ClassifyOptions, ClassifyResult, DetectOptions, DetectResult } from './types.js';
import type { VisionSpec } from './vision-spec.js';
import type {
  ClassifyPayload,
  DetectPayload,
  VisionThreadData,
  VisionThreadInfo,
} from './vision-thread-protocol.js';

export interface VisionRunnerOptions {
  folder: ModelFolder;
  /** The ONNX file, relative to the folder. */
  file: string;
  session: SessionOptions;
  /** Most images per session.run when the batch dimension is dynamic; default 8. */
  maxBatch?: number;
  /** Largest image accepted, in pixels; default 40 M. */
  maxPixels?: number;
  /**
   * Prepare images on a thread of their own while the session runs; default: on a GPU (CUDA, or
   * OpenVINO's GPU device), whose run blocks the model's thread while the CPU cores are free. On the CPU
   * it measured no better and often worse (bench/vision-serving, YOLOv8n, 2 cores: at 2 intra-op
   * threads 8 clients got 0.74-0.85x bare session.run against 0.83-0.97x without it; at 1, 0.76x
   * and 0.98x against 0.89x and 0.94x for 1 and 8 clients): sharp already decodes on libuv's
   * threads, and a run that takes every core is only slowed by work beside it.
   */
  preprocessThread?: boolean;
}

/** Whether a session's runs happen on a GPU, leaving the CPU cores free while they last. */
function runsOffTheCpu(session: SessionOptions): boolean {
  return session.backend === 'cuda' || (session.backend === 'openvino' && session.openvinoDevice === 'GPU');
}

export interface VisionCallOptions {
  signal?: AbortSignal;
}

/**
 * An object detector or image classifier running in its own worker thread. Image bytes are
 * moved (not copied) into the thread; batches go through one session.run where the model's
 * batch dimension is dynamic.
 */
export class VisionRunner {
  private closed = false;

  private constructor(
    private readonly host: ThreadHost,
    readonly spec: VisionSpec,
    readonly providers: readonly string[],
    readonly loadNs: number,
  ) {}

  static async open(options: VisionRunnerOptions): Promise<VisionRunner> {
    const started = performance.now();
    const maxBatch = options.maxBatch ?? 8;
    if (!Number.isInteger(maxBatch) || maxBatch < 1)
      throw new RangeError('maxBatch must be a positive integer');
    const data: VisionThreadData = {
      folder: options.folder,
      file: options.file,
      session: options.session,
      maxBatch,
      maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS,
      preprocessThread: options.preprocessThread ?? runsOffTheCpu(options.session),
    };
    const host = await ThreadHost.start(threadEntry(import.meta.url, './vision-thread.js'), data, {
      heapMb: options.session.threadHeapMb,
    });
    try {
      const info = await host.request<VisionThreadInfo>('info', null);
      return new VisionRunner(
        host,
        info.spec,
        info.providers,
        Math.round((performance.now() - started) * 1e6),
      );
    } catch (error) {
      await host.close();
      throw error;
    }
  }

  async detect(
    image: Uint8Array,
    options: DetectOptions = {},
    call: VisionCallOptions = {},
  ): Promise<DetectResult> {
    const [result] = await this.detectBatch([image], options, call);
    return result as DetectResult;
  }

  detectBatch(
    images: Uint8Array[],
    options: DetectOptions = {},
    call: VisionCallOptions = {},
  ): Promise<DetectResult[]> {
    const payload: DetectPayload = { images, options };
    return this.call<DetectResult[]>('detect', payload, images, call);
  }

  async classify(
    image: Uint8Array,
    options: ClassifyOptions = {},
    call: VisionCallOptions = {},
  ): Promise<ClassifyResult> {
    const [result] = await this.classifyBatch([image], options, call);
    return result as ClassifyResult;
  }

  classifyBatch(
    images: Uint8Array[],
    options: ClassifyOptions = {},
    call: VisionCallOptions = {},
  ): Promise<ClassifyResult[]> {
    const payload: ClassifyPayload = { images, options };
    return this.call<ClassifyResult[]>('classify', payload, images, call);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.host.request('release', null).catch(() => undefined);
    await this.host.close();
  }

  /** Calls `listener` if the model's thread dies on its own (see ThreadHost.onExit). */
  onExit(listener: (error: VmmError) => void): void {
    this.host.onExit(listener);
  }

  /** Watches the model's thread: a stuck one is ended, a run that never returns reported (ThreadHost.watch). */
  watch(options: ThreadWatch): void {
    this.host.watch(options);
  }

  /** Ends the model's thread as a crash would: its calls fail, its owner replaces it. */
  kill(): Promise<void> {
    return this.host.kill();
  }

  private call<T>(
    method: string,
    payload: unknown,
    images: Uint8Array[],
    call: VisionCallOptions,
  ): Promise<T> {
    if (this.closed) return Promise.reject(new VmmError(ErrorCode.Unavailable, 'the model was unloaded'));
    // Move whole, unshared buffers; views into larger buffers (e.g. Node's pooled Buffers) are copied.
    const transfer = images
      .filter(
        (image) =>
          image.byteOffset === 0 &&
          image.byteLength === image.buffer.byteLength &&
          image.buffer instanceof ArrayBuffer,
      )
      .map((image) => image.buffer as ArrayBuffer);
    return this.host.request<T>(method, payload, {
      transfer: [...new Set(transfer)],
      ...(call.signal ? { signal: call.signal } : {}),
    });
  }
}
