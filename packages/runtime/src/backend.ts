import { ErrorCode, VmmError } from '@vmm/errors';

/** The hardware backends a worker serves on (ARCHITECTURE.md). */
export type Backend = 'cpu' | 'cuda' | 'openvino';

export const backends: readonly Backend[] = ['cpu', 'cuda', 'openvino'];

export function parseBackend(value: string): Backend {
  if ((backends as readonly string[]).includes(value)) return value as Backend;
  throw new VmmError(
    ErrorCode.InvalidArgument,
    `unknown backend "${value}"; expected one of ${backends.join(', ')}`,
    {
      field: 'backend',
    },
  );
}

export interface ExecutionProvider {
  name: 'cpu' | 'cuda';
  deviceId?: number;
}

/**
 * The ONNX Runtime execution providers for a backend, in priority order: cpu → cpu; cuda →
 * cuda on the device, then cpu for the ops CUDA lacks. OpenVINO is not an ONNX Runtime
 * provider here: it has its own adapter (openvino-node).
 */
export function executionProvidersFor(backend: Backend, deviceId = 0): ExecutionProvider[] {
  switch (backend) {
    case 'cpu':
      return [{ name: 'cpu' }];
    case 'cuda':
      if (!Number.isInteger(deviceId) || deviceId < 0) {
        throw new VmmError(
          ErrorCode.InvalidArgument,
          `device id must be a non-negative integer, got ${deviceId}`,
          {
            field: 'device_id',
          },
        );
      }
      return [{ name: 'cuda', deviceId }, { name: 'cpu' }];
    case 'openvino':
      throw new VmmError(
        ErrorCode.Unimplemented,
        'Unsupported device "openvino" for ONNX Runtime: OpenVINO runs through the openvino-node adapter',
      );
  }
}
