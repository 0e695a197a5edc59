// The one module that talks to openvino-node (STYLE.md habit 6). openvino-node needs Node >= 21
// and downloads the OpenVINO runtime at install, so it lives only in the OpenVINO image and is
// loaded by dynamic import; everywhere else this module explains what is missing.
import { nativeRun } from '../thread/native-runs.js';
import { withoutPaths } from './without-paths.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, VmmError } from '@vmm/errors';
import type { ModelSession } from '../model-session.js';
import type { SessionOptions, ValueInfo } from '../session-options.js';
import type { TensorArray, TensorData, TensorType } from '../tensor-data.js';

// The parts of openvino-node's API this adapter uses (it ships no types we can depend on here).
interface OvTensor {
  data: TensorArray;
  getShape(): number[];
}
interface OvPort {
  getAnyName(): string;
  getPartialShape(): { toString(): string };
  getElementType?(): unknown;
}
interface OvInferRequest {
  inferAsync(inputs: Record<string, OvTensor>): Promise<Record<string, OvTensor>>;
}
interface OvCompiledModel {
  inputs: OvPort[];
  outputs: OvPort[];
  createInferRequest(): OvInferRequest;
}
interface OvCore {
  readModel(path: string): Promise<unknown>;
  compileModel(model: unknown, device: string): Promise<OvCompiledModel>;
}
interface OvAddon {
  Core: new () => OvCore;
  Tensor: new (type: unknown, shape: number[], data: TensorArray) => OvTensor;
  element: Record<string, unknown>;
}

export const OPENVINO_INSTALL_HINT =
  'openvino-node is not installed: it needs Node.js >= 21 and downloads the OpenVINO runtime when installed; run the OpenVINO worker image (docker compose --profile openvino)';

export async function loadOpenVino(): Promise<OvAddon> {
  const name = 'openvino-node';
  try {
    const module = (await import(name)) as { addon?: OvAddon; default?: { addon?: OvAddon } };
    const addon = module.addon ?? module.default?.addon;
    if (!addon) throw new Error('openvino-node has no addon export');
    return addon;
  } catch (error) {
    throw new VmmError(ErrorCode.FailedPrecondition, OPENVINO_INSTALL_HINT, { cause: error });
  }
}

const elementNames: Readonly<Record<TensorType, string>> = {
  float32: 'f32',
  float16: 'f16',
  int64: 'i64',
  int32: 'i32',
  bool: 'boolean',
  uint8: 'u8',
  int8: 'i8',
};

function typeOfArray(data: TensorArray): TensorType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint16Array) return 'float16';
  if (data instanceof Int8Array) return 'int8';
  return 'uint8';
}

/** "[?,3,640,640]" → ["dim0", 3, 640, 640]: dynamic dimensions become names, as ONNX Runtime reports. */
function parseShape(text: string): (number | string)[] {
  const body = text.replace(/^\[|\]$/g, '').trim();
  if (body.length === 0) return [];
  return body.split(',').map((part, i) => {
    const value = Number(part.trim());
    return Number.isInteger(value) && value >= 0 ? value : `dim${i}`;
  });
}

function portInfo(port: OvPort): ValueInfo {
  const type = String(port.getElementType?.() ?? 'f32');
  const entry = Object.entries(elementNames).find(([, name]) => type.toLowerCase().includes(name));
  return {
    name: port.getAnyName(),
    type: entry?.[0] ?? 'float32',
    shape: parseShape(port.getPartialShape().toString()),
  };
}

/** Opens an ONNX model with OpenVINO on the configured device (CPU, GPU or AUTO). */
export async function createOpenVinoSession(
  model: string | Uint8Array,
  options: SessionOptions,
): Promise<ModelSession> {
  const ov = await loadOpenVino();
  const device = options.openvinoDevice ?? 'AUTO';
  // OpenVINO reads models from files; bytes (the probe model) go through a temporary one.
  const temp = typeof model === 'string' ? undefined : mkdtempSync(join(tmpdir(), 'vmm-ov-'));
  const path = typeof model === 'string' ? model : join(temp as string, 'model.onnx');
  if (temp) writeFileSync(path, model);
  let compiled: OvCompiledModel;
  try {
    const core = new ov.Core();
    compiled = await core.compileModel(await core.readModel(path), device);
  } catch (error) {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `OpenVINO cannot load the model on ${device}: ${withoutPaths((error as Error).message)}`,
      {
        cause: error,
      },
    );
  } finally {
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
  const request = compiled.createInferRequest();
  return {
    inputs: compiled.inputs.map(portInfo),
    outputs: compiled.outputs.map(portInfo),
    providers: [`openvino:${device}`],
    async run(feeds, outputNames) {
      const inputs: Record<string, OvTensor> = {};
      for (const [name, tensor] of Object.entries(feeds)) {
        inputs[name] = new ov.Tensor(ov.element[elementNames[tensor.type]], tensor.dims, tensor.data);
      }
      const results = await nativeRun(() => request.inferAsync(inputs));
      const out: Record<string, TensorData> = {};
      for (const [name, tensor] of Object.entries(results)) {
        if (outputNames && !outputNames.includes(name)) continue;
        // Copy: the request reuses its output buffers on the next inference.
        const data = tensor.data.slice() as TensorArray;
        out[name] = { type: typeOfArray(data), dims: [...tensor.getShape()], data };
      }
      return out;
    },
    async release() {
      // openvino-node frees compiled models with garbage collection; nothing to close.
    },
  };
}
