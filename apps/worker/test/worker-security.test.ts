// The worker's gRPC port: a shared token checked by an interceptor, TLS, and requests that do
// not decode answered INVALID_ARGUMENT rather than INTERNAL.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Client,
  credentials,
  makeClientConstructor,
  Metadata,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { ModelsClient } from '@vmm/proto';
import { WorkerPool } from '@vmm/worker-pool';
import { service as healthService } from 'grpc-health-check';
import { pino } from 'pino';
import { generate } from 'selfsigned';
import { createWorker, type Worker } from '../src/index.js';
import { baseConfig, removeModels, type Running, startWorker, writeModels } from './worker-harness.js';

const modelsDir = writeModels();
const certDir = mkdtempSync(join(tmpdir(), 'vmm-tls-'));
const TOKEN = 'a-shared-worker-token-for-tests';
let secure: Worker;
let securePort: number;
let cert: string;
let plain: Running;

beforeAll(async () => {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  cert = pems.cert;
  writeFileSync(join(certDir, 'tls.crt'), pems.cert);
  writeFileSync(join(certDir, 'tls.key'), pems.private);
  secure = await createWorker(
    baseConfig(modelsDir, {
      workerToken: TOKEN,
      tls: { certFile: join(certDir, 'tls.crt'), keyFile: join(certDir, 'tls.key') },
    }),
    pino({ level: 'silent' }),
  );
  securePort = await secure.listen('127.0.0.1', 0);
  plain = await startWorker(baseConfig(modelsDir));
});

afterAll(async () => {
  await secure.shutdown(0);
  await plain.close();
  removeModels(modelsDir);
  rmSync(certDir, { recursive: true, force: true });
});

const list = (client: ModelsClient, metadata = new Metadata()) =>
  new Promise<string[]>((resolve, reject) =>
    client.list({ task: 0 }, metadata, (error, response) =>
      error ? reject(error) : resolve(response.models.map((model) => model.name)),
    ),
  );
const tls = () => credentials.createSsl(Buffer.from(cert));

describe('the worker token', () => {
  it.each([
    ['no token', undefined, /requires a token/],
    ['a wrong token', 'Bearer not-the-token', /invalid worker token/],
    ['a token without Bearer', TOKEN, /requires a token/],
  ])('refuses a call with %s: UNAUTHENTICATED', async (_name, header, message) => {
    const client = new ModelsClient(`127.0.0.1:${securePort}`, tls());
    const metadata = new Metadata();
    if (header) metadata.set('authorization', header);
    await expect(list(client, metadata)).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
      details: expect.stringMatching(message),
    });
    client.close();
  });

  it('lets the gateway’s pool in with the token and the CA, over TLS', async () => {
    const pool = new WorkerPool({
      workers: [{ backend: 'cpu', address: `127.0.0.1:${securePort}` }],
      preference: ['cpu'],
      token: TOKEN,
      tlsCa: Buffer.from(cert),
    });
    await pool.start();
    try {
      expect(pool.states()[0]).toMatchObject({ up: true, lastError: undefined });
      expect(pool.catalogue().map((model) => model.name)).toContain('tiny-llama:latest');
    } finally {
      pool.stop();
    }
  });

  it('keeps health checks open (probes carry no token)', async () => {
    const Health = makeClientConstructor(healthService, 'grpc.health.v1.Health');
    const health = new Health(`127.0.0.1:${securePort}`, tls()) as unknown as Client & {
      check(
        request: { service: string },
        callback: (error: ServiceError | null, response?: { status: string }) => void,
      ): void;
    };
    const answer = await new Promise<{ status: string } | undefined>((resolve, reject) =>
      health.check({ service: '' }, (error, response) => (error ? reject(error) : resolve(response))),
    );
    expect(answer?.status).toBe('SERVING');
    health.close();
  });

  it('passes the container health check (apps/worker/dist/healthcheck.js) over TLS', async () => {
    const script = fileURLToPath(new URL('../dist/healthcheck.js', import.meta.url));
    const code = await new Promise<number | null>((resolve) =>
      spawn(process.execPath, [script], {
        env: {
          PATH: process.env.PATH,
          VMM_GRPC_PORT: String(securePort),
          VMM_GRPC_TLS_CERT: join(certDir, 'tls.crt'),
          VMM_GRPC_TLS_KEY: join(certDir, 'tls.key'),
        },
        stdio: 'ignore',
      }).on('exit', resolve),
    );
    expect(code).toBe(0);
  });

  it('refuses a client that does not speak TLS', async () => {
    const client = new ModelsClient(`127.0.0.1:${securePort}`, credentials.createInsecure());
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${TOKEN}`);
    await expect(list(client, metadata)).rejects.toMatchObject({ code: status.UNAVAILABLE });
    client.close();
  });
});

/** Sends bytes as they are to a method, as a client with another (or a broken) encoder would. */
function sendRaw(port: number, path: string, bytes: Buffer): Promise<ServiceError | undefined> {
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (value: Buffer) => value,
      (value: Buffer) => value,
      bytes,
      (error) => {
        client.close();
        resolve(error ?? undefined);
      },
    );
  });
}

/** A protobuf varint, for values past what the generated encoder accepts. */
function varint(value: bigint): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80n) {
    out.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  out.push(Number(rest));
  return out;
}

describe('requests that do not decode', () => {
  const name = Buffer.from('tiny-llama');
  it.each([
    ['a truncated message', '/vmm.v1.Models/Load', Buffer.from([0x0a, 0x20, 0x61])],
    ['garbage', '/vmm.v1.Inference/Detect', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff])],
    [
      'keep_alive_ms of 2^53 + 1 (past a safe integer)',
      '/vmm.v1.Models/Load',
      Buffer.from([0x0a, name.length, ...name, 0x10, ...varint(2n ** 53n + 1n)]),
    ],
    ['a truncated streaming request', '/vmm.v1.Inference/Generate', Buffer.from([0x0a, 0x30, 0x61])],
  ])('answers %s with INVALID_ARGUMENT', async (_name, path, bytes) => {
    if (path.endsWith('/Generate')) {
      const client = new Client(`127.0.0.1:${plain.port}`, credentials.createInsecure());
      const error = await new Promise<ServiceError>((resolve) => {
        const call = client.makeServerStreamRequest(
          path,
          (value: Buffer) => value,
          (value: Buffer) => value,
          bytes,
        );
        call.on('data', () => undefined);
        call.on('error', resolve);
      });
      client.close();
      expect(error).toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: expect.stringMatching(/malformed/),
      });
      return;
    }
    const error = await sendRaw(plain.port, path, bytes);
    expect(error).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringMatching(/malformed/),
    });
  });

  it('still serves well-formed calls afterwards', async () => {
    const client = new ModelsClient(`127.0.0.1:${plain.port}`, credentials.createInsecure());
    expect(await list(client)).toContain('tiny-llama:latest');
    client.close();
  });
});
