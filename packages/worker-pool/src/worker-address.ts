import { ErrorCode, VmmError } from '@vmm/errors';

export type BackendName = 'cpu' | 'cuda' | 'openvino';
export const backendNames: readonly BackendName[] = ['cpu', 'cuda', 'openvino'];

export interface WorkerAddress {
  backend: BackendName;
  /** host:port (a DNS name may front many pods). */
  address: string;
}

/** `VMM_WORKERS`: `cpu=localhost:50051,cuda=gpu-0:50051`; a backend may appear more than once. */
export function parseWorkers(text: string): WorkerAddress[] {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  return entries.map((entry) => {
    const match = /^(cpu|cuda|openvino)=([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(entry);
    if (!match || Number(match[3]) > 65535) {
      throw new VmmError(
        ErrorCode.InvalidArgument,
        `VMM_WORKERS entry "${entry}" must look like cpu=host:port (backends: ${backendNames.join(', ')})`,
        { field: 'VMM_WORKERS' },
      );
    }
    return { backend: match[1] as BackendName, address: `${match[2]}:${match[3]}` };
  });
}

/** `VMM_BACKEND_PREFERENCE`: `cuda,openvino,cpu` (the default). */
export function parseBackendPreference(text: string): BackendName[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(backendNames as readonly string[]).includes(name)) {
      throw new VmmError(
        ErrorCode.InvalidArgument,
        `VMM_BACKEND_PREFERENCE names unknown backend "${name}"`,
        {
          field: 'VMM_BACKEND_PREFERENCE',
        },
      );
    }
  }
  return [...new Set(names as BackendName[])];
}
