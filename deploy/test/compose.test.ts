// docker-compose.yml and the Dockerfiles, checked where no Docker engine runs: the Compose
// Specification's schema, and agreement with the apps' own configuration schemas.
import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configKeys as runnerKeys } from '@vmm/batch-runner';
import { configKeys as gatewayKeys, loadConfig as gatewayConfig, openApiDocument } from '@vmm/gateway';
import { configKeys as workerKeys, loadConfig as workerConfig } from '@vmm/worker';
import { parseDuration } from '@vmm/duration';
import { parseWorkers } from '@vmm/worker-pool';
import { Ajv } from 'ajv';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<
    string,
    {
      environment?: Record<string, string>;
      ports?: string[];
      profiles?: string[];
      deploy?: unknown;
      devices?: string[];
      build?: { dockerfile: string; target?: string };
      healthcheck?: unknown;
      depends_on?: Record<string, { condition: string }>;
      stop_grace_period?: string;
      restart?: string;
    }
  >;
};
const services = compose.services;

describe('docker-compose.yml', () => {
  it('validates against the Compose Specification schema', () => {
    const schemaText = readFileSync(join(root, 'deploy/schemas/compose-spec.json'), 'utf8');
    // The team's copy in ../shared/schemas, where present, is the same file.
    const shared = join(root, '../shared/schemas/compose-spec.json');
    if (existsSync(shared)) expect(readFileSync(shared, 'utf8')).toBe(schemaText);
    const schema = JSON.parse(schemaText) as object;
    // The schema names draft-07 by its https URL, which Ajv's draft-07 meta-schema does not use.
    const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it.each([
    ['gateway', gatewayKeys],
    ['worker-cpu', workerKeys],
    ['worker-cuda', workerKeys],
    ['worker-openvino', workerKeys],
    ['batch-runner', runnerKeys],
  ])('sets only variables %s reads', (name, keys) => {
    for (const variable of Object.keys(services[name]?.environment ?? {})) expect(keys).toContain(variable);
  });

  it('publishes the gateway on its port and points it at the workers’ ports by backend', () => {
    const port = gatewayConfig({}).port;
    expect(services.gateway?.ports).toContain(`${port}:${port}`);
    const workerPort = workerConfig({}).port;
    for (const name of ['gateway', 'batch-runner']) {
      const workers = parseWorkers(services[name]?.environment?.VMM_WORKERS ?? '');
      expect(workers.map((w) => w.backend)).toEqual(['cpu', 'cuda', 'openvino']);
      for (const worker of workers) {
        const [host, port] = worker.address.split(':');
        expect(services[host ?? '']?.environment?.VMM_BACKEND).toBe(worker.backend);
        expect(Number(port)).toBe(workerPort);
      }
    }
  });

  it('keeps the CUDA and OpenVINO workers behind their profiles, with their devices', () => {
    expect(services['worker-cuda']?.profiles).toEqual(['cuda']);
    expect(JSON.stringify(services['worker-cuda']?.deploy)).toContain('"driver":"nvidia"');
    expect(services['worker-openvino']?.profiles).toEqual(['openvino']);
    expect(services['worker-openvino']?.devices).toContain('/dev/dri:/dev/dri');
    expect(services['worker-cpu']?.profiles).toBeUndefined();
  });

  it('starts the gateway after healthy workers and Redis, and workers after the models exist', () => {
    expect(services.gateway?.depends_on).toMatchObject({
      redis: { condition: 'service_healthy' },
      'worker-cpu': { condition: 'service_healthy' },
    });
    expect(services['worker-cpu']?.depends_on).toMatchObject({
      'models-init': { condition: 'service_completed_successfully' },
    });
    expect(services.redis?.healthcheck).toBeDefined();
  });

  it('starts again every long-running service that dies, and only the one-shot models-init runs once', () => {
    for (const [name, service] of Object.entries(services))
      expect([name, service.restart]).toEqual([name, name === 'models-init' ? 'no' : 'unless-stopped']);
  });
});

describe('docker-compose.yml stop grace', () => {
  it.each([
    ['gateway', gatewayConfig({}).shutdownGraceMs],
    ['worker-cpu', workerConfig({}).shutdownGraceMs],
    ['worker-cuda', workerConfig({}).shutdownGraceMs],
    ['worker-openvino', workerConfig({}).shutdownGraceMs],
  ])('gives %s longer than its own shutdown grace before SIGKILL', (name, graceMs) => {
    const env = services[name]?.environment ?? {};
    const appGraceMs = env.VMM_SHUTDOWN_GRACE_MS === undefined ? graceMs : Number(env.VMM_SHUTDOWN_GRACE_MS);
    expect(parseDuration(services[name]?.stop_grace_period ?? '10s')).toBeGreaterThan(appGraceMs);
  });
});

describe('Dockerfiles', () => {
  const dockerfiles = readdirSync(join(root, 'docker')).filter((name) => name.endsWith('Dockerfile'));

  it('are the ones compose builds', () => {
    const built = new Set(
      Object.values(services).flatMap((s) => (s.build ? [s.build.dockerfile.replace('docker/', '')] : [])),
    );
    expect([...built].sort()).toEqual([...dockerfiles].sort());
  });

  it.each(dockerfiles)(
    '%s copies only paths that exist and runs built entry points of existing sources',
    (name) => {
      const text = readFileSync(join(root, 'docker', name), 'utf8');
      for (const line of text.split('\n').filter((l) => /^COPY\s/.test(l) && !l.includes('--from'))) {
        const parts = line.trim().split(/\s+/).slice(1, -1);
        for (const path of parts)
          expect({ path, exists: existsSync(join(root, path)) }).toEqual({ path, exists: true });
      }
      for (const match of text.matchAll(/"(apps\/[\w-]+)\/dist\/([\w-]+)\.js"/g)) {
        expect(existsSync(join(root, match[1] as string, 'src', `${match[2]}.ts`))).toBe(true);
      }
    },
  );

  it('probe paths exist: the gateway’s /healthz is a documented route', () => {
    const text = readFileSync(join(root, 'docker', 'Dockerfile'), 'utf8');
    expect(text).toContain("/healthz'");
    expect(Object.keys(openApiDocument('0').paths as object)).toContain('/healthz');
  });
});
