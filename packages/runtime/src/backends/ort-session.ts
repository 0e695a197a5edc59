// The one module that talks to onnxruntime-node (STYLE.md habit 6).
import { nativeRun } from '../thread/native-runs.js';
import { withoutPaths } from './without-paths.js';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ErrorCode, VmmError } from '@vmm/errors';
import * as ort from 'onnxruntime-node';
import { executionProvidersFor } from '../backend.js';
import type { ModelSession } from '../model-session.js';
import type { SessionOptions, ValueInfo } from '../session-options.js';
import type { TensorArray, TensorData, TensorType } from '../tensor-data.js';
import { probeModelBytes } from './probe-model.js';

const require = createRequire(import.meta.url);

/** Where onnxruntime-node keeps its native libraries on this platform. */
function ortLibraryDir(): string {
  const packageRoot = dirname(require.resolve('onnxruntime-node/package.json'));
  return join(packageRoot, 'bin', 'napi-v6', process.platform, process.arch);
}

/**
 * Whether the CUDA execution provider's libraries are installed next to onnxruntime-node. They
 * are not on npm: `npm ci` fetches them only with ONNXRUNTIME_NODE_INSTALL=cuda12.
 */
export function cudaProviderInstalled(): boolean {
  return existsSync(join(ortLibraryDir(), 'libonnxruntime_providers_cuda.so'));
}

export const CUDA_INSTALL_HINT =
  'install onnxruntime-node with its CUDA binaries (ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci, CUDA 12 and cuDNN 9 on the host)';

function valueInfo(metadata: ort.InferenceSession.ValueMetadata): ValueInfo {
  return metadata.isTensor
    ? { name: metadata.name, type: metadata.type, shape: [...metadata.shape] }
    : { name: metadata.name, type: 'non-tensor', shape: [] };
}

function toOrt(tensor: TensorData): ort.Tensor {
  return new ort.Tensor(tensor.type, tensor.data, tensor.dims);
}

function fromOrt(tensor: ort.Tensor): TensorData {
  return { type: tensor.type as TensorType, dims: [...tensor.dims], data: tensor.data as TensorArray };
}

/**
 * Proves the backend's execution providers load and run, on a one-node model: what a worker
 * checks before it says it serves a backend. Throws the same clear errors as createOrtSession.
 */
export async function probeBackend(options: SessionOptions): Promise<readonly string[]> {
  const session = await createModelSession(probeModelBytes(), options);
  try {
    const out = await session.run({ x: { type: 'float32', dims: [1], data: Float32Array.of(42) } });
    if ((out.y?.data as Float32Array | undefined)?.[0] !== 42)
      throw new Error('the probe model returned a wrong value');
    return session.providers;
  } finally {
    await session.release();
  }
}

/** Opens a model on its backend's runtime: OpenVINO for openvino, ONNX Runtime otherwise. */
export async function createModelSession(
  model: string | Uint8Array,
  options: SessionOptions,
): Promise<ModelSession> {
  if (options.backend === 'openvino') {
    const { createOpenVinoSession } = await import('./openvino-session.js');
    return createOpenVinoSession(model, options);
  }
  return createOrtSession(model, options);
}

/** Opens an ONNX model (a path, or its bytes) with the execution providers of `options.backend`. */
export async function createOrtSession(
  model: string | Uint8Array,
  options: SessionOptions,
): Promise<ModelSession> {
  const providers = executionProvidersFor(options.backend, options.deviceId);
  if (options.backend === 'cuda' && !cudaProviderInstalled()) {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `the CUDA execution provider is not installed: ${CUDA_INSTALL_HINT}`,
    );
  }
  let session: ort.InferenceSession;
  try {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: providers.map((provider) =>
        provider.name === 'cuda' ? { name: 'cuda', deviceId: provider.deviceId ?? 0 } : 'cpu',
      ),
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      executionMode: 'sequential',
      ...(options.intraOpThreads === undefined ? {} : { intraOpNumThreads: options.intraOpThreads }),
      interOpNumThreads: options.interOpThreads ?? 1,
      extra: {
        session: {
          ...(options.externalDataDir === undefined
            ? {}
            : { model_external_initializers_file_folder_path: options.externalDataDir }),
          ...(options.spinning === false ? { 'intra_op.allow_spinning': '0' } : {}),
        },
      },
    };
    session = await nativeRun(() =>
      typeof model === 'string'
        ? ort.InferenceSession.create(model, sessionOptions)
        : ort.InferenceSession.create(model, sessionOptions),
    );
  } catch (error) {
    const message = withoutPaths(error instanceof Error ? error.message : String(error));
    if (options.backend === 'cuda' && /cuda|shared library|providers/i.test(message)) {
      throw new VmmError(
        ErrorCode.FailedPrecondition,
        `the CUDA execution provider failed to start (no usable NVIDIA GPU or driver, or missing CUDA/cuDNN libraries): ${message}`,
        { cause: error },
      );
    }
    throw new VmmError(ErrorCode.FailedPrecondition, `cannot load the model file: ${message}`, {
      cause: error,
    });
  }
  return {
    inputs: session.inputMetadata.map(valueInfo),
    outputs: session.outputMetadata.map(valueInfo),
    providers: providers.map((provider) => provider.name),
    async run(feeds, outputNames) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, tensor] of Object.entries(feeds)) ortFeeds[name] = toOrt(tensor);
      const results = await nativeRun(() =>
        outputNames ? session.run(ortFeeds, [...outputNames]) : session.run(ortFeeds),
      );
      const out: Record<string, TensorData> = {};
      for (const [name, value] of Object.entries(results)) out[name] = fromOrt(value);
      return out;
    },
    release: () => session.release(),
  };
}
