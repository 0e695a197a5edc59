// One worker address that resolves to several workers (as a Kubernetes headless Service does to
// its pods): the gateway's calls are spread over all of them, not pinned to the first.
import { describe, expect, it } from '@jest/globals';
import { credentials } from '@grpc/grpc-js';
import { ModelsClient, type WorkerInfoResponse } from '@vmm/proto';
import { gatewayConfig, useGateway, useWorkers } from './harness.js';

// Same port on two loopback addresses: `ipv4:` lists both behind one target, like DNS would.
const workers = useWorkers({ VMM_GRPC_HOST: '127.0.0.1' }, ([first]) => ({
  VMM_GRPC_HOST: '127.0.0.2',
  VMM_GRPC_PORT: String(first?.port),
}));
const port = () => workers[0]?.port ?? 0;
const gateway = useGateway(() => ({
  ...gatewayConfig([]),
  workers: [{ backend: 'cpu', address: `ipv4:127.0.0.1:${port()},127.0.0.2:${port()}` }],
}));

function loadedModels(host: string, port: number): Promise<string[]> {
  const client = new ModelsClient(`${host}:${port}`, credentials.createInsecure());
  return new Promise<string[]>((resolve, reject) =>
    client.workerInfo({}, (error: Error | null, info: WorkerInfoResponse) => {
      client.close();
      if (error) reject(error);
      else resolve(info.loadedModels.map((loaded) => loaded.model?.name ?? ''));
    }),
  );
}

describe('one address, several workers', () => {
  it('spreads generate calls over every worker behind the address', async () => {
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${gateway.url}/api/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'tiny-llama',
          prompt: 'Hi',
          stream: false,
          options: { num_predict: 1 },
        }),
      });
      expect(response.status).toBe(200);
    }
    // Each worker loaded the model, so each ran at least one of the calls.
    expect(await loadedModels('127.0.0.1', port())).toContain('tiny-llama:latest');
    expect(await loadedModels('127.0.0.2', port())).toContain('tiny-llama:latest');
  });
});
