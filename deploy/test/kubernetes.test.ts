// k8s/: every overlay renders with kustomize, every object validates against the Kubernetes
// (and KEDA) schemas, and ports, variables, probes and names agree with the apps' own config.
import { afterAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ITEMS_QUEUE } from '@vmm/batch';
import { configKeys as runnerKeys, loadConfig as runnerConfig } from '@vmm/batch-runner';
import { configKeys as gatewayKeys, loadConfig as gatewayConfig, openApiDocument } from '@vmm/gateway';
import { InferenceClient } from '@vmm/proto';
import { removeRedisPrefix } from '@vmm/test-support';
import { configKeys as workerKeys, loadConfig as workerConfig } from '@vmm/worker';
import { parseWorkers } from '@vmm/worker-pool';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import {
  containersOf,
  find,
  ofKind,
  selects,
  validateObject,
  workloads,
  type IContainer,
  type IPodTemplateSpec,
  type K8sObject,
} from './k8s-objects.js';
import { render, renderOverlay } from './kustomize.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const k8s = (path: string) => join(root, 'k8s', path);
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

// What an operator would apply: the three overlays, the base, and an overlay of their own that
// adds the optional components (listed before `common`, which must see every object).
const renderings: Record<string, K8sObject[]> = {
  base: render(k8s('base')),
  dev: render(k8s('overlays/dev')),
  gpu: render(k8s('overlays/gpu')),
  openvino: render(k8s('overlays/openvino')),
  'gpu + ingress + models-pvc': renderOverlay({
    resources: [k8s('overlays/gpu')],
    components: [k8s('components/ingress'), k8s('components/models-pvc'), k8s('components/common')],
  }),
};
const all = Object.entries(renderings);

/** Which app a container runs, from its image (the compose file builds the same names). */
function appOf(
  container: IContainer,
): 'gateway' | 'worker' | 'batch-runner' | 'models-init' | 'redis' | 'minio' {
  if (container.name === 'models-init') return 'models-init';
  const image = container.image ?? '';
  if (image.startsWith('vmm/gateway:')) return 'gateway';
  if (image.startsWith('vmm/batch-runner:')) return 'batch-runner';
  if (image.startsWith('vmm/worker-')) return 'worker';
  if (image.startsWith('redis:')) return 'redis';
  if (image.startsWith('quay.io/minio/minio:')) return 'minio';
  throw new Error(`unknown image ${image}`);
}

/** The environment a container starts with: its ConfigMaps, then its own `env`. */
function environment(objects: K8sObject[], container: IContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const name = source.configMapRef?.name;
    if (!name) throw new Error(`${container.name}: envFrom other than a ConfigMap`);
    Object.assign(env, find(objects, 'ConfigMap', name).data);
  }
  for (const variable of container.env ?? []) {
    const field = variable.valueFrom?.resourceFieldRef;
    if (variable.value !== undefined) env[variable.name] = variable.value;
    // A CPU limit given to the container as whole CPUs, as the kubelet does (rounded up).
    else if (field?.resource === 'limits.cpu') env[variable.name] = String(Math.ceil(cpus(container)));
    else if (variable.valueFrom?.secretKeyRef) env[variable.name] = 'a-key';
    else throw new Error(`${container.name}: ${variable.name} has no value the checks understand`);
  }
  return env;
}

function cpus(container: IContainer): number {
  const limit = String(container.resources?.limits?.cpu ?? '');
  return limit.endsWith('m') ? Number(limit.slice(0, -1)) / 1000 : Number(limit);
}

/** Images VMM does not build (Redis, MinIO): their own users, variables and tags. */
const thirdParty = (app: string) => app === 'redis' || app === 'minio';

const keysOf = { gateway: gatewayKeys, worker: workerKeys, 'batch-runner': runnerKeys } as const;

function appContainers(objects: K8sObject[]) {
  return workloads(objects).flatMap(({ object, template }) =>
    (template.spec?.containers ?? []).map((container) => ({
      object,
      template,
      container,
      app: appOf(container),
    })),
  );
}

describe.each(all)('k8s rendering: %s', (_name, objects) => {
  it('renders objects that each validate against their Kubernetes schema', () => {
    expect(objects.length).toBeGreaterThan(10);
    for (const object of objects) expect(() => validateObject(object)).not.toThrow();
  });

  it('puts every namespaced object in the namespace it creates, each name once per kind', () => {
    const namespaces = ofKind(objects, 'Namespace');
    expect(namespaces).toHaveLength(1);
    const namespace = namespaces[0]?.metadata.name;
    for (const object of objects.filter((o) => o.kind !== 'Namespace'))
      expect(`${object.kind}/${object.metadata.name} in ${object.metadata.namespace}`).toBe(
        `${object.kind}/${object.metadata.name} in ${namespace}`,
      );
    const keys = objects.map((object) => `${object.kind}/${object.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('runs every pod non-root, read-only, without privileges, with requests and limits', () => {
    for (const { object, template } of workloads(objects)) {
      const pod = template.spec;
      expect({ object: object.metadata.name, ...pod?.securityContext }).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod?.automountServiceAccountToken).toBe(false);
      expect(pod?.volumes?.filter((volume) => volume.hostPath) ?? []).toEqual([]);
      for (const container of containersOf(template)) {
        expect({ container: container.name, ...container.securityContext }).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        for (const bound of ['requests', 'limits'] as const)
          for (const resource of ['cpu', 'memory'])
            expect({
              container: container.name,
              bound,
              resource,
              set: container.resources?.[bound]?.[resource] !== undefined,
            }).toEqual({
              container: container.name,
              bound,
              resource,
              set: true,
            });
      }
    }
  });

  it('runs each image as the user its Dockerfile creates', () => {
    const uids: Record<string, number> = { node: 1000 };
    for (const match of readFileSync(join(root, 'docker/worker-cuda.Dockerfile'), 'utf8').matchAll(
      /useradd .*--uid (\d+) (\w+)/g,
    ))
      uids[match[2] as string] = Number(match[1]);
    const userOf = (dockerfile: string) => {
      const users = [...readFileSync(join(root, 'docker', dockerfile), 'utf8').matchAll(/^USER (\w+)/gm)];
      return uids[users.at(-1)?.[1] ?? ''];
    };
    const expected: Record<string, number | undefined> = {
      'vmm/gateway': userOf('Dockerfile'),
      'vmm/batch-runner': userOf('Dockerfile'),
      'vmm/worker-cpu': userOf('Dockerfile'),
      'vmm/worker-cuda': userOf('worker-cuda.Dockerfile'),
      'vmm/worker-openvino': userOf('worker-openvino.Dockerfile'),
    };
    for (const { template, container } of appContainers(objects).filter(({ app }) => !thirdParty(app))) {
      const image = (container.image ?? '').split(':')[0] ?? '';
      const user = container.securityContext?.runAsUser ?? template.spec?.securityContext?.runAsUser;
      expect({ image, user }).toEqual({ image, user: expected[image] });
    }
  });

  it('gives each app only variables it reads, with values its config schema accepts', () => {
    for (const { container, app } of appContainers(objects)) {
      if (thirdParty(app) || app === 'models-init') continue;
      const env = environment(objects, container);
      for (const key of Object.keys(env))
        expect({ app, key, read: keysOf[app].includes(key) }).toEqual({ app, key, read: true });
      const load = { gateway: gatewayConfig, worker: workerConfig, 'batch-runner': runnerConfig }[app];
      expect(() => load(env)).not.toThrow();
    }
  });

  it('exposes and probes the ports and paths the apps serve', () => {
    const routes = Object.keys(openApiDocument('0').paths as object);
    for (const { container, app } of appContainers(objects)) {
      if (app === 'gateway') {
        const port = gatewayConfig(environment(objects, container)).port;
        expect(container.ports?.map((p) => p.containerPort)).toEqual([port]);
        for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
          expect(probe?.httpGet?.port).toBe('http');
          expect(routes).toContain(probe?.httpGet?.path);
        }
        expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
      }
      if (app === 'worker') {
        const config = workerConfig(environment(objects, container));
        const port = config.port;
        expect(container.ports?.map((p) => p.containerPort)).toEqual([port, config.metrics?.port]);
        expect(config.metrics?.host).toBe('0.0.0.0');
        for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe])
          expect(probe?.grpc?.port).toBe(port);
        // Readiness asks for the Inference service by its proto name, which the worker reports.
        expect(container.readinessProbe?.grpc?.service).toBe(InferenceClient.serviceName);
      }
    }
  });

  it('asks Prometheus to scrape the gateway’s and every worker’s /metrics port', () => {
    const scraped = appContainers(objects).filter(({ app }) => app === 'gateway' || app === 'worker');
    expect(scraped.filter(({ app }) => app === 'worker').length).toBeGreaterThan(0);
    for (const { object, template, container, app } of scraped) {
      const env = environment(objects, container);
      const port = app === 'gateway' ? gatewayConfig(env).port : workerConfig(env).metrics?.port;
      expect([object.metadata.name, template.metadata?.annotations]).toEqual([
        object.metadata.name,
        {
          'prometheus.io/scrape': 'true',
          'prometheus.io/port': String(port),
          'prometheus.io/path': '/metrics',
        },
      ]);
    }
  });

  it('points VMM_WORKERS at worker Services whose pods run that backend on that port', () => {
    const services = ofKind<{ spec: IService['spec'] }>(objects, 'Service');
    for (const { container, app } of appContainers(objects)) {
      if (app !== 'gateway' && app !== 'batch-runner') continue;
      const env = environment(objects, container);
      for (const worker of parseWorkers(env.VMM_WORKERS ?? '')) {
        const [host, port] = worker.address.split(':');
        const service = services.find((s) => s.metadata.name === host);
        expect({ host, found: service !== undefined }).toEqual({ host, found: true });
        expect(service?.spec?.ports?.map((p) => p.port)).toContain(Number(port));
        const backing = appContainers(objects).filter(
          ({ template, app }) =>
            app === 'worker' && selects({ matchLabels: service?.spec?.selector }, template.metadata?.labels),
        );
        expect(backing).toHaveLength(1);
        const workerEnv = environment(objects, backing[0]?.container as IContainer);
        expect(workerConfig(workerEnv)).toMatchObject({ backend: worker.backend, port: Number(port) });
      }
    }
  });

  it('lets the gateway finish its streams on SIGTERM, after preStop, before the kubelet kills it', () => {
    for (const { template, container, app } of appContainers(objects)) {
      if (app !== 'gateway') continue;
      const grace = gatewayConfig(environment(objects, container)).shutdownGraceMs;
      const preStopMs = (container.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
      expect((template.spec?.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(preStopMs + grace);
    }
  });

  it('lets a worker finish in-flight work on SIGTERM before the kubelet kills it', () => {
    for (const { template, container, app } of appContainers(objects)) {
      if (app !== 'worker') continue;
      const grace = workerConfig(environment(objects, container)).shutdownGraceMs;
      expect((template.spec?.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(grace);
    }
  });

  it('gives every Service, PodDisruptionBudget and HPA a target that exists', () => {
    const templates = workloads(objects).map(({ template }) => template);
    for (const service of ofKind<{ spec: IService['spec'] }>(objects, 'Service')) {
      const backing = templates.filter((t) =>
        selects({ matchLabels: service.spec?.selector }, t.metadata?.labels),
      );
      expect({ service: service.metadata.name, pods: backing.length }).toEqual({
        service: service.metadata.name,
        pods: 1,
      });
      const portNames = (backing[0]?.spec?.containers ?? []).flatMap(
        (c) => c.ports?.map((p) => p.name) ?? [],
      );
      for (const port of service.spec?.ports ?? []) expect(portNames).toContain(port.targetPort);
    }
    for (const budget of ofKind<{ spec: IPodDisruptionBudget['spec'] }>(objects, 'PodDisruptionBudget'))
      expect(templates.filter((t) => selects(budget.spec?.selector ?? {}, t.metadata?.labels))).toHaveLength(
        1,
      );
    for (const hpa of ofKind<{ spec: IHorizontalPodAutoscaler['spec'] }>(
      objects,
      'HorizontalPodAutoscaler',
    )) {
      const target = find(objects, hpa.spec?.scaleTargetRef.kind ?? '', hpa.spec?.scaleTargetRef.name ?? '');
      // CPU utilisation is measured against requests: every container of the target has one.
      const template = (target.spec as { template: IPodTemplateSpec }).template;
      for (const container of template.spec?.containers ?? [])
        expect(container.resources?.requests?.cpu).toBeDefined();
    }
    const hpas = ofKind(objects, 'HorizontalPodAutoscaler').map((hpa) => hpa.metadata.name);
    expect(hpas).toEqual(expect.arrayContaining(['gateway', 'worker-cpu']));
    for (const ingress of ofKind<{ spec: IIngress['spec'] }>(objects, 'Ingress'))
      for (const rule of ingress.spec?.rules ?? [])
        for (const path of rule.http?.paths ?? []) {
          const service = find<{ spec: IService['spec'] }>(
            objects,
            'Service',
            path.backend.service?.name ?? '',
          );
          expect(service.spec?.ports?.map((p) => p.name)).toContain(path.backend.service?.port?.name);
        }
  });

  it('gives the gateways one object store for files: MinIO, reachable by them only, same credentials', () => {
    const gateway = appContainers(objects).find(({ app }) => app === 'gateway');
    const minio = appContainers(objects).find(({ app }) => app === 'minio');
    expect(gateway && minio).toBeTruthy();
    const config = gatewayConfig(environment(objects, gateway?.container as IContainer));
    expect(config.filesStore).toMatchObject({ kind: 's3', createBucket: true });
    const endpoint = new URL(config.filesStore.kind === 's3' ? (config.filesStore.endpoint ?? '') : '');
    const service = find<{ spec: IService['spec'] }>(objects, 'Service', endpoint.hostname);
    expect(service.spec?.ports?.map((p) => p.port)).toContain(Number(endpoint.port));
    expect(selects(service.spec?.selector ?? {}, minio?.template.metadata?.labels)).toBe(true);
    // The gateway's keys are MinIO's root credentials, from one Secret (optional for the
    // gateway: without it files answer 503 and the rest serves).
    const secretOf = (container: IContainer | undefined, name: string) =>
      container?.env?.find((variable) => variable.name === name)?.valueFrom?.secretKeyRef;
    expect(secretOf(gateway?.container, 'AWS_ACCESS_KEY_ID')).toMatchObject({
      name: 'vmm-files-s3',
      optional: true,
    });
    expect(secretOf(minio?.container, 'MINIO_ROOT_USER')).toMatchObject({
      name: 'vmm-files-s3',
      key: secretOf(gateway?.container, 'AWS_ACCESS_KEY_ID')?.key,
    });
    expect(secretOf(minio?.container, 'MINIO_ROOT_PASSWORD')?.key).toBe(
      secretOf(gateway?.container, 'AWS_SECRET_ACCESS_KEY')?.key,
    );
    const policy = find<{ spec: INetworkPolicy['spec'] }>(objects, 'NetworkPolicy', 'minio');
    expect(selects(policy.spec?.podSelector ?? {}, minio?.template.metadata?.labels)).toBe(true);
    const pods = workloads(objects).map(({ object, template }) => ({
      name: object.metadata.name,
      labels: template.metadata?.labels,
    }));
    const allowed = (policy.spec?.ingress ?? []).flatMap((rule) =>
      (rule.from ?? []).flatMap((peer) =>
        pods.filter((pod) => selects(peer.podSelector ?? {}, pod.labels)).map((pod) => pod.name),
      ),
    );
    expect([...new Set(allowed)]).toEqual(['gateway']);
  });

  it('lets only the gateway and the batch runner reach the workers’ gRPC port', () => {
    const policy = find<{ spec: INetworkPolicy['spec'] }>(objects, 'NetworkPolicy', 'workers-grpc');
    const pods = workloads(objects).map(({ object, template }) => ({
      name: object.metadata.name,
      labels: template.metadata?.labels,
    }));
    const workers = appContainers(objects).filter(({ app }) => app === 'worker');
    expect(workers.length).toBeGreaterThan(0);
    for (const { object } of workers)
      expect(
        pods.filter((pod) => selects(policy.spec?.podSelector ?? {}, pod.labels)).map((pod) => pod.name),
      ).toContain(object.metadata.name);
    expect(policy.spec?.policyTypes).toEqual(['Ingress']);
    const allowed = new Set<string>();
    for (const rule of policy.spec?.ingress ?? []) {
      for (const port of rule.ports ?? []) expect(port.port).toBe(workerConfig({}).port);
      for (const peer of rule.from ?? []) {
        expect(peer.namespaceSelector).toBeUndefined();
        for (const pod of pods) if (selects(peer.podSelector ?? {}, pod.labels)) allowed.add(pod.name);
      }
    }
    expect([...allowed].sort()).toEqual(['batch-runner', 'gateway']);
  });
});

describe('k8s overlays', () => {
  const deployment = (objects: K8sObject[], name: string) =>
    find<K8sObject & { spec: { template: IPodTemplateSpec } }>(objects, 'Deployment', name);
  const worker = (objects: K8sObject[], name: string) =>
    deployment(objects, name).spec.template.spec?.containers.find((c) => c.name === 'worker') as IContainer;

  it('tag the base images with the project version; dev uses the images built on the box', () => {
    for (const objects of [renderings.base, renderings.gpu, renderings.openvino] as K8sObject[][])
      for (const { container, app } of appContainers(objects))
        if (!thirdParty(app))
          expect(container.image).toMatch(new RegExp(`^vmm/[\\w-]+:${version.replace(/\./g, '\\.')}$`));
    for (const { container, app } of appContainers(renderings.dev as K8sObject[]))
      if (!thirdParty(app)) expect(container.image).toMatch(/:latest$/);
  });

  it('gpu adds a CUDA worker with an NVIDIA GPU, on GPU nodes, tolerating their taint', () => {
    const objects = renderings.gpu as K8sObject[];
    const spec = deployment(objects, 'worker-cuda').spec.template.spec;
    const container = worker(objects, 'worker-cuda');
    expect(container.image).toMatch(/^vmm\/worker-cuda:/);
    expect(container.resources?.limits?.['nvidia.com/gpu']).toBe(1);
    expect(spec?.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(spec?.tolerations).toContainEqual({
      key: 'nvidia.com/gpu',
      operator: 'Exists',
      effect: 'NoSchedule',
    });
    expect(workerConfig(environment(objects, container)).backend).toBe('cuda');
    expect(ofKind(objects, 'Deployment').map((d) => d.metadata.name)).not.toContain('worker-openvino');
  });

  it('openvino adds an OpenVINO worker with an Intel GPU', () => {
    const objects = renderings.openvino as K8sObject[];
    const container = worker(objects, 'worker-openvino');
    expect(container.image).toMatch(/^vmm\/worker-openvino:/);
    expect(container.resources?.limits?.['gpu.intel.com/i915']).toBe(1);
    expect(workerConfig(environment(objects, container)).backend).toBe('openvino');
  });

  it('dev runs one of each, without KEDA', () => {
    const objects = renderings.dev as K8sObject[];
    expect(ofKind(objects, 'ScaledObject')).toEqual([]);
    expect(deployment(objects, 'gateway').spec).toMatchObject({ replicas: 1 });
    expect(
      find<{ spec: IHorizontalPodAutoscaler['spec'] }>(objects, 'HorizontalPodAutoscaler', 'gateway').spec
        ?.minReplicas,
    ).toBe(1);
    const claims = find<{ spec: { volumeClaimTemplates: unknown[] } }>(objects, 'StatefulSet', 'redis').spec
      .volumeClaimTemplates;
    expect(claims).toHaveLength(1);
  });

  it('models-pvc mounts one shared claim in every worker, filled by the models-init Job', () => {
    const objects = renderings['gpu + ingress + models-pvc'] as K8sObject[];
    for (const name of ['worker-cpu', 'worker-cuda']) {
      const spec = deployment(objects, name).spec.template.spec;
      expect(spec?.initContainers ?? []).toEqual([]);
      expect(spec?.volumes?.find((v) => v.name === 'models')).toEqual({
        name: 'models',
        persistentVolumeClaim: { claimName: 'models', readOnly: true },
      });
    }
    const job = find<{ spec: { template: IPodTemplateSpec } }>(objects, 'Job', 'models-init');
    expect(job.spec.template.spec?.volumes?.[0]?.persistentVolumeClaim?.claimName).toBe('models');
    expect(find(objects, 'PersistentVolumeClaim', 'models')).toBeDefined();
    // Without the component, each worker pod writes the demo models for itself.
    expect(
      deployment(renderings.base as K8sObject[], 'worker-cpu').spec.template.spec?.initContainers?.[0]
        ?.command,
    ).toEqual(['node', 'packages/model-fixtures/dist/cli.js', 'demo', '--out', '/models']);
  });
});

describe('KEDA ScaledObject', () => {
  const prefix = `vmm-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  afterAll(() => removeRedisPrefix(prefix));

  it.each(all.filter(([name]) => name !== 'dev'))(
    '%s: watches the runner’s item queue on the in-cluster Redis',
    (_name, objects) => {
      const scaled = find<K8sObject & { spec: IScaledObject['spec'] }>(
        objects,
        'ScaledObject',
        'batch-runner',
      );
      expect(scaled.spec.scaleTargetRef).toMatchObject({ name: 'batch-runner' });
      find(objects, 'Deployment', 'batch-runner');
      const runner = appContainers(objects).find(({ app }) => app === 'batch-runner')
        ?.container as IContainer;
      const config = runnerConfig(environment(objects, runner));
      const trigger = scaled.spec.triggers[0];
      expect(trigger?.type).toBe('redis');
      expect(trigger?.metadata.listName).toBe(`${config.prefix}:${ITEMS_QUEUE}:wait`);
      // KEDA dials from its own namespace: the address names ours, and the Service the runner uses.
      const redisHost = new URL(config.redisUrl).hostname;
      const service = find<{ spec: IService['spec'] }>(objects, 'Service', redisHost);
      expect(trigger?.metadata.address).toBe(
        `${redisHost}.${scaled.metadata.namespace}.svc.cluster.local:${service.spec?.ports?.[0]?.port}`,
      );
    },
  );

  it('counts the list BullMQ queues items in (checked on the real Redis)', async () => {
    const listName = (
      find<{ spec: IScaledObject['spec'] }>(renderings.base as K8sObject[], 'ScaledObject', 'batch-runner')
        .spec?.triggers[0]?.metadata.listName ?? ''
    ).replace(/^[^:]+:/, `${prefix}:`);
    const connection = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
    const queue = new Queue(ITEMS_QUEUE, { connection, prefix });
    try {
      await queue.add('item', { n: 1 });
      await queue.add('item', { n: 2 });
      expect(await connection.llen(listName)).toBe(2);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});

describe('the checks themselves', () => {
  it('reject an object that breaks its schema, and a kustomization that does not build', () => {
    const gateway = structuredClone(find(renderings.base as K8sObject[], 'Deployment', 'gateway'));
    expect(() => validateObject(gateway)).not.toThrow();
    const spec = gateway.spec as { template: IPodTemplateSpec };
    (spec.template.spec?.containers[0]?.ports?.[0] as { containerPort: unknown }).containerPort = 'http';
    expect(() => validateObject(gateway)).toThrow(/containerPort/);
    expect(() => validateObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } })).toThrow(
      /no schema/,
    );
    expect(() => renderOverlay({ resources: [k8s('base')], patches: [{ path: 'missing.yaml' }] })).toThrow(
      /missing\.yaml/,
    );
  });
});
