#!/usr/bin/env node
// Container health check: asks the worker's own grpc.health.v1 service and exits 0 when it
// says SERVING. (Kubernetes probes gRPC natively; Docker needs a command.)
import { credentials, makeClientConstructor } from '@grpc/grpc-js';
import { service } from 'grpc-health-check';
import { loadConfig } from './config.js';

const { port, tls } = loadConfig();
const Health = makeClientConstructor(service, 'grpc.health.v1.Health');
// Over TLS, the question is whether this process serves, not who signed its certificate
// (a probe on 127.0.0.1 would not match the certificate's names anyway).
const channel = tls
  ? credentials.createSsl(null, null, null, { rejectUnauthorized: false })
  : credentials.createInsecure();
const client = new Health(`127.0.0.1:${port}`, channel) as unknown as {
  check(
    request: { service: string },
    options: { deadline: number },
    callback: (error: Error | null, response?: { status: string }) => void,
  ): void;
};
client.check({ service: '' }, { deadline: Date.now() + 2000 }, (error, response) => {
  process.exit(!error && response?.status === 'SERVING' ? 0 : 1);
});
