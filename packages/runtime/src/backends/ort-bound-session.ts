// A session on ONNX Runtime's C API with I/O binding (see ort-c-api.ts for how it is reached).
import koffi from 'koffi';
import { ErrorCode, VmmError } from '@vmm/errors';
import type { BoundMemory, BoundSession } from '../model-session.js';
import type { SessionOptions, ValueInfo } from '../session-options.js';
import {
  ELEMENT_BYTES,
  elementCount,
  type TensorData,
  tensorArray,
  type TensorType,
} from '../tensor-data.js';
import { nativeRun } from '../thread/native-runs.js';
import { type OrtCApi, ortCApi, ortCApiFailure, type Pointer } from './ort-c-api.js';
import { withoutPaths } from './without-paths.js';

/** ONNX's element type numbers (TensorProto.DataType). */
const ONNX_TYPE: Record<TensorType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
};
const TENSOR_TYPE = new Map(Object.entries(ONNX_TYPE).map(([name, code]) => [code, name as TensorType]));
const TYPE_NAMES: Record<number, string> = {
  ...Object.fromEntries(TENSOR_TYPE),
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};
const OPTIMIZATION_LEVEL = { disabled: 0, basic: 1, extended: 2, all: 99 } as const;
const ORT_SEQUENTIAL = 0;
const ONNX_TYPE_TENSOR = 1;

/** Host memory from ONNX Runtime's allocator, seen from JavaScript through an external ArrayBuffer. */
class HostMemory implements BoundMemory {
  private freed = false;

  constructor(
    private readonly api: OrtCApi,
    readonly address: Pointer,
    readonly data: ArrayBuffer,
  ) {}

  static allocate(api: OrtCApi, bytes: number): HostMemory {
    // A zero-byte request could return null; one byte keeps every address real.
    const address = api.out('AllocatorAlloc', api.allocator, Math.max(1, bytes));
    return new HostMemory(api, address, koffi.view(address, bytes));
  }

  release(): void {
    if (this.freed) return;
    this.freed = true;
    this.api.call('AllocatorFree', this.api.allocator, this.address);
  }
}

/** Addresses of the ArrayBuffers that view host memory from `allocate`. */
const addresses = new WeakMap<ArrayBuffer, Pointer>();

function readValueInfo(api: OrtCApi, session: Pointer, kind: 'Input' | 'Output', index: number): ValueInfo {
  const namePointer = api.out(`SessionGet${kind}Name`, session, index, api.allocator);
  const name = koffi.decode(namePointer, 'char', -1) as string;
  api.call('AllocatorFree', api.allocator, namePointer);
  const typeInfo = api.out(`SessionGet${kind}TypeInfo`, session, index);
  try {
    const onnxType = new Int32Array(1);
    api.call('GetOnnxTypeFromTypeInfo', typeInfo, onnxType);
    if (onnxType[0] !== ONNX_TYPE_TENSOR) return { name, type: 'non-tensor', shape: [] };
    // Owned by the type info: not released on its own.
    const tensorInfo = api.out('CastTypeInfoToTensorInfo', typeInfo);
    const elementType = new Int32Array(1);
    api.call('GetTensorElementType', tensorInfo, elementType);
    const rank = Number(api.out('GetDimensionsCount', tensorInfo));
    const dims = new BigInt64Array(rank);
    if (rank > 0) api.call('GetDimensions', tensorInfo, dims, rank);
    const symbols = new BigUint64Array(rank);
    if (rank > 0) api.call('GetSymbolicDimensions', tensorInfo, symbols, rank);
    const shape = Array.from(dims, (dim, i) => {
      if (dim >= 0n) return Number(dim);
      const symbol = symbols[i] ? (koffi.decode(symbols[i], 'char', -1) as string) : '';
      return symbol || `unk__${i}`;
    });
    return { name, type: TYPE_NAMES[elementType[0] ?? 0] ?? 'unknown', shape };
  } finally {
    api.callVoid('ReleaseTypeInfo', typeInfo);
  }
}

class OrtBoundSession implements BoundSession {
  readonly providers = ['cpu'];
  /** Per input name, host memory that inputs from JavaScript's heap are copied into. */
  private readonly staging = new Map<string, HostMemory>();
  private released = false;

  constructor(
    private readonly api: OrtCApi,
    private readonly session: Pointer,
    private readonly binding: Pointer,
    readonly inputs: readonly ValueInfo[],
    readonly outputs: readonly ValueInfo[],
  ) {}

  allocate(bytes: number): BoundMemory {
    const memory = HostMemory.allocate(this.api, bytes);
    addresses.set(memory.data, memory.address);
    return memory;
  }

  async runBound(
    inputs: Readonly<Record<string, TensorData>>,
    outputs: Readonly<Record<string, TensorData>>,
  ): Promise<void> {
    await this.withBinding(inputs, (bind, values) => {
      for (const [name, tensor] of Object.entries(outputs)) {
        const value = values.get(tensor) ?? this.value(tensor, values, undefined);
        this.api.call('BindOutput', this.binding, name, value);
      }
      bind();
    });
  }

  async run(
    feeds: Readonly<Record<string, TensorData>>,
    outputNames?: readonly string[],
  ): Promise<Record<string, TensorData>> {
    const names = outputNames ?? this.outputs.map((output) => output.name);
    const results: Record<string, TensorData> = {};
    await this.withBinding(feeds, (bind) => {
      for (const name of names) this.api.call('BindOutputToDevice', this.binding, name, this.api.cpuMemory);
      bind();
      const list = new BigUint64Array(1);
      const count = new BigUint64Array(1);
      this.api.call('GetBoundOutputValues', this.binding, this.api.allocator, list, count);
      const values =
        Number(count[0]) > 0 ? (koffi.decode(list[0] ?? 0n, 'void *', Number(count[0])) as Pointer[]) : [];
      try {
        values.forEach((value, i) => {
          const name = names[i];
          if (name !== undefined) results[name] = this.copyOut(value);
        });
      } finally {
        for (const value of values) this.api.callVoid('ReleaseValue', value);
        if (list[0]) this.api.call('AllocatorFree', this.api.allocator, list[0]);
      }
    });
    return results;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.api.callVoid('ReleaseIoBinding', this.binding);
    this.api.callVoid('ReleaseSession', this.session);
    for (const memory of this.staging.values()) memory.release();
    this.staging.clear();
  }

  /**
   * Binds `inputs`, lets `body` bind the outputs, runs (when body calls `bind`) and frees the
   * values made for the run whatever happens. Runs synchronously on this thread, as
   * onnxruntime-node's own run does, under nativeRun's clock.
   */
  private async withBinding(
    inputs: Readonly<Record<string, TensorData>>,
    body: (run: () => void, values: Map<TensorData, Pointer>) => void,
  ): Promise<void> {
    if (this.released) throw new VmmError(ErrorCode.FailedPrecondition, 'the session was released');
    const values = new Map<TensorData, Pointer>();
    await nativeRun(async () => {
      try {
        for (const [name, tensor] of Object.entries(inputs)) {
          this.api.call('BindInput', this.binding, name, this.value(tensor, values, name));
        }
        body(() => {
          try {
            this.api.call('RunWithBinding', this.session, null, this.binding);
          } catch (error) {
            throw new VmmError(
              ErrorCode.Internal,
              `the model failed to run: ${withoutPaths(error instanceof Error ? error.message : String(error))}`,
              { cause: error },
            );
          }
        }, values);
      } finally {
        this.api.callVoid('ClearBoundInputs', this.binding);
        this.api.callVoid('ClearBoundOutputs', this.binding);
        for (const value of values.values()) this.api.callVoid('ReleaseValue', value);
      }
    });
  }

  /**
   * An OrtValue over the tensor's memory: its own when it views memory from `allocate`, else
   * (inputs only: `stageAs` names them) a copy in the session's staging memory.
   */
  private value(tensor: TensorData, values: Map<TensorData, Pointer>, stageAs: string | undefined): Pointer {
    const { data } = tensor;
    const bytes = data.byteLength;
    if (elementCount(tensor.dims) * ELEMENT_BYTES[tensor.type] !== bytes) {
      throw new RangeError(
        `a ${tensor.type} tensor of dims [${tensor.dims.join(', ')}] holds ${bytes} bytes`,
      );
    }
    let address = addresses.get(data.buffer as ArrayBuffer);
    if (address !== undefined) {
      address += BigInt(data.byteOffset);
    } else {
      if (stageAs === undefined) throw new RangeError('a bound output must view memory from allocate()');
      let memory = this.staging.get(stageAs);
      if (!memory || memory.data.byteLength < bytes) {
        memory?.release();
        memory = HostMemory.allocate(this.api, Math.max(64, 2 ** Math.ceil(Math.log2(Math.max(1, bytes)))));
        this.staging.set(stageAs, memory);
      }
      new Uint8Array(memory.data, 0, bytes).set(new Uint8Array(data.buffer, data.byteOffset, bytes));
      address = memory.address;
    }
    const shape = BigInt64Array.from(tensor.dims, (dim) => BigInt(dim));
    const value = this.api.out(
      'CreateTensorWithDataAsOrtValue',
      this.api.cpuMemory,
      address,
      bytes,
      shape,
      shape.length,
      ONNX_TYPE[tensor.type],
    );
    values.set(tensor, value);
    return value;
  }

  /** A result as plain data, copied out of the value ONNX Runtime allocated. */
  private copyOut(value: Pointer): TensorData {
    const info = this.api.out('GetTensorTypeAndShape', value);
    try {
      const elementType = new Int32Array(1);
      this.api.call('GetTensorElementType', info, elementType);
      const type = TENSOR_TYPE.get(elementType[0] ?? 0);
      if (!type)
        throw new VmmError(
          ErrorCode.Internal,
          `an output of element type ${elementType[0]} is not supported`,
        );
      const rank = Number(this.api.out('GetDimensionsCount', info));
      const dims = new BigInt64Array(rank);
      if (rank > 0) this.api.call('GetDimensions', info, dims, rank);
      const shape = Array.from(dims, Number);
      const length = elementCount(shape);
      const bytes = length * ELEMENT_BYTES[type];
      const data = tensorArray(type, length);
      if (bytes > 0) {
        const source = this.api.out('GetTensorMutableData', value);
        new Uint8Array(data.buffer).set(new Uint8Array(koffi.view(source, bytes)));
      }
      return { type, dims: shape, data };
    } finally {
      this.api.callVoid('ReleaseTensorTypeAndShapeInfo', info);
    }
  }
}

/** Why bound sessions are unavailable here, or undefined where they are. */
export function boundSessionsUnavailable(options: SessionOptions): string | undefined {
  if (options.backend !== 'cpu') {
    return `bound runs are built for the cpu backend (${options.backend} keeps session.run)`;
  }
  if (options.ortCApi === false) return 'turned off (ortCApi: false)';
  return ortCApi() ? undefined : `ONNX Runtime's C API could not be loaded: ${ortCApiFailure() ?? 'unknown'}`;
}

/**
 * Opens a model on the C API with I/O binding, or returns undefined where that path is
 * unavailable (see boundSessionsUnavailable): the caller then opens it with createModelSession.
 */
export async function createBoundSession(
  model: string | Uint8Array,
  options: SessionOptions,
): Promise<BoundSession | undefined> {
  if (boundSessionsUnavailable(options) !== undefined) return undefined;
  const api = ortCApi();
  if (!api) return undefined;
  const sessionOptions = api.out('CreateSessionOptions');
  try {
    api.call('SetSessionExecutionMode', sessionOptions, ORT_SEQUENTIAL);
    api.call(
      'SetSessionGraphOptimizationLevel',
      sessionOptions,
      OPTIMIZATION_LEVEL[options.graphOptimizationLevel ?? 'all'],
    );
    if (options.intraOpThreads !== undefined)
      api.call('SetIntraOpNumThreads', sessionOptions, options.intraOpThreads);
    api.call('SetInterOpNumThreads', sessionOptions, options.interOpThreads ?? 1);
    if (options.externalDataDir !== undefined && typeof model !== 'string') {
      api.call(
        'AddSessionConfigEntry',
        sessionOptions,
        'session.model_external_initializers_file_folder_path',
        options.externalDataDir,
      );
    }
    let session: Pointer;
    try {
      session = await nativeRun(async () =>
        typeof model === 'string'
          ? api.out('CreateSession', api.env, model, sessionOptions)
          : api.out('CreateSessionFromArray', api.env, model, model.byteLength, sessionOptions),
      );
    } catch (error) {
      throw new VmmError(
        ErrorCode.FailedPrecondition,
        `cannot load the model file: ${withoutPaths(error instanceof Error ? error.message : String(error))}`,
        { cause: error },
      );
    }
    const inputCount = Number(api.out('SessionGetInputCount', session));
    const outputCount = Number(api.out('SessionGetOutputCount', session));
    const inputs = Array.from({ length: inputCount }, (_, i) => readValueInfo(api, session, 'Input', i));
    const outputs = Array.from({ length: outputCount }, (_, i) => readValueInfo(api, session, 'Output', i));
    const binding = api.out('CreateIoBinding', session);
    return new OrtBoundSession(api, session, binding, inputs, outputs);
  } finally {
    api.callVoid('ReleaseSessionOptions', sessionOptions);
  }
}
