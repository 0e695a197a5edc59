import { availableParallelism, cpus } from 'node:os';
import { type Backend, type Batching, type LoadedModel, type ModelsServer, Task } from '@vmm/proto';
import { ErrorCode, VmmError } from '@vmm/errors';
import type { LlmRunner } from '@vmm/llm';
import { checkModelText } from '@vmm/model-store';
import {
  inspectModelFolder,
  listModelFolders,
  type ModelFolder,
  selectModelFile,
  type Backend as RuntimeBackend,
  variantTags,
} from '@vmm/runtime';
import type { Logger } from 'pino';
import { requestIdOf, toStatus } from './grpc-edge.js';
import type { LoadedModelState, ModelManager } from './model-manager.js';
import { ModelInfoCache } from './model-info.js';
import { providersOf } from './model-runner.js';
import { taskFromProto, taskToProto } from './proto-mapping.js';

export interface ModelsDeps {
  manager: ModelManager;
  modelsDir: string;
  backend: RuntimeBackend;
  protoBackend: Backend;
  requestedBackend: Backend;
  providers: readonly string[];
  device: string;
  threads: number;
  maxLoaded: number;
  maxRunning: number;
  maxQueue: number;
  version: string;
  logger: Logger;
}

export function describeDevice(backend: RuntimeBackend, deviceId: number, openvinoDevice: string): string {
  if (backend === 'cuda') return `cuda:${deviceId}`;
  if (backend === 'openvino') return `openvino:${openvinoDevice}`;
  return `cpu (${cpus()[0]?.model.trim() ?? 'unknown'}, ${availableParallelism()} threads)`;
}

/** Implements vmm.v1.Models: the catalogue, explicit load/unload, and the router's view. */
export function createModelsService(
  deps: ModelsDeps,
): Pick<ModelsServer, 'list' | 'show' | 'load' | 'unload' | 'workerInfo'> {
  const modelInfos = new ModelInfoCache();
  const loadedToProto = async (state: LoadedModelState): Promise<LoadedModel> => ({
    model: await modelInfos.listing(state.folder, state.file),
    memoryBytes: state.folder.files.find((file) => file.path === state.file)?.bytes ?? 0,
    deviceMemoryBytes: 0,
    expiresAtMs: state.expiresAtMs,
    running: state.running,
    queued: state.queued,
    providers: [...providersOf(state.model)],
    batching: state.model.kind === 'llm' ? await batchingOf(state.model.runner) : undefined,
  });
  const fail = (error: unknown, requestId: string) => toStatus(error, deps.logger, requestId);

  return {
    list(call, callback) {
      const wanted = taskFromProto(call.request.task);
      void (async () => {
        const { models, problems } = listModelFolders(deps.modelsDir);
        for (const problem of problems)
          deps.logger.warn({ model: problem.name, reason: problem.error.message }, 'model folder skipped');
        const infos = await Promise.all(
          models
            .filter((folder) => call.request.task === Task.TASK_UNSPECIFIED || folder.task === wanted)
            .flatMap((folder) => withVariantTags(folder, deps.backend))
            .map(async ({ folder, file }) => {
              try {
                return await modelInfos.listing(folder, file);
              } catch (error) {
                // One model that cannot be described (labels over the bounds, say) is left out
                // of the listing, not the listing itself.
                deps.logger.warn({ model: folder.name, reason: (error as Error).message }, 'model skipped');
                return undefined;
              }
            }),
        );
        return { models: infos.filter((info) => info !== undefined) };
      })().then(
        (response) => callback(null, response),
        (error: unknown) => callback(fail(error, requestIdOf(undefined, call.metadata))),
      );
    },

    show(call, callback) {
      void (async () => {
        const folder = inspectModelFolder(deps.modelsDir, call.request.model);
        if (folder.stored) {
          try {
            checkModelText(folder.stored);
          } catch (error) {
            // A model stored before the bounds: listed, served, deletable; only not shown whole.
            throw new VmmError(
              ErrorCode.FailedPrecondition,
              `${folder.name}: ${(error as Error).message}; delete the model and create it again`,
            );
          }
        }
        return modelInfos.show(folder, selectModelFile(folder, deps.backend).path);
      })().then(
        (response) => callback(null, response),
        (error: unknown) => callback(fail(error, requestIdOf(undefined, call.metadata))),
      );
    },

    load(call, callback) {
      void deps.manager
        .load(call.request.model, call.request.keepAliveMs)
        .then(async ({ state, loadNs }) => ({ model: await loadedToProto(state), loadNs }))
        .then(
          (response) => callback(null, response),
          (error: unknown) => callback(fail(error, requestIdOf(undefined, call.metadata))),
        );
    },

    unload(call, callback) {
      void deps.manager.unload(call.request.model).then(
        (unloaded) => callback(null, { unloaded }),
        (error: unknown) => callback(fail(error, requestIdOf(undefined, call.metadata))),
      );
    },

    workerInfo(_call, callback) {
      void Promise.all(deps.manager.loaded().map(loadedToProto)).then(
        (loadedModels) => {
          const totals = deps.manager.totals();
          callback(null, {
            backend: deps.protoBackend,
            requestedBackend: deps.requestedBackend,
            device: deps.device,
            providers: [...deps.providers],
            threads: deps.threads,
            loadedModels,
            running: totals.running,
            queued: totals.queued,
            capacity: deps.maxRunning * deps.maxLoaded,
            queueCapacity: deps.maxQueue * deps.maxLoaded,
            version: deps.version,
            tasks: Object.values(taskToProto),
          });
        },
        (error: unknown) => callback(fail(error, 'worker-info')),
      );
    },
  };
}

/** The scheduler's state, as the proto carries it; undefined if the model is going away. */
async function batchingOf(runner: LlmRunner): Promise<Batching | undefined> {
  try {
    const stats = await runner.stats();
    return {
      runningSequences: stats.running,
      waitingSequences: stats.waiting,
      batchSize: stats.batchSize,
      kvCacheBytes: stats.kvCacheBytes,
      kvCacheBudgetBytes: stats.kvCacheBudgetBytes,
      kvCacheTokens: stats.kvCacheTokens,
      prefixCacheHits: stats.prefixCacheHits,
      prefixCacheTokens: stats.prefixCacheTokens,
    };
  } catch {
    return undefined;
  }
}

/** Tags listed for a folder's other ONNX variants (one per kind of file, as Ollama lists tags). */
const LISTED_TAGS = ['fp32', 'fp16', 'q8', 'q4', 'q4f16'] as const;

/**
 * A folder as the backend serves it by default, then one `name:tag` per other variant it
 * holds (`tiny-llama:q4` for onnx/model_q4.onnx); a tag with a folder of its own wins.
 */
function withVariantTags(
  folder: ModelFolder,
  backend: RuntimeBackend,
): { folder: ModelFolder; file: string }[] {
  const chosen = selectModelFile(folder, backend).path;
  const listed = [{ folder, file: chosen }];
  // Variant tags are listed for plain folders served as `name:latest` (a stored model is one variant).
  if (folder.task !== 'text-generation' || folder.stored || !folder.name.endsWith(':latest')) return listed;
  const path = folder.name.slice(0, -':latest'.length);
  const seen = new Set([chosen]);
  for (const tag of LISTED_TAGS) {
    const variants = variantTags[tag] ?? [];
    const file = folder.files.find((candidate) => variants.includes(candidate.variant));
    if (!file || seen.has(file.path)) continue;
    seen.add(file.path);
    listed.push({ folder: { ...folder, name: `${path}:${tag}`, variants }, file: file.path });
  }
  return listed;
}
