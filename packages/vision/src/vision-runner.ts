import { availableParallelism } from 'node:os';
import { ErrorCode, VmmError } from '@vmm/errors';
import {
  type ModelFolder,
  type SessionOptions,
  ThreadHost,
  threadEntry,
  type ThreadWatch,
} from '@vmm/runtime';
import { DEFAULT_MAX_PIXELS } from './image-input.js';
import { LaneScheduler, type Lanes } from './run-lanes.js';
import type {
  BackgroundResult,
  ClassifyOptions,
  ClassifyResult,
  DetectOptions,
  DetectResult,
  PoseResult,
  RemoveBackgroundOptions,
  SegmentOptions,
  SegmentResult,
} from './types.js';
import type { VisionSpec } from './vision-spec.js';
import type {
  ClassifyPayload,
  DetectPayload,
  RemoveBackgroundPayload,
  SegmentPayload,
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
  /**
   * Lanes for a CPU model whose batch is fixed at 1 (as Ultralytics exports): once requests have
   * to wait for one another, up to this many run at once, each on a session of its own with its
   * share of the intra-op threads, instead of one after the other on a session with all of them;
   * a request that finds the model idle still runs on all of them (see LaneScheduler). Default 2
   * where the session has 2 or more intra-op threads; 1 turns it off. Each lane is one more
   * session of the model in memory.
   */
  lanes?: number;
}

/** Whether a session's runs happen on a GPU, leaving the CPU cores free while they last. */
function runsOffTheCpu(session: SessionOptions): boolean {
  return session.backend === 'cuda' || (session.backend === 'openvino' && session.openvinoDevice === 'GPU');
}

export interface VisionCallOptions {
  signal?: AbortSignal;
}

/**
 * A vision model (detector, classifier, segmentation or pose model) running in its own worker thread. Image bytes are
 * moved (not copied) into the thread; batches go through one session.run where the model's
 * batch dimension is dynamic.
 */
export class VisionRunner {
  private closed = false;
  private readonly hosts: readonly ThreadHost[];

  private constructor(
    private readonly lanes: Lanes<ThreadHost>,
    /** Undefined with no narrow lanes: calls go straight to the one thread, which batches them. */
    private readonly scheduler: LaneScheduler<ThreadHost> | undefined,
    readonly spec: VisionSpec,
    readonly providers: readonly string[],
    readonly loadNs: number,
  ) {
    this.hosts = [lanes.wide, ...lanes.narrow];
  }

  static async open(options: VisionRunnerOptions): Promise<VisionRunner> {
    const started = performance.now();
    const maxBatch = options.maxBatch ?? 8;
    if (!Number.isInteger(maxBatch) || maxBatch < 1)
      throw new RangeError('maxBatch must be a positive integer');
    if (options.lanes !== undefined && (!Number.isInteger(options.lanes) || options.lanes < 1))
      throw new RangeError('lanes must be a positive integer');
    const data: VisionThreadData = {
      folder: options.folder,
      file: options.file,
      session: options.session,
      maxBatch,
      maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS,
      preprocessThread: options.preprocessThread ?? runsOffTheCpu(options.session),
    };
    const start = (session: SessionOptions) =>
      ThreadHost.start(
        threadEntry(import.meta.url, './vision-thread.js'),
        { ...data, session },
        {
          heapMb: options.session.threadHeapMb,
        },
      );
    const hosts: ThreadHost[] = [];
    try {
      const wide = await start(options.session);
      hosts.push(wide);
      const info = await wide.request<VisionThreadInfo>('info', null);
      const narrow = narrowLanes(options, info.spec);
      if (narrow.count > 1) {
        const opened = await Promise.allSettled(
          Array.from({ length: narrow.count }, () =>
            start({ ...options.session, intraOpThreads: narrow.threads }),
          ),
        );
        for (const lane of opened) if (lane.status === 'fulfilled') hosts.push(lane.value);
        const failed = opened.find((lane) => lane.status === 'rejected');
        if (failed) throw failed.reason;
        // Each lane loads its session before it answers.
        await Promise.all(hosts.slice(1).map((host) => host.request('info', null)));
      }
      const lanes = { wide, narrow: hosts.slice(1) };
      return new VisionRunner(
        lanes,
        lanes.narrow.length > 0 ? new LaneScheduler(lanes) : undefined,
        info.spec,
        info.providers,
        Math.round((performance.now() - started) * 1e6),
      );
    } catch (error) {
      await Promise.all(hosts.map((host) => host.close()));
      throw error;
    }
  }

  /** Sessions of the model: one with every intra-op thread, and one per narrow lane. */
  get sessions(): number {
    return this.hosts.length;
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

  /** Instance segmentation (a YOLOv8-seg model): detections with their masks. */
  async segment(
    image: Uint8Array,
    options: SegmentOptions = {},
    call: VisionCallOptions = {},
  ): Promise<SegmentResult> {
    const [result] = await this.segmentBatch([image], options, call);
    return result as SegmentResult;
  }

  segmentBatch(
    images: Uint8Array[],
    options: SegmentOptions = {},
    call: VisionCallOptions = {},
  ): Promise<SegmentResult[]> {
    const payload: SegmentPayload = { images, options };
    return this.call<SegmentResult[]>('segment', payload, images, call);
  }

  /** Pose estimation (a YOLOv8-pose model): detections with their keypoints. */
  async pose(
    image: Uint8Array,
    options: DetectOptions = {},
    call: VisionCallOptions = {},
  ): Promise<PoseResult> {
    const [result] = await this.poseBatch([image], options, call);
    return result as PoseResult;
  }

  poseBatch(
    images: Uint8Array[],
    options: DetectOptions = {},
    call: VisionCallOptions = {},
  ): Promise<PoseResult[]> {
    const payload: DetectPayload = { images, options };
    return this.call<PoseResult[]>('pose', payload, images, call);
  }

  /** Background removal (a matting model: IS-Net, U²-Net, BiRefNet, RMBG): the matte at the image's size. */
  async removeBackground(
    image: Uint8Array,
    options: RemoveBackgroundOptions = {},
    call: VisionCallOptions = {},
  ): Promise<BackgroundResult> {
    const [result] = await this.removeBackgroundBatch([image], options, call);
    return result as BackgroundResult;
  }

  removeBackgroundBatch(
    images: Uint8Array[],
    options: RemoveBackgroundOptions = {},
    call: VisionCallOptions = {},
  ): Promise<BackgroundResult[]> {
    const payload: RemoveBackgroundPayload = { images, options };
    return this.call<BackgroundResult[]>('removeBackground', payload, images, call);
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
    await Promise.all(
      this.hosts.map(async (host) => {
        await host.request('release', null).catch(() => undefined);
        await host.close();
      }),
    );
  }

  /**
   * Calls `listener` (once) if one of the model's threads dies on its own (see ThreadHost.onExit):
   * the owner replaces the whole runner.
   */
  onExit(listener: (error: VmmError) => void): void {
    let told = false;
    for (const host of this.hosts) {
      host.onExit((error) => {
        if (told) return;
        told = true;
        listener(error);
      });
    }
  }

  /** Watches the model's threads: a stuck one is ended, a run that never returns reported (ThreadHost.watch). */
  watch(options: ThreadWatch): void {
    for (const host of this.hosts) host.watch(options);
  }

  /** Ends the model's threads as a crash would: their calls fail, their owner replaces the runner. */
  async kill(): Promise<void> {
    await Promise.all(this.hosts.map((host) => host.kill()));
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
    const send = (host: ThreadHost) =>
      host.request<T>(method, payload, {
        transfer: [...new Set(transfer)],
        ...(call.signal ? { signal: call.signal } : {}),
      });
    return this.scheduler ? this.scheduler.run(send, call.signal) : send(this.lanes.wide);
  }
}

/**
 * How many narrow lanes a model gets, and the intra-op threads of each: none off the CPU (a GPU
 * run leaves no cores to share), for a batch other than a fixed 1 (its thread batches concurrent
 * calls into one run instead), or with fewer than 2 threads to share.
 */
function narrowLanes(options: VisionRunnerOptions, spec: VisionSpec): { count: number; threads: number } {
  const threads = options.session.intraOpThreads ?? availableParallelism();
  const count = Math.min(options.lanes ?? 2, threads);
  if (options.session.backend !== 'cpu' || spec.batch !== 1 || count < 2) return { count: 0, threads };
  return { count, threads: Math.floor(threads / count) };
}
