import type {
  sendUnaryData,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
} from '@grpc/grpc-js';
import { readFileSync, statSync } from 'node:fs';
import { ErrorCode, VmmError } from '@vmm/errors';
import {
  addParameter,
  checkModelText,
  hubReference,
  HubPuller,
  type ModelManifest,
  type ModelParameters,
  ModelStore,
  parseModelName,
  PullCoordinator,
  type PullProgress,
  type HubTimeouts,
  type StoredFile,
  variantTags,
} from '@vmm/model-store';
import type {
  BlobChunk,
  CopyModelRequest,
  CopyModelResponse,
  CreateModelRequest,
  DeleteModelRequest,
  DeleteModelResponse,
  HasBlobRequest,
  HasBlobResponse,
  ModelProgress,
  ModelsServer,
  PullModelRequest,
  PutBlobResponse,
} from '@vmm/proto';
import { type Backend, inspectModelDir, inspectModelFolder, selectModelFile } from '@vmm/runtime';
import { checkChatTemplate } from '@vmm/llm';
import type { Logger } from 'pino';
import { requestIdOf, signalOf, toStatus, writeWithBackpressure } from './grpc-edge.js';
import { modelText } from './model-info.js';
import type { ModelManager } from './model-manager.js';

const templateWhat =
  'the chat template (TEMPLATE, or tokenizer_config.json chat_template; Jinja, not Go template syntax)';

export interface StoreDeps {
  manager: ModelManager;
  modelsDir: string;
  backend: Backend;
  hub: {
    endpoint: string;
    token: string | undefined;
    maxBytes: number;
    maxPulls: number;
    timeouts: HubTimeouts;
  };
  maxBlobBytes: number;
  logger: Logger;
}

type StoreMethods = Pick<ModelsServer, 'pull' | 'create' | 'copy' | 'delete' | 'putBlob' | 'hasBlob'>;

/**
 * The model store's half of vmm.v1.Models: pull from the Hub, create, copy, delete, blobs. The
 * models directory is shared by every worker, so any one of them may serve these calls.
 */
export function createStoreService(deps: StoreDeps): StoreMethods {
  const store = new ModelStore(deps.modelsDir);
  const puller = new HubPuller(store, {
    endpoint: deps.hub.endpoint,
    token: deps.hub.token,
    maxBytes: deps.hub.maxBytes,
    timeouts: deps.hub.timeouts,
  });
  // What a new model must pass before its manifest is written: a folder the worker can serve,
  // whose text (labels, chat template) fits every answer that carries it.
  const servable = (name: string) => (dir: string) => {
    const { template } = modelText(inspectModelDir(name, dir));
    // The chat template too (a TEMPLATE line, or an uploaded tokenizer_config.json): it must
    // parse and render within its budget, or the model is not made.
    if (template !== undefined) checkChatTemplate(template, templateWhat);
  };
  const pulls = new PullCoordinator(async (name, progress, signal) => {
    const reference = hubReference(name);
    if (!reference) throw new VmmError(ErrorCode.Internal, `not a Hub name: ${name}`);
    await puller.pull(reference, progress, signal, servable(name));
    // A model pulled again is loaded afresh on its next use.
    await deps.manager.unload(name);
    deps.logger.info({ model: name, repo: reference.repo }, 'model pulled');
  }, deps.hub.maxPulls);

  const fail = (error: unknown, requestId: string) => toStatus(error, deps.logger, requestId);

  /** Runs a streamed store operation, writing its progress lines; errors end the stream. */
  async function streamProgress(
    call: ServerWritableStream<{ requestId: string }, ModelProgress>,
    work: (progress: (line: PullProgress) => void, signal: AbortSignal) => Promise<void>,
  ): Promise<void> {
    const requestId = requestIdOf(call.request.requestId, call.metadata);
    const signal = signalOf(call);
    let writing = Promise.resolve();
    const progress = (line: PullProgress) => {
      if (call.cancelled) return;
      writing = writing.then(() => writeWithBackpressure(call, line));
    };
    try {
      await work(progress, signal);
      await writing;
      if (!call.cancelled) call.end();
    } catch (error) {
      await writing;
      if (!call.cancelled) call.emit('error', fail(error, requestId));
    }
  }

  /** The files and additions of an existing model, as a new manifest would take them. */
  async function sourceOf(
    name: string,
  ): Promise<Omit<ModelManifest, 'name' | 'createdAt' | 'schemaVersion'>> {
    const parsed = parseModelName(name);
    const resolved = store.resolve(parsed);
    if (resolved?.manifest) {
      const { files, system, license, parameters } = resolved.manifest;
      return { files, system, license, parameters, from: parsed.canonical };
    }
    // A plain folder (or a variant tag of one): its files are linked into the blobs.
    const folder = inspectModelFolder(deps.modelsDir, name);
    let files = await store.importFolder(folder.dir);
    if (folder.variants) {
      const chosen = selectModelFile(folder, deps.backend).path;
      const isOtherGraph = (path: string) =>
        (path.endsWith('.onnx') || /\.onnx[._]data/.test(path)) && !path.startsWith(chosen);
      files = files.filter((file) => !isOtherGraph(file.path));
    }
    return { files, from: parsed.canonical };
  }

  /**
   * Where create and copy may write: not a plain folder's name, not a variant tag that a plain
   * folder serves (`tiny-llama:q8` is tiny-llama's onnx/model_quantized.onnx, and a manifest
   * there would shadow it), and not a model that is running here (delete refuses it too).
   */
  function checkDestination(name: string): string {
    const parsed = parseModelName(name);
    const stored = store.readManifest(parsed) !== undefined;
    if (!stored && store.plainFolder(parsed) !== undefined)
      throw new VmmError(
        ErrorCode.AlreadyExists,
        `model "${parsed.canonical}" is a folder in the models directory; delete it or pick another name`,
        { field: 'model' },
      );
    if (!stored && variantTags[parsed.tag.toLowerCase()] && existsAsVariant(deps.modelsDir, parsed.canonical))
      throw new VmmError(
        ErrorCode.AlreadyExists,
        `model "${parsed.canonical}" is the ${parsed.tag} variant of "${parsed.path}"; pick another tag`,
        { field: 'model' },
      );
    const busy = deps.manager.busy(parsed.canonical);
    if (busy > 0)
      throw new VmmError(
        ErrorCode.Aborted,
        `model "${parsed.canonical}" is in use by ${busy} request(s); replace it when they have ended`,
        { field: 'model' },
      );
    return parsed.canonical;
  }

  return {
    pull(call: ServerWritableStream<PullModelRequest, ModelProgress>) {
      void streamProgress(call, async (progress, signal) => {
        const name = parseModelName(call.request.model).canonical;
        if (!hubReference(name)) {
          // Not a Hub name: nothing to fetch; a model already here is "pulled".
          if (!store.resolve(name) && !existsAsVariant(deps.modelsDir, name))
            throw new VmmError(
              ErrorCode.NotFound,
              `model "${name}" is not in the models directory; pull hf.co/ORG/REPO[:variant] names from the Hugging Face Hub, or copy a folder into the models directory`,
              { field: 'model' },
            );
          progress({ status: 'success' });
          return;
        }
        await pulls.pull(name, progress, signal);
      });
    },

    create(call: ServerWritableStream<CreateModelRequest, ModelProgress>) {
      void streamProgress(call, async (progress) => {
        const request = call.request;
        const name = checkDestination(request.model);
        // A gRPC client may call the worker directly: the gateway's check is repeated here.
        checkModelText(request);
        progress({ status: 'reading model metadata' });
        const base = request.from ? await sourceOf(request.from) : { files: [] as StoredFile[] };
        const files = new Map(base.files.map((file) => [file.path, file]));
        for (const [path, digest] of Object.entries(request.files)) {
          if (!store.hasBlob(digest))
            throw new VmmError(
              ErrorCode.FailedPrecondition,
              `blob ${digest} (${path}) is not on the server; upload it first with POST /api/blobs/${digest}`,
              { field: 'files' },
            );
          files.set(path, { path, digest, size: statSync(store.blobPath(digest)).size });
        }
        if (files.size === 0)
          throw new VmmError(ErrorCode.InvalidArgument, 'from or files is required', { field: 'from' });
        for (const file of files.values()) progress({ status: `using existing layer ${file.digest}` });
        if (request.template !== undefined) {
          // The chat template lives in tokenizer_config.json: the new model gets its own copy.
          const current = files.get('tokenizer_config.json');
          const config = current
            ? (JSON.parse(readFileSync(store.blobPath(current.digest), 'utf8')) as Record<string, unknown>)
            : {};
          config.chat_template = request.template;
          const bytes = Buffer.from(`${JSON.stringify(config, null, 2)}\n`);
          const stored = await store.writeBlob([bytes], { maxBytes: bytes.byteLength });
          files.set('tokenizer_config.json', {
            path: 'tokenizer_config.json',
            digest: stored.digest,
            size: stored.size,
          });
          progress({ status: `creating template layer ${stored.digest}` });
        }
        let parameters: ModelParameters | undefined = base.parameters ? { ...base.parameters } : undefined;
        if (request.parameters.length > 0) {
          const added: ModelParameters = {};
          for (const { name: key, value } of request.parameters) addParameter(added, key, value);
          parameters = { ...parameters, ...added };
        }
        progress({ status: 'writing manifest' });
        await store.saveManifest(
          {
            schemaVersion: 1,
            name,
            files: [...files.values()].sort((a, b) => (a.path < b.path ? -1 : 1)),
            ...(request.system !== undefined
              ? { system: request.system }
              : base.system
                ? { system: base.system }
                : {}),
            ...(request.license.length > 0
              ? { license: request.license }
              : base.license
                ? { license: base.license }
                : {}),
            ...(parameters ? { parameters } : {}),
            ...(base.from ? { from: base.from } : {}),
            createdAt: new Date().toISOString(),
          },
          servable(name),
        );
        await deps.manager.unload(name);
        progress({ status: 'success' });
      });
    },

    copy(
      call: ServerUnaryCall<CopyModelRequest, CopyModelResponse>,
      callback: sendUnaryData<CopyModelResponse>,
    ) {
      void (async () => {
        const destination = checkDestination(call.request.destination);
        const source = await sourceOf(call.request.source);
        await store.saveManifest(
          { schemaVersion: 1, name: destination, ...source, createdAt: new Date().toISOString() },
          servable(destination),
        );
        await deps.manager.unload(destination);
        return {};
      })().then(
        (response) => callback(null, response),
        (error: unknown) => callback(fail(error, requestIdOf(undefined, call.metadata))),
      );
    },

    delete(
      call: ServerUnaryCall<DeleteModelRequest, DeleteModelResponse>,
      callback: sendUnaryData<DeleteModelResponse>,
    ) {
      void (async () => {
        const name = parseModelName(call.request.model).canonical;
        const busy = deps.manager.busy(name);
        if (busy > 0)
          throw new VmmError(
            ErrorCode.Aborted,
            `model "${name}" is in use by ${busy} request(s); delete it when they have ended`,
            { field: 'model' },
          );
        await deps.manager.unload(name);
        if (!(await store.remove(name)))
          throw new VmmError(ErrorCode.NotFound, `model "${name}" not found`, { field: 'model' });
        deps.logger.info({ model: name }, 'model deleted');
        return {};
      })().then(
        (response) => callback(null, response),
        (error: unknown) => callback(fail(error, requestIdOf(undefined, call.metadata))),
      );
    },

    putBlob(
      call: ServerReadableStream<BlobChunk, PutBlobResponse>,
      callback: sendUnaryData<PutBlobResponse>,
    ) {
      let digest: string | undefined;
      async function* data(): AsyncGenerator<Uint8Array> {
        for await (const chunk of call as AsyncIterable<BlobChunk>) {
          if (!(chunk.data instanceof Uint8Array))
            throw new VmmError(ErrorCode.InvalidArgument, 'a blob chunk is malformed', { field: 'body' });
          digest ??= chunk.digest;
          yield chunk.data;
        }
      }
      const chunks = data();
      void (async () => {
        // The first chunk names the digest: read it before the store checks anything.
        const first = await chunks.next();
        if (digest === undefined)
          throw new VmmError(ErrorCode.InvalidArgument, 'the blob has no digest', { field: 'digest' });
        async function* all(): AsyncIterable<Uint8Array> {
          if (!first.done) yield first.value;
          yield* chunks;
        }
        const stored = await store.writeBlob(all(), { expected: digest, maxBytes: deps.maxBlobBytes });
        return { created: !stored.existed };
      })().then(
        (response) => callback(null, response),
        (error: unknown) => callback(fail(error, requestIdOf(undefined, call.metadata))),
      );
    },

    hasBlob(
      call: ServerUnaryCall<HasBlobRequest, HasBlobResponse>,
      callback: sendUnaryData<HasBlobResponse>,
    ) {
      try {
        callback(null, { exists: store.hasBlob(call.request.digest) });
      } catch (error) {
        callback(fail(error, requestIdOf(undefined, call.metadata)));
      }
    },
  };
}

function existsAsVariant(modelsDir: string, name: string): boolean {
  try {
    inspectModelFolder(modelsDir, name);
    return true;
  } catch {
    return false;
  }
}
