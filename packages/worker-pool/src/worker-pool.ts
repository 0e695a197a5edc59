import {
  type ChannelCredentials,
  type ClientReadableStream,
  type ClientWritableStream,
  credentials,
  type Interceptor,
  InterceptingCall,
  Metadata,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import {
  ERROR_CODE_TRAILER,
  ErrorCode,
  fromGrpcError,
  type GrpcStatusLike,
  isGrpcStatusLike,
  VmmError,
} from '@vmm/errors';
import { tryCanonicalModelName } from '@vmm/model-store';
import {
  Backend,
  type ClassifyRequest,
  type ClassifyResponse,
  type EmbedRequest,
  type EmbedResponse,
  type DetectRequest,
  type DetectResponse,
  type PoseRequest,
  type PoseResponse,
  type RemoveBackgroundRequest,
  type RemoveBackgroundResponse,
  type SegmentRequest,
  type SegmentResponse,
  InferenceClient,
  type ModelInfo,
  ModelsClient,
  Task,
  type WorkerInfoResponse,
} from '@vmm/proto';
import type { BackendName, WorkerAddress } from './worker-address.js';

export interface WorkerPoolOptions {
  workers: readonly WorkerAddress[];
  /** Backends in order of preference; unlisted backends come last. */
  preference: readonly BackendName[];
  /** How often each worker's WorkerInfo and model list are polled. */
  pollIntervalMs?: number;
  /** Deadline of a poll call. */
  pollTimeoutMs?: number;
  /** The workers' shared token (VMM_WORKER_TOKEN), sent with every call. */
  token?: string | undefined;
  /** PEM of the CA that signed the workers' certificates: gRPC over TLS when given. */
  tlsCa?: Buffer | undefined;
}

/** Adds `authorization: Bearer <token>` to every call of a client. */
function tokenInterceptor(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('authorization', `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}

/** What the pool knows of one worker. */
export interface WorkerState {
  id: string;
  backend: BackendName;
  address: string;
  up: boolean;
  info: WorkerInfoResponse | undefined;
  models: ModelInfo[];
  lastSeenMs: number | undefined;
  lastError: string | undefined;
}

export interface WorkerHandle {
  state: WorkerState;
  inference: InferenceClient;
  models: ModelsClient;
}

const backendByProto: Readonly<Partial<Record<Backend, BackendName>>> = {
  [Backend.BACKEND_CPU]: 'cpu',
  [Backend.BACKEND_CUDA]: 'cuda',
  [Backend.BACKEND_OPENVINO]: 'openvino',
};

/** Errors after which the next worker is tried, when nothing was answered yet. */
/** An upload whose image has been sent: what ends it (see WorkerPool.detectUpload). */
export interface PendingUpload<Request, Result> {
  /** Sends the request (the upload's other fields, its image empty) and waits for the answer. */
  finish(request: Request): Promise<Result>;
  /** Gives the upload up: the form around the image turned out wrong. */
  cancel(): void;
}

const retryable = new Set<number>([status.UNAVAILABLE, status.RESOURCE_EXHAUSTED, status.NOT_FOUND]);

/** The backend a worker serves with (a CUDA worker that fell back to the CPU serves `cpu`). */
export function servedBackend(state: WorkerState): BackendName {
  return (state.info && backendByProto[state.info.backend]) ?? state.backend;
}

function load(state: WorkerState): number {
  const info = state.info;
  if (!info) return 1;
  return (info.running + info.queued) / Math.max(1, info.capacity);
}

/**
 * The routing policy: up workers (pinned backend only, if pinned) that list the model — or all
 * of them when none does yet, since a model added after the last poll is not listed — in
 * backend-preference order, least loaded first. Throws UNAVAILABLE when none can take it.
 */
export function rankWorkers(
  states: readonly WorkerState[],
  model: string,
  preference: readonly BackendName[],
  pin: BackendName | undefined,
  retryAfterMs: number,
): WorkerState[] {
  const up = states.filter((state) => state.up);
  if (up.length === 0) throw new VmmError(ErrorCode.Unavailable, 'no worker is serving', { retryAfterMs });
  const pinned = pin ? up.filter((state) => servedBackend(state) === pin) : up;
  if (pinned.length === 0)
    throw new VmmError(ErrorCode.Unavailable, `no healthy ${pin} worker`, { retryAfterMs });
  const canonical = tryCanonicalModelName(model);
  const serving = pinned.filter((state) => state.models.some((info) => info.name === canonical));
  const rank = (state: WorkerState) => {
    const index = preference.indexOf(servedBackend(state));
    return index < 0 ? preference.length : index;
  };
  return [...(serving.length > 0 ? serving : pinned)].sort((a, b) => rank(a) - rank(b) || load(a) - load(b));
}

// One worker address may name several pods (a Kubernetes headless Service resolves to each pod's
// IP): spread calls over all of them. The default, pick_first, would send every call from this
// process to the first address only.
const channelOptions = {
  'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
  // Models.Show carries a model's bounded text whole (up to ~6 MiB: model-store's
  // modelTextLimits) and RemoveBackground a cut-out PNG up to the worker's message limit
  // (VMM_MAX_MESSAGE_BYTES, 32 MiB by default); gRPC's default 4 MiB is too little for either.
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
};

/**
 * The workers behind a gateway (or batch runner): polls each one's WorkerInfo and model list,
 * routes a request to a healthy worker that serves the model — pinned backend if asked, else in
 * backend-preference order, least loaded first — and fails over to the next worker when one
 * fails before answering.
 */
export class WorkerPool {
  private readonly handles: WorkerHandle[];
  private timer: NodeJS.Timeout | undefined;
  /** The poll `refresh` callers share while it runs. */
  private refreshing: Promise<void> | undefined;
  private readonly pollIntervalMs: number;
  private readonly pollTimeoutMs: number;

  constructor(private readonly options: WorkerPoolOptions) {
    this.pollIntervalMs = options.pollIntervalMs ?? 2000;
    this.pollTimeoutMs = options.pollTimeoutMs ?? 2000;
    const channel: ChannelCredentials = options.tlsCa
      ? credentials.createSsl(options.tlsCa)
      : credentials.createInsecure();
    const clientOptions = {
      ...channelOptions,
      ...(options.token ? { interceptors: [tokenInterceptor(options.token)] } : {}),
    };
    this.handles = options.workers.map((worker) => ({
      state: {
        id: `${worker.backend}@${worker.address}`,
        backend: worker.backend,
        address: worker.address,
        up: false,
        info: undefined,
        models: [],
        lastSeenMs: undefined,
        lastError: 'not polled yet',
      },
      inference: new InferenceClient(worker.address, channel, clientOptions),
      models: new ModelsClient(worker.address, channel, clientOptions),
    }));
  }

  /** Polls every worker once, then keeps polling in the background. */
  async start(): Promise<void> {
    await this.pollAll();
    this.timer = setInterval(() => void this.pollAll(), this.pollIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const handle of this.handles) {
      handle.inference.close();
      handle.models.close();
    }
  }

  states(): WorkerState[] {
    return this.handles.map((handle) => handle.state);
  }

  ready(): boolean {
    return this.handles.some((handle) => handle.state.up);
  }

  /** Every model an up worker serves, by name (the first worker's description wins). */
  catalogue(task: Task = Task.TASK_UNSPECIFIED): ModelInfo[] {
    const byName = new Map<string, ModelInfo>();
    for (const handle of this.handles) {
      if (!handle.state.up) continue;
      for (const model of handle.state.models) {
        if (task !== Task.TASK_UNSPECIFIED && model.task !== task) continue;
        if (!byName.has(model.name)) byName.set(model.name, model);
      }
    }
    return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** The catalogue's entry for a model in any spelling (`tiny-llama` is `tiny-llama:latest`). */
  find(model: string, task: Task = Task.TASK_UNSPECIFIED): ModelInfo | undefined {
    const canonical = tryCanonicalModelName(model);
    return canonical === undefined ? undefined : this.catalogue(task).find((info) => info.name === canonical);
  }

  /**
   * Polls every worker now: a model added, pulled or deleted since the last poll shows at once.
   * Concurrent callers (a burst of /api/tags) share one poll.
   */
  refresh(): Promise<void> {
    this.refreshing ??= this.pollAll().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /**
   * The worker for calls on the models directory (pull, create, copy, delete, blobs): every
   * worker shares it, so the first up one in backend-preference order.
   */
  storeWorker(): WorkerHandle {
    const [first] = rankWorkers(
      this.handles.map((handle) => handle.state),
      '',
      this.options.preference,
      undefined,
      1000,
    );
    const handle = this.handles.find((candidate) => candidate.state === first);
    if (!handle) throw new VmmError(ErrorCode.Unavailable, 'no worker is serving', { retryAfterMs: 1000 });
    return handle;
  }

  /** Up workers, best first, that can take a request for `model` (optionally pinned). */
  route(model: string, pin?: BackendName): WorkerHandle[] {
    const order = rankWorkers(
      this.handles.map((handle) => handle.state),
      model,
      this.options.preference,
      pin,
      this.pollIntervalMs,
    );
    return order.map((state) => this.handles.find((handle) => handle.state === state) as WorkerHandle);
  }

  /**
   * Streams from the first worker that answers: a worker that fails before its first message
   * (unreachable, full, or without the model) is skipped and the next one is tried. `isLast`
   * names the message after which the server ends the call: the end is read before that
   * message is handed over, so a consumer that stops there has not cut a call still open.
   * Only a consumer that stops earlier (its client went away) cancels the call.
   */
  async *stream<T>(
    model: string,
    pin: BackendName | undefined,
    open: (handle: WorkerHandle) => ClientReadableStream<T>,
    isLast: (message: T) => boolean = () => false,
  ): AsyncGenerator<T> {
    let lastError: unknown;
    for (const handle of this.route(model, pin)) {
      const call = open(handle);
      const iterator = (call as AsyncIterable<T>)[Symbol.asyncIterator]();
      let next: IteratorResult<T>;
      try {
        next = await iterator.next();
      } catch (error) {
        lastError = error;
        this.noteFailure(handle, error);
        if (isGrpcStatusLike(error) && retryable.has(error.code)) continue;
        throw callError(model, error as ServiceError);
      }
      // Cancelling a call that has ended on the server still sends an RST_STREAM; one per
      // request is what HTTP/2 "rapid reset" protection (nghttp2's reset-rate limit in the
      // worker's Node) counts, and past its limit the worker closes the whole connection with
      // an INTERNAL error for every call on it.
      let ended = false;
      try {
        while (!next.done) {
          const message = next.value;
          if (isLast(message)) {
            // The status follows the last message at once; a failure after it changes nothing
            // the consumer needs.
            next = await iterator.next().catch(() => ({ done: true as const, value: undefined }));
            ended = next.done === true;
            yield message;
            continue;
          }
          yield message;
          next = await iterator.next();
        }
        ended = true;
      } catch (error) {
        ended = true; // the call failed: there is nothing left to cancel
        this.noteFailure(handle, error);
        throw isGrpcStatusLike(error) ? callError(model, error) : error;
      } finally {
        if (!ended) call.cancel();
      }
      return;
    }
    throw isGrpcStatusLike(lastError) ? callError(model, lastError) : VmmError.from(lastError);
  }

  /** A unary call on the first worker that answers, with the same failover as `stream`. */
  async unary<T>(
    model: string,
    pin: BackendName | undefined,
    call: (handle: WorkerHandle) => Promise<T>,
    /** Told which backend answered (for metrics). */
    served?: (backend: BackendName) => void,
  ): Promise<T> {
    let lastError: unknown;
    for (const handle of this.route(model, pin)) {
      try {
        const result = await call(handle);
        served?.(servedBackend(handle.state));
        return result;
      } catch (error) {
        lastError = error;
        this.noteFailure(handle, error);
        if (isGrpcStatusLike(error) && retryable.has(error.code)) continue;
        throw isGrpcStatusLike(error) ? callError(model, error) : error;
      }
    }
    throw isGrpcStatusLike(lastError) ? callError(model, lastError) : VmmError.from(lastError);
  }

  /** Models.Show from the first worker that serves `model`: the model whole, for /api/show. */
  show(model: string, metadata: Metadata): Promise<ModelInfo> {
    return this.unary(
      model,
      undefined,
      (handle) =>
        new Promise<ModelInfo>((resolve, reject) =>
          handle.models.show({ model }, metadata, { deadline: Date.now() + 30_000 }, (error, value) =>
            error ? reject(error) : resolve(value),
          ),
        ),
    );
  }

  /**
   * Models.Unload on every up worker (of the pinned backend, if pinned): a model may be loaded
   * on several. True when any had it loaded; fails only when no worker could be asked.
   */
  async unloadEverywhere(model: string, pin?: BackendName): Promise<boolean> {
    const handles = this.route(model, pin);
    const results = await Promise.allSettled(
      handles.map(
        (handle) =>
          new Promise<boolean>((resolve, reject) =>
            handle.models.unload({ model }, (error, value) =>
              error ? reject(error) : resolve(value.unloaded),
            ),
          ),
      ),
    );
    const answered = results.filter((result) => result.status === 'fulfilled');
    if (answered.length === 0) {
      const failure = results.find((result) => result.status === 'rejected')?.reason as unknown;
      throw isGrpcStatusLike(failure) ? fromGrpcError(failure) : VmmError.from(failure);
    }
    return answered.some((result) => result.value);
  }

  /** Inference.Detect on the first worker that answers. */
  detect(
    request: DetectRequest,
    pin: BackendName | undefined,
    metadata: Metadata,
    served?: (backend: BackendName) => void,
  ): Promise<DetectResponse> {
    return this.unary(
      request.model,
      pin,
      (handle) =>
        new Promise((resolve, reject) =>
          handle.inference.detect(request, metadata, (error, value) =>
            error ? reject(error) : resolve(value),
          ),
        ),
      served,
    );
  }

  /** Inference.Classify on the first worker that answers. */
  classify(
    request: ClassifyRequest,
    pin: BackendName | undefined,
    metadata: Metadata,
    served?: (backend: BackendName) => void,
  ): Promise<ClassifyResponse> {
    return this.unary(
      request.model,
      pin,
      (handle) =>
        new Promise((resolve, reject) =>
          handle.inference.classify(request, metadata, (error, value) =>
            error ? reject(error) : resolve(value),
          ),
        ),
      served,
    );
  }

  /**
   * Inference.DetectUpload: sends `pieces` (the image as it arrives) to the first worker for
   * `request`'s model and resolves once all are sent, with what finishes the call (see
   * PendingUpload). A streamed image is not kept anywhere, so unlike `detect` there is no
   * failover once the upload has begun: a worker that fails the call fails the request.
   */
  detectUpload(
    model: string,
    pin: BackendName | undefined,
    pieces: AsyncIterable<Buffer>,
    metadata: Metadata,
    served?: (backend: BackendName) => void,
  ): Promise<PendingUpload<DetectRequest, DetectResponse>> {
    return this.upload(
      model,
      pin,
      pieces,
      (handle, answer) => handle.inference.detectUpload(metadata, answer),
      served,
    );
  }

  /** Inference.ClassifyUpload, as `detectUpload`. */
  classifyUpload(
    model: string,
    pin: BackendName | undefined,
    pieces: AsyncIterable<Buffer>,
    metadata: Metadata,
    served?: (backend: BackendName) => void,
  ): Promise<PendingUpload<ClassifyRequest, ClassifyResponse>> {
    return this.upload(
      model,
      pin,
      pieces,
      (handle, answer) => handle.inference.classifyUpload(metadata, answer),
      served,
    );
  }

  /** Inference.Segment on the first worker that answers. */
  segment(
    request: SegmentRequest,
    pin: BackendName | undefined,
    metadata: Metadata,
    served?: (backend: BackendName) => void,
  ): Promise<SegmentResponse> {
    return this.unary(
      request.model,
      pin,
      (handle) =>
        new Promise((resolve, reject) =>
          handle.inference.segment(request, metadata, (error, value) =>
            error ? reject(error) : resolve(value),
          ),
        ),
      served,
    );
  }

  /** Inference.Pose on the first worker that answers. */
  pose(
    request: PoseRequest,
    pin: BackendName | undefined,
    metadata: Metadata,
    served?: (backend: BackendName) => void,
  ): Promise<PoseResponse> {
    return this.unary(
      request.model,
      pin,
      (handle) =>
        new Promise((resolve, reject) =>
          handle.inference.pose(request, metadata, (error, value) =>
            error ? reject(error) : resolve(value),
          ),
        ),
      served,
    );
  }

  /** Inference.RemoveBackground on the first worker that answers. */
  removeBackground(
    request: RemoveBackgroundRequest,
    pin: BackendName | undefined,
    metadata: Metadata,
    served?: (backend: BackendName) => void,
  ): Promise<RemoveBackgroundResponse> {
    return this.unary(
      request.model,
      pin,
      (handle) =>
        new Promise((resolve, reject) =>
          handle.inference.removeBackground(request, metadata, (error, value) =>
            error ? reject(error) : resolve(value),
          ),
        ),
      served,
    );
  }

  /** Inference.RemoveBackgroundUpload, as `detectUpload`. */
  removeBackgroundUpload(
    model: string,
    pin: BackendName | undefined,
    pieces: AsyncIterable<Buffer>,
    metadata: Metadata,
    served?: (backend: BackendName) => void,
  ): Promise<PendingUpload<RemoveBackgroundRequest, RemoveBackgroundResponse>> {
    return this.upload(
      model,
      pin,
      pieces,
      (handle, answer) => handle.inference.removeBackgroundUpload(metadata, answer),
      served,
    );
  }

  /** Inference.SegmentUpload, as `detectUpload`. */
  segmentUpload(
    model: string,
    pin: BackendName | undefined,
    pieces: AsyncIterable<Buffer>,
    metadata: Metadata,
    served?: (backend: BackendName) => void,
  ): Promise<PendingUpload<SegmentRequest, SegmentResponse>> {
    return this.upload(
      model,
      pin,
      pieces,
      (handle, answer) => handle.inference.segmentUpload(metadata, answer),
      served,
    );
  }

  /** Inference.PoseUpload, as `detectUpload`. */
  poseUpload(
    model: string,
    pin: BackendName | undefined,
    pieces: AsyncIterable<Buffer>,
    metadata: Metadata,
    served?: (backend: BackendName) => void,
  ): Promise<PendingUpload<PoseRequest, PoseResponse>> {
    return this.upload(
      model,
      pin,
      pieces,
      (handle, answer) => handle.inference.poseUpload(metadata, answer),
      served,
    );
  }

  /** Inference.Embed on the first worker that answers. */
  embed(
    request: EmbedRequest,
    pin: BackendName | undefined,
    metadata: Metadata,
    served?: (backend: BackendName) => void,
  ): Promise<EmbedResponse> {
    return this.unary(
      request.model,
      pin,
      (handle) =>
        new Promise((resolve, reject) =>
          handle.inference.embed(request, metadata, (error, value) =>
            error ? reject(error) : resolve(value),
          ),
        ),
      served,
    );
  }

  /** Polls now (tests and /readyz use it to avoid waiting for the interval). */
  pollAll(): Promise<void> {
    return Promise.all(this.handles.map((handle) => this.poll(handle))).then(() => undefined);
  }

  private async upload<Request, Result>(
    model: string,
    pin: BackendName | undefined,
    pieces: AsyncIterable<Buffer>,
    open: (
      handle: WorkerHandle,
      answer: (error: ServiceError | null, value?: Result) => void,
    ) => ClientWritableStream<{ imageChunk?: Buffer; request?: Request }>,
    served?: (backend: BackendName) => void,
  ): Promise<PendingUpload<Request, Result>> {
    const [handle] = this.route(model, pin);
    if (!handle) throw new VmmError(ErrorCode.Unavailable, 'no worker is serving', { retryAfterMs: 1000 });
    let failed: unknown;
    let call!: ClientWritableStream<{ imageChunk?: Buffer; request?: Request }>;
    const answer = new Promise<Result>((resolve, reject) => {
      call = open(handle, (error, value) => {
        if (error) {
          failed = error;
          reject(error);
        } else resolve(value as Result);
      });
    });
    const settled = answer.then(
      () => undefined,
      () => undefined,
    );
    const failure = (error: unknown) => {
      this.noteFailure(handle, error);
      return isGrpcStatusLike(error) ? callError(model, error) : VmmError.from(error);
    };
    try {
      for await (const piece of pieces) {
        if (failed !== undefined) break;
        if (!call.write({ imageChunk: piece })) {
          // The transport's buffer is full: wait for it, or for the worker to have answered.
          let onDrain!: () => void;
          const drained = new Promise<void>((resolve) => {
            onDrain = resolve;
            call.once('drain', resolve);
          });
          await Promise.race([drained, settled]);
          call.off('drain', onDrain);
        }
      }
    } catch (error) {
      call.cancel();
      throw error;
    }
    // The worker refused before the image was whole (too large, say): that is the answer.
    if (failed !== undefined) throw failure(failed);
    return {
      finish: async (request) => {
        call.write({ request });
        call.end();
        try {
          const result = await answer;
          served?.(servedBackend(handle.state));
          return result;
        } catch (error) {
          throw failure(error);
        }
      },
      cancel: () => call.cancel(),
    };
  }

  private noteFailure(handle: WorkerHandle, error: unknown): void {
    // The transport's UNAVAILABLE (no connection) takes the worker out until the next poll; a
    // worker's own (a model thread replaced, it is shutting down) carries VMM's error code and
    // says nothing of the worker's other models.
    const fromWorker = isGrpcStatusLike(error) && (error.metadata?.get(ERROR_CODE_TRAILER).length ?? 0) > 0;
    if (isGrpcStatusLike(error) && error.code === status.UNAVAILABLE && !fromWorker) {
      handle.state.up = false;
      handle.state.lastError = error.details ?? 'unavailable';
    }
  }

  private async poll(handle: WorkerHandle): Promise<void> {
    const deadline = () => Date.now() + this.pollTimeoutMs;
    try {
      const info = await new Promise<WorkerInfoResponse>((resolve, reject) =>
        handle.models.workerInfo({}, new Metadata(), { deadline: deadline() }, (error, value) =>
          error ? reject(error) : resolve(value),
        ),
      );
      const list = await new Promise<ModelInfo[]>((resolve, reject) =>
        handle.models.list(
          { task: Task.TASK_UNSPECIFIED },
          new Metadata(),
          { deadline: deadline() },
          (error, value) => (error ? reject(error) : resolve(value.models)),
        ),
      );
      Object.assign(handle.state, {
        up: true,
        info,
        models: list,
        lastSeenMs: Date.now(),
        lastError: undefined,
      });
    } catch (error) {
      handle.state.up = false;
      handle.state.lastError = error instanceof Error ? error.message : String(error);
    }
  }
}

/** VmmError.reason of a call whose worker went away while it was in flight (killed, crashed, cut off). */
export const WORKER_LOST = 'worker_lost';

/**
 * Whether a failed call lost its worker while in flight: the transport's own error (no VMM code
 * trailer) saying the connection or stream went away, not that none could be made.
 */
function lostInFlight(error: GrpcStatusLike): boolean {
  if (error.metadata?.get(ERROR_CODE_TRAILER)[0] !== undefined) return false;
  if (error.code !== status.UNAVAILABLE && error.code !== status.INTERNAL) return false;
  return /Connection dropped|ECONNRESET|RST_STREAM|Stream removed|socket hang up|GOAWAY|EPIPE/i.test(
    error.details ?? '',
  );
}

/**
 * A failed call as the error its caller sees. The worker's own errors carry VMM's code trailer
 * and stand as they are; a call whose worker went away in flight says so, as a retryable 503
 * with reason `worker_lost` (grpc-js says only "Connection dropped").
 */
function callError(model: string, error: GrpcStatusLike): VmmError {
  if (!lostInFlight(error)) return fromGrpcError(error);
  return new VmmError(
    ErrorCode.Unavailable,
    `the worker serving "${model}" went away mid-answer (${error.details || 'connection lost'}); retry the request`,
    { cause: error, retryAfterMs: 1000, reason: WORKER_LOST },
  );
}
