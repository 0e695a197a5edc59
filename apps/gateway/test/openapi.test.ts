// The OpenAPI document: valid, complete (every route the app serves, each with an operationId and
// its request schema), and true (real answers validate against the schemas it gives).
import { describe, expect, it } from '@jest/globals';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { Validator } from '@seriousme/openapi-schema-validator';
import { drawSquares } from '@vmm/model-fixtures';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Router } from 'express';
import sharp from 'sharp';
import { documentedOperations } from '../src/openapi.js';
import { cpuWorkers, gatewayConfig, useGateway, useWorkers } from './harness.js';

const workers = useWorkers();
const gateway = useGateway(() => gatewayConfig(cpuWorkers(workers)));

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every (method, path) the express app routes, nested routers included, as OpenAPI paths. */
function servedRoutes(stack: Layer[]): { method: string; path: string }[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const paths = [layer.route.path].flat();
      return paths.flatMap((path) =>
        Object.keys(layer.route?.methods ?? {})
          .filter((method) => method !== '_all')
          .map((method) => ({
            method,
            path: path.replace(/:(\w+)/g, '{$1}').replace(/\*(\w+)/g, '{$1}'),
          })),
      );
    }
    return layer.handle?.stack ? servedRoutes(layer.handle.stack) : [];
  });
}

interface Document {
  paths: Record<
    string,
    Record<string, { operationId?: string; requestBody?: { content: Record<string, { schema: unknown }> } }>
  >;
  components: { schemas: Record<string, unknown> };
}

const document = async () => (await (await fetch(`${gateway.url}/openapi.json`)).json()) as Document;

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1, with schemas in components and an operationId on every operation', async () => {
    const doc = await document();
    const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(Object.keys(doc.components.schemas).length).toBeGreaterThan(30);
    const ids = Object.values(doc.paths).flatMap((operations) =>
      Object.values(operations).map((operation) => operation.operationId),
    );
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('passes Redocly’s recommended rules with no warning (examples fit their schemas)', async () => {
    const problems = await lintFromString({
      source: JSON.stringify(await document()),
      absoluteRef: 'openapi.json',
      config: await createConfig({ extends: ['recommended'] }),
    });
    expect(problems.map((p) => `${p.ruleId}: ${p.message} ${p.location[0]?.pointer ?? ''}`)).toEqual([]);
  });

  it('documents vision’s multipart form beside its JSON body', async () => {
    const doc = await document();
    for (const path of ['/v1/vision/detect', '/v1/vision/classify']) {
      const content = doc.paths[path]?.post?.requestBody?.content ?? {};
      expect(Object.keys(content).sort()).toEqual(['application/json', 'multipart/form-data']);
    }
    expect(doc.components.schemas.DetectForm).toMatchObject({
      properties: { image: { type: 'string', format: 'binary' } },
    });
  });

  it('documents every route the gateway serves, each body with its schema', async () => {
    const doc = await document();
    const served = servedRoutes((gateway.gateway.app.router as unknown as Router & { stack: Layer[] }).stack)
      // The dashboard's own page is not part of the API (GET / is, and is documented); /api/push
      // only answers 501 for Ollama's clients: VMM has no such operation to describe.
      .filter((route) => route.path !== '/index.html' && route.path !== '/api/push');
    expect(served.length).toBeGreaterThan(35);
    const undocumented = served.filter(({ method, path }) => !doc.paths[path]?.[method]?.operationId);
    expect(undocumented).toEqual([]);
    const withoutBody = served.filter(
      ({ method, path }) =>
        ['post', 'put', 'patch'].includes(method) &&
        // Cancelling a batch takes no body.
        path !== '/v1/batches/{id}/cancel' &&
        !Object.values(doc.paths[path]?.[method]?.requestBody?.content ?? {}).some((media) => media.schema),
    );
    expect(withoutBody).toEqual([]);
    // And nothing documented that is not served.
    const servedKeys = new Set(served.map(({ method, path }) => `${method} ${path}`));
    expect(documentedOperations.filter(({ method, path }) => !servedKeys.has(`${method} ${path}`))).toEqual(
      [],
    );
  });

  it('describes real answers: they validate against the schemas it gives', async () => {
    const doc = await document();
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const check = (operationId: string, status: number, body: unknown) => {
      const [path, method] = Object.entries(doc.paths).flatMap(([p, ops]) =>
        Object.entries(ops)
          .filter(([, op]) => op.operationId === operationId)
          .map(([m]) => [p, m] as const),
      )[0] ?? ['', ''];
      const responses = (
        doc.paths[path]?.[method] as {
          responses: Record<string, { content?: Record<string, { schema: object }> }>;
        }
      ).responses;
      const schema = responses[String(status)]?.content?.['application/json']?.schema;
      expect([operationId, status, schema !== undefined]).toEqual([operationId, status, true]);
      const validate = ajv.compile({ ...schema, components: doc.components });
      expect([operationId, validate(body) ? [] : validate.errors]).toEqual([operationId, []]);
    };
    const call = async (operationId: string, path: string, body?: unknown) => {
      const response = await fetch(`${gateway.url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      check(operationId, response.status, await response.json());
    };
    const image = (
      await sharp(drawSquares(64, 64, []).data, { raw: { width: 64, height: 64, channels: 3 } })
        .png()
        .toBuffer()
    ).toString('base64');
    await call('ollamaGenerate', '/api/generate', {
      model: 'tiny-llama',
      prompt: 'Hi',
      stream: false,
      options: { num_predict: 2 },
    });
    await call('ollamaChat', '/api/chat', {
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: false,
      options: { num_predict: 2 },
    });
    await call('ollamaEmbed', '/api/embed', { model: 'mini-embed', input: 'a cat' });
    await call('ollamaListModels', '/api/tags');
    await call('ollamaShowModel', '/api/show', { model: 'tiny-llama' });
    await call('ollamaListRunning', '/api/ps');
    await call('ollamaVersion', '/api/version');
    await call('createChatCompletion', '/v1/chat/completions', {
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 2,
    });
    await call('createCompletion', '/v1/completions', { model: 'tiny-llama', prompt: 'Hi', max_tokens: 2 });
    await call('createEmbedding', '/v1/embeddings', { model: 'mini-embed', input: 'a cat' });
    await call('createResponse', '/v1/responses', { model: 'tiny-llama', input: 'Hi', max_output_tokens: 2 });
    await call('listModels', '/v1/models');
    await call('retrieveModel', '/v1/models/tiny-llama');
    await call('detect', '/v1/vision/detect', { model: 'detector', image });
    await call('classify', '/v1/vision/classify', { model: 'classifier', image });
    await call('listWorkers', '/v1/workers');
    await call('health', '/healthz');
    // Errors, in each shape.
    await call('ollamaShowModel', '/api/show', { model: 'no-such-model' });
    await call('retrieveModel', '/v1/models/no-such-model');
    await call('createChatCompletion', '/v1/chat/completions', { model: 'tiny-llama' });
  });
});
