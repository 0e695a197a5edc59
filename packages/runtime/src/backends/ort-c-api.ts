// ONNX Runtime's C API, reached through koffi (an FFI with prebuilt binaries, MIT) in the very
// libonnxruntime that onnxruntime-node loads: what the Node binding does not expose (I/O
// binding over memory the caller owns) without a second copy of the runtime or a compiler.
// Only this folder touches ONNX Runtime (STYLE.md habit 6).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import koffi from 'koffi';

const require = createRequire(import.meta.url);

/** A native pointer (koffi 3 passes pointers as BigInt). */
export type Pointer = bigint;

/**
 * The first entries of `struct OrtApi`, in the header's order (the table only ever grows at its
 * end, so a newer library keeps these offsets). Index = position of the function pointer.
 */
const API_FIELDS = [
  'CreateStatus',
  'GetErrorCode',
  'GetErrorMessage',
  'CreateEnv',
  'CreateEnvWithCustomLogger',
  'EnableTelemetryEvents',
  'DisableTelemetryEvents',
  'CreateSession',
  'CreateSessionFromArray',
  'Run',
  'CreateSessionOptions',
  'SetOptimizedModelFilePath',
  'CloneSessionOptions',
  'SetSessionExecutionMode',
  'EnableProfiling',
  'DisableProfiling',
  'EnableMemPattern',
  'DisableMemPattern',
  'EnableCpuMemArena',
  'DisableCpuMemArena',
  'SetSessionLogId',
  'SetSessionLogVerbosityLevel',
  'SetSessionLogSeverityLevel',
  'SetSessionGraphOptimizationLevel',
  'SetIntraOpNumThreads',
  'SetInterOpNumThreads',
  'CreateCustomOpDomain',
  'CustomOpDomain_Add',
  'AddCustomOpDomain',
  'RegisterCustomOpsLibrary',
  'SessionGetInputCount',
  'SessionGetOutputCount',
  'SessionGetOverridableInitializerCount',
  'SessionGetInputTypeInfo',
  'SessionGetOutputTypeInfo',
  'SessionGetOverridableInitializerTypeInfo',
  'SessionGetInputName',
  'SessionGetOutputName',
  'SessionGetOverridableInitializerName',
  'CreateRunOptions',
  'RunOptionsSetRunLogVerbosityLevel',
  'RunOptionsSetRunLogSeverityLevel',
  'RunOptionsSetRunTag',
  'RunOptionsGetRunLogVerbosityLevel',
  'RunOptionsGetRunLogSeverityLevel',
  'RunOptionsGetRunTag',
  'RunOptionsSetTerminate',
  'RunOptionsUnsetTerminate',
  'CreateTensorAsOrtValue',
  'CreateTensorWithDataAsOrtValue',
  'IsTensor',
  'GetTensorMutableData',
  'FillStringTensor',
  'GetStringTensorDataLength',
  'GetStringTensorContent',
  'CastTypeInfoToTensorInfo',
  'GetOnnxTypeFromTypeInfo',
  'CreateTensorTypeAndShapeInfo',
  'SetTensorElementType',
  'SetDimensions',
  'GetTensorElementType',
  'GetDimensionsCount',
  'GetDimensions',
  'GetSymbolicDimensions',
  'GetTensorShapeElementCount',
  'GetTensorTypeAndShape',
  'GetTypeInfo',
  'GetValueType',
  'CreateMemoryInfo',
  'CreateCpuMemoryInfo',
  'CompareMemoryInfo',
  'MemoryInfoGetName',
  'MemoryInfoGetId',
  'MemoryInfoGetMemType',
  'MemoryInfoGetType',
  'AllocatorAlloc',
  'AllocatorFree',
  'AllocatorGetInfo',
  'GetAllocatorWithDefaultOptions',
  'AddFreeDimensionOverride',
  'GetValue',
  'GetValueCount',
  'CreateValue',
  'CreateOpaqueValue',
  'GetOpaqueValue',
  'KernelInfoGetAttribute_float',
  'KernelInfoGetAttribute_int64',
  'KernelInfoGetAttribute_string',
  'KernelContext_GetInputCount',
  'KernelContext_GetOutputCount',
  'KernelContext_GetInput',
  'KernelContext_GetOutput',
  'ReleaseEnv',
  'ReleaseStatus',
  'ReleaseMemoryInfo',
  'ReleaseSession',
  'ReleaseValue',
  'ReleaseRunOptions',
  'ReleaseTypeInfo',
  'ReleaseTensorTypeAndShapeInfo',
  'ReleaseSessionOptions',
  'ReleaseCustomOpDomain',
  'GetDenotationFromTypeInfo',
  'CastTypeInfoToMapTypeInfo',
  'CastTypeInfoToSequenceTypeInfo',
  'GetMapKeyType',
  'GetMapValueType',
  'GetSequenceElementType',
  'ReleaseMapTypeInfo',
  'ReleaseSequenceTypeInfo',
  'SessionEndProfiling',
  'SessionGetModelMetadata',
  'ModelMetadataGetProducerName',
  'ModelMetadataGetGraphName',
  'ModelMetadataGetDomain',
  'ModelMetadataGetDescription',
  'ModelMetadataLookupCustomMetadataMap',
  'ModelMetadataGetVersion',
  'ReleaseModelMetadata',
  'CreateEnvWithGlobalThreadPools',
  'DisablePerSessionThreads',
  'CreateThreadingOptions',
  'ReleaseThreadingOptions',
  'ModelMetadataGetCustomMetadataMapKeys',
  'AddFreeDimensionOverrideByName',
  'GetAvailableProviders',
  'ReleaseAvailableProviders',
  'GetStringTensorElementLength',
  'GetStringTensorElement',
  'FillStringTensorElement',
  'AddSessionConfigEntry',
  'CreateAllocator',
  'ReleaseAllocator',
  'RunWithBinding',
  'CreateIoBinding',
  'ReleaseIoBinding',
  'BindInput',
  'BindOutput',
  'BindOutputToDevice',
  'GetBoundOutputNames',
  'GetBoundOutputValues',
  'ClearBoundInputs',
  'ClearBoundOutputs',
] as const;
type ApiField = (typeof API_FIELDS)[number];

/** The API version asked for: 16 (ONNX Runtime 1.16) has everything used here. */
const API_VERSION = 16;

/** Each function used, as a C prototype; `void *` stands for every handle and out-pointer. */
const PROTOTYPES: Partial<Record<ApiField, string>> = {
  GetErrorMessage: 'const char *f(void *status)',
  ReleaseStatus: 'void f(void *status)',
  CreateEnv: 'void *f(int level, const char *logid, void *out)',
  CreateSessionOptions: 'void *f(void *out)',
  SetSessionExecutionMode: 'void *f(void *options, int mode)',
  SetSessionGraphOptimizationLevel: 'void *f(void *options, int level)',
  SetIntraOpNumThreads: 'void *f(void *options, int threads)',
  SetInterOpNumThreads: 'void *f(void *options, int threads)',
  AddSessionConfigEntry: 'void *f(void *options, const char *key, const char *value)',
  CreateSession: 'void *f(void *env, const char *path, void *options, void *out)',
  CreateSessionFromArray: 'void *f(void *env, void *data, size_t length, void *options, void *out)',
  SessionGetInputCount: 'void *f(void *session, void *out)',
  SessionGetOutputCount: 'void *f(void *session, void *out)',
  SessionGetInputName: 'void *f(void *session, size_t index, void *allocator, void *out)',
  SessionGetOutputName: 'void *f(void *session, size_t index, void *allocator, void *out)',
  SessionGetInputTypeInfo: 'void *f(void *session, size_t index, void *out)',
  SessionGetOutputTypeInfo: 'void *f(void *session, size_t index, void *out)',
  GetOnnxTypeFromTypeInfo: 'void *f(void *info, void *out)',
  CastTypeInfoToTensorInfo: 'void *f(void *info, void *out)',
  GetTensorElementType: 'void *f(void *info, void *out)',
  GetDimensionsCount: 'void *f(void *info, void *out)',
  GetDimensions: 'void *f(void *info, void *out, size_t length)',
  GetSymbolicDimensions: 'void *f(void *info, void *out, size_t length)',
  GetTensorTypeAndShape: 'void *f(void *value, void *out)',
  GetTensorMutableData: 'void *f(void *value, void *out)',
  ReleaseTypeInfo: 'void f(void *info)',
  ReleaseTensorTypeAndShapeInfo: 'void f(void *info)',
  GetAllocatorWithDefaultOptions: 'void *f(void *out)',
  AllocatorAlloc: 'void *f(void *allocator, size_t size, void *out)',
  AllocatorFree: 'void *f(void *allocator, void *pointer)',
  CreateCpuMemoryInfo: 'void *f(int allocator, int memory, void *out)',
  CreateTensorWithDataAsOrtValue:
    'void *f(void *info, void *data, size_t bytes, void *shape, size_t rank, int type, void *out)',
  CreateIoBinding: 'void *f(void *session, void *out)',
  BindInput: 'void *f(void *binding, const char *name, void *value)',
  BindOutput: 'void *f(void *binding, const char *name, void *value)',
  BindOutputToDevice: 'void *f(void *binding, const char *name, void *memory)',
  GetBoundOutputValues: 'void *f(void *binding, void *allocator, void *out, void *count)',
  ClearBoundInputs: 'void f(void *binding)',
  ClearBoundOutputs: 'void f(void *binding)',
  RunWithBinding: 'void *f(void *session, void *options, void *binding)',
  ReleaseSession: 'void f(void *session)',
  ReleaseValue: 'void f(void *value)',
  ReleaseSessionOptions: 'void f(void *options)',
  ReleaseIoBinding: 'void f(void *binding)',
};

type ApiFunction = (...args: unknown[]) => unknown;

/** The functions of the loaded API by name, each throwing with ONNX Runtime's message on failure. */
export interface OrtCApi {
  readonly version: string;
  /** Calls a function that returns an OrtStatus*: throws with its message when it is not null. */
  call(name: ApiField, ...args: unknown[]): void;
  /** Calls a function that returns nothing. */
  callVoid(name: ApiField, ...args: unknown[]): void;
  /** Calls a function whose last argument is an out-pointer, and returns what it wrote. */
  out(name: ApiField, ...args: unknown[]): Pointer;
  readonly env: Pointer;
  /** ONNX Runtime's default CPU allocator (strings it returns are freed with it). */
  readonly allocator: Pointer;
  /** Plain CPU memory, as tensors over caller-owned host memory are described. */
  readonly cpuMemory: Pointer;
}

let loaded: OrtCApi | undefined;
let failure: string | undefined;

/** The library onnxruntime-node ships for this platform. */
function libraryPath(): string {
  const root = dirname(require.resolve('onnxruntime-node/package.json'));
  const name =
    process.platform === 'win32'
      ? 'onnxruntime.dll'
      : process.platform === 'darwin'
        ? 'libonnxruntime.dylib'
        : 'libonnxruntime.so.1';
  return join(root, 'bin', 'napi-v6', process.platform, process.arch, name);
}

function load(): OrtCApi {
  const library = koffi.load(libraryPath());
  const getApiBase = library.func('void *OrtGetApiBase()') as () => Pointer;
  const base = getApiBase();
  const [getApi, getVersion] = koffi.decode(base, 'void *', 2) as [Pointer, Pointer];
  const version = (koffi.decode(getVersion, koffi.proto('const char *GetVersionString()')) as () => string)();
  const table = (
    koffi.decode(getApi, koffi.proto('void *GetApi(uint32_t version)')) as (v: number) => Pointer | null
  )(API_VERSION);
  if (!table) throw new Error(`ONNX Runtime ${version} does not offer C API version ${API_VERSION}`);
  const pointers = koffi.decode(table, 'void *', API_FIELDS.length) as Pointer[];
  const functions = new Map<ApiField, ApiFunction>();
  for (const [name, prototype] of Object.entries(PROTOTYPES) as [ApiField, string][]) {
    const pointer = pointers[API_FIELDS.indexOf(name)];
    if (!pointer) throw new Error(`ONNX Runtime ${version} has no ${name}`);
    functions.set(
      name,
      koffi.decode(pointer, koffi.proto(prototype.replace(/\bf\(/, `vmm_ort_${name}(`))) as ApiFunction,
    );
  }
  const fn = (name: ApiField): ApiFunction => {
    const found = functions.get(name);
    if (!found) throw new Error(`${name} is not bound`);
    return found;
  };
  const check = (status: unknown) => {
    if (status === null || status === 0n || status === undefined) return;
    const message = fn('GetErrorMessage')(status) as string;
    fn('ReleaseStatus')(status);
    throw new Error(message);
  };
  const cell = new BigUint64Array(1);
  const api = {
    version,
    call: (name: ApiField, ...args: unknown[]) => check(fn(name)(...args)),
    callVoid: (name: ApiField, ...args: unknown[]) => void fn(name)(...args),
    out: (name: ApiField, ...args: unknown[]): Pointer => {
      cell[0] = 0n;
      check(fn(name)(...args, cell));
      return cell[0] ?? 0n;
    },
  };
  const ORT_LOGGING_LEVEL_ERROR = 3;
  const env = api.out('CreateEnv', ORT_LOGGING_LEVEL_ERROR, 'vmm');
  const allocator = api.out('GetAllocatorWithDefaultOptions');
  const OrtArenaAllocator = 1;
  const OrtMemTypeDefault = 0;
  const cpuMemory = api.out('CreateCpuMemoryInfo', OrtArenaAllocator, OrtMemTypeDefault);
  return { ...api, env, allocator, cpuMemory };
}

/**
 * The C API, loaded on first use; undefined where it cannot be (no koffi build for this
 * platform, another library layout): callers then keep to onnxruntime-node's `session.run`.
 */
export function ortCApi(): OrtCApi | undefined {
  if (loaded || failure !== undefined) return loaded;
  try {
    loaded = load();
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
  }
  return loaded;
}

/** Why the C API is unavailable (undefined while it is, or before the first try). */
export function ortCApiFailure(): string | undefined {
  return failure;
}
