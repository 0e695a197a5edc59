// The OpenAPI 3.1 document of every route the gateway serves (GET /openapi.json), generated from
// the zod schemas the routes validate requests with: one source, so it cannot drift.
import {
  classifySchema,
  detectSchema,
  poseSchema,
  removeBackgroundSchema,
  segmentSchema,
  ollamaChatSchema,
  ollamaEmbedSchema,
  ollamaGenerateSchema,
  ollamaLegacyEmbedSchema,
  ollamaOptionsSchema,
  openaiChatSchema,
  openaiCompletionSchema,
  openaiEmbedSchema,
  responseFormatSchema,
  responsesSchema,
  toolSchema,
} from '@vmm/http-api';
import { z } from 'zod';
import * as out from './openapi/response-schemas.js';
import { batchListQuery, fromFileSchema } from './routes/batches.js';
import { fileListQuery } from './routes/files.js';
import { copySchema, createSchema, deleteSchema, pullSchema } from './routes/models.js';
import { showSchema } from './routes/ollama.js';

type Shape = 'ollama' | 'openai' | 'vmm';
type Body = { schema: z.ZodType; id: string; type?: string; example?: unknown };

interface Operation {
  method: 'get' | 'post' | 'delete' | 'head';
  /** OpenAPI's path template; `{name}` for a path parameter. */
  path: string;
  operationId: string;
  summary: string;
  tag: 'ollama' | 'openai' | 'vision' | 'batches' | 'operations';
  request?: Body;
  /** The same request as multipart/form-data (file fields as binary strings). */
  form?: { schema: z.ZodType; id: string };
  query?: z.ZodObject;
  /** The 200 answer: a schema, or a media type and a description. */
  response: {
    schema?: z.ZodType;
    id?: string;
    type?: string;
    description?: string;
    status?: string;
    /** A second media type the answer may have, as binary (a PNG beside its JSON form). */
    binary?: string;
  };
  errors: Shape;
  /** Streams: NDJSON (Ollama) or SSE (OpenAI) when `stream` is true. */
  streams?: 'ndjson' | 'sse';
}

const json = 'application/json';

// Vision's forms: the image is a file part; numbers and lists are text, as forms carry them.
const imageFile = z.string().meta({ format: 'binary', description: 'the image file (JPEG, PNG, WebP, …)' });
const detectForm = detectSchema.extend({
  image: imageFile,
  class_ids: z.string().optional().describe('comma-separated class ids to keep'),
});
const classifyForm = classifySchema.extend({ image: imageFile });
const segmentForm = detectForm.extend({
  polygons: z.enum(['true', 'false']).optional().describe('also trace each mask’s outline'),
});
const poseForm = detectForm.extend({});
const removeBackgroundForm = removeBackgroundSchema.extend({ image: imageFile });
/** A 1×1 PNG: an example that passes the base64 pattern it documents. */
const PNG_EXAMPLE =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';

const tagDescriptions = {
  ollama: 'Ollama’s API: text generation, chat, embeddings and model management, NDJSON streams.',
  openai: 'OpenAI’s API: chat and legacy completions, responses, embeddings and models, SSE streams.',
  vision:
    'VMM’s vision API: detection, classification, instance segmentation, pose and background removal, JSON with base64 or multipart uploads.',
  batches: 'OpenAI’s files and batches: JSONL requests run later through a queue.',
  operations: 'Health, readiness, metrics, the worker pool and this document.',
} as const;

const operations: Operation[] = [
  {
    method: 'post',
    path: '/api/generate',
    operationId: 'ollamaGenerate',
    summary: 'Generate a completion (an NDJSON stream unless stream is false)',
    tag: 'ollama',
    request: {
      schema: ollamaGenerateSchema,
      id: 'OllamaGenerateRequest',
      example: { model: 'tiny-llama', prompt: 'Why is the sky blue?', options: { num_predict: 32 } },
    },
    response: { schema: out.ollamaGenerateResponse, id: 'OllamaGenerateResponse' },
    errors: 'ollama',
    streams: 'ndjson',
  },
  {
    method: 'post',
    path: '/api/chat',
    operationId: 'ollamaChat',
    summary: 'Chat (an NDJSON stream unless stream is false); tools and JSON formats',
    tag: 'ollama',
    request: {
      schema: ollamaChatSchema,
      id: 'OllamaChatRequest',
      example: { model: 'tiny-llama', messages: [{ role: 'user', content: 'Hello!' }], stream: false },
    },
    response: { schema: out.ollamaChatResponse, id: 'OllamaChatResponse' },
    errors: 'ollama',
    streams: 'ndjson',
  },
  {
    method: 'post',
    path: '/api/embed',
    operationId: 'ollamaEmbed',
    summary: 'Embed one or more texts',
    tag: 'ollama',
    request: {
      schema: ollamaEmbedSchema,
      id: 'OllamaEmbedRequest',
      example: { model: 'mini-embed', input: ['a cat'] },
    },
    response: { schema: out.ollamaEmbedResponse, id: 'OllamaEmbedResponse' },
    errors: 'ollama',
  },
  {
    method: 'post',
    path: '/api/embeddings',
    operationId: 'ollamaEmbeddings',
    summary: 'Embed one text (Ollama’s older route)',
    tag: 'ollama',
    request: { schema: ollamaLegacyEmbedSchema, id: 'OllamaLegacyEmbedRequest' },
    response: { schema: out.ollamaLegacyEmbedResponse, id: 'OllamaLegacyEmbedResponse' },
    errors: 'ollama',
  },
  {
    method: 'get',
    path: '/api/tags',
    operationId: 'ollamaListModels',
    summary: 'Every model the workers serve, by canonical name:tag',
    tag: 'ollama',
    response: { schema: out.ollamaTagsResponse, id: 'OllamaTagsResponse' },
    errors: 'ollama',
  },
  {
    method: 'post',
    path: '/api/show',
    operationId: 'ollamaShowModel',
    summary: 'A model’s details, Modelfile, parameters, template and capabilities',
    tag: 'ollama',
    request: { schema: showSchema, id: 'OllamaShowRequest', example: { model: 'tiny-llama' } },
    response: { schema: out.ollamaShowResponse, id: 'OllamaShowResponse' },
    errors: 'ollama',
  },
  {
    method: 'get',
    path: '/api/ps',
    operationId: 'ollamaListRunning',
    summary: 'Loaded models, with their worker and expiry',
    tag: 'ollama',
    response: { schema: out.ollamaPsResponse, id: 'OllamaPsResponse' },
    errors: 'ollama',
  },
  {
    method: 'get',
    path: '/api/version',
    operationId: 'ollamaVersion',
    summary: 'Server version',
    tag: 'ollama',
    response: { schema: out.ollamaVersionResponse, id: 'OllamaVersionResponse' },
    errors: 'ollama',
  },
  {
    method: 'post',
    path: '/api/pull',
    operationId: 'ollamaPull',
    summary:
      'Pull hf.co/ORG/REPO[:variant] from the Hugging Face Hub (NDJSON progress unless stream is false)',
    tag: 'ollama',
    request: {
      schema: pullSchema,
      id: 'OllamaPullRequest',
      example: { model: 'hf.co/onnx-community/Qwen2.5-0.5B-Instruct:q4' },
    },
    response: { schema: out.ollamaProgress, id: 'OllamaProgress' },
    errors: 'ollama',
    streams: 'ndjson',
  },
  {
    method: 'post',
    path: '/api/create',
    operationId: 'ollamaCreate',
    summary:
      'Make a model from another (sharing its weights) or from blobs: SYSTEM, PARAMETERs, TEMPLATE, LICENSE',
    tag: 'ollama',
    request: {
      schema: createSchema,
      id: 'OllamaCreateRequest',
      example: {
        model: 'terse',
        from: 'tiny-llama',
        system: 'Answer in one line.',
        parameters: { temperature: 0.2 },
      },
    },
    response: { schema: out.ollamaProgress, id: 'OllamaProgress' },
    errors: 'ollama',
    streams: 'ndjson',
  },
  {
    method: 'post',
    path: '/api/copy',
    operationId: 'ollamaCopy',
    summary: 'Give a model a second name (no file is copied)',
    tag: 'ollama',
    request: {
      schema: copySchema,
      id: 'OllamaCopyRequest',
      example: { source: 'tiny-llama', destination: 'my-llama' },
    },
    response: { description: 'copied (empty body)' },
    errors: 'ollama',
  },
  {
    method: 'delete',
    path: '/api/delete',
    operationId: 'ollamaDelete',
    summary: 'Delete a model; 409 while requests run on it',
    tag: 'ollama',
    request: { schema: deleteSchema, id: 'OllamaDeleteRequest', example: { model: 'my-llama' } },
    response: { description: 'deleted (empty body)' },
    errors: 'ollama',
  },
  {
    method: 'head',
    path: '/api/blobs/{digest}',
    operationId: 'ollamaBlobExists',
    summary: 'Whether the server has a blob (200) or not (404)',
    tag: 'ollama',
    response: { description: 'the blob exists (no body)' },
    errors: 'ollama',
  },
  {
    method: 'post',
    path: '/api/blobs/{digest}',
    operationId: 'ollamaPushBlob',
    summary: 'Upload a file for /api/create’s files, checked against its sha256 digest',
    tag: 'ollama',
    request: {
      schema: z.string().describe('the file’s bytes'),
      id: 'Blob',
      type: 'application/octet-stream',
    },
    response: { description: 'stored (201), or already there (200)', status: '201' },
    errors: 'ollama',
  },
  {
    method: 'post',
    path: '/v1/chat/completions',
    operationId: 'createChatCompletion',
    summary: 'OpenAI chat completion (SSE when stream is true); tools, JSON schemas, logprobs',
    tag: 'openai',
    request: {
      schema: openaiChatSchema,
      id: 'ChatCompletionRequest',
      example: { model: 'tiny-llama', messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 32 },
    },
    response: { schema: out.chatCompletion, id: 'ChatCompletion' },
    errors: 'openai',
    streams: 'sse',
  },
  {
    method: 'post',
    path: '/v1/completions',
    operationId: 'createCompletion',
    summary: 'OpenAI legacy completion (SSE when stream is true)',
    tag: 'openai',
    request: { schema: openaiCompletionSchema, id: 'CompletionRequest' },
    response: { schema: out.textCompletion, id: 'TextCompletion' },
    errors: 'openai',
    streams: 'sse',
  },
  {
    method: 'post',
    path: '/v1/embeddings',
    operationId: 'createEmbedding',
    summary: 'OpenAI embeddings (float or base64)',
    tag: 'openai',
    request: {
      schema: openaiEmbedSchema,
      id: 'EmbeddingRequest',
      example: { model: 'mini-embed', input: 'a cat' },
    },
    response: { schema: out.openaiEmbeddings, id: 'EmbeddingList' },
    errors: 'openai',
  },
  {
    method: 'post',
    path: '/v1/responses',
    operationId: 'createResponse',
    summary: 'OpenAI Responses API, the subset a chat serves (typed SSE events when stream is true)',
    tag: 'openai',
    request: {
      schema: responsesSchema,
      id: 'ResponseRequest',
      example: { model: 'tiny-llama', instructions: 'Be brief.', input: 'Hello!', max_output_tokens: 32 },
    },
    response: { schema: out.responseObject, id: 'Response' },
    errors: 'openai',
    streams: 'sse',
  },
  {
    method: 'get',
    path: '/v1/models',
    operationId: 'listModels',
    summary: 'Models, OpenAI’s shape',
    tag: 'openai',
    response: { schema: out.openaiModelList, id: 'ModelList' },
    errors: 'openai',
  },
  {
    method: 'get',
    path: '/v1/models/{model}',
    operationId: 'retrieveModel',
    summary: 'One model (its name may hold slashes: hf.co/org/repo:tag)',
    tag: 'openai',
    response: { schema: out.openaiModel, id: 'Model' },
    errors: 'openai',
  },
  {
    method: 'post',
    path: '/v1/files',
    operationId: 'createFile',
    summary: 'Upload a JSONL file for a batch (multipart: file, purpose "batch")',
    tag: 'batches',
    request: {
      schema: z.object({ file: z.string().describe('the JSONL file'), purpose: z.literal('batch') }),
      id: 'FileUpload',
      type: 'multipart/form-data',
    },
    response: { schema: out.fileObject, id: 'File' },
    errors: 'openai',
  },
  {
    method: 'get',
    path: '/v1/files',
    operationId: 'listFiles',
    summary: 'Uploaded files, newest first',
    tag: 'batches',
    query: fileListQuery,
    response: { schema: out.fileList, id: 'FileList' },
    errors: 'openai',
  },
  {
    method: 'get',
    path: '/v1/files/{id}',
    operationId: 'retrieveFile',
    summary: 'A file (uploaded, or a batch’s output or error file)',
    tag: 'batches',
    response: { schema: out.fileObject, id: 'File' },
    errors: 'openai',
  },
  {
    method: 'get',
    path: '/v1/files/{id}/content',
    operationId: 'downloadFile',
    summary: 'A file’s content (JSONL)',
    tag: 'batches',
    response: { type: 'application/jsonl', description: 'the file' },
    errors: 'openai',
  },
  {
    method: 'delete',
    path: '/v1/files/{id}',
    operationId: 'deleteFile',
    summary: 'Delete an uploaded file',
    tag: 'batches',
    response: { schema: out.fileDeleted, id: 'FileDeleted' },
    errors: 'openai',
  },
  {
    method: 'post',
    path: '/v1/batches',
    operationId: 'createBatch',
    summary: 'A batch from an uploaded file (OpenAI’s flow), or from JSONL in the body',
    tag: 'batches',
    request: {
      schema: fromFileSchema,
      id: 'CreateBatchRequest',
      example: { input_file_id: 'file-abc', endpoint: '/v1/chat/completions', completion_window: '24h' },
    },
    response: { schema: out.batchObject, id: 'Batch' },
    errors: 'openai',
  },
  {
    method: 'get',
    path: '/v1/batches',
    operationId: 'listBatches',
    summary: 'Batches, newest first',
    tag: 'batches',
    query: batchListQuery,
    response: { schema: out.batchList, id: 'BatchList' },
    errors: 'openai',
  },
  {
    method: 'get',
    path: '/v1/batches/{id}',
    operationId: 'retrieveBatch',
    summary: 'A batch: status, counts, output and error files',
    tag: 'batches',
    response: { schema: out.batchObject, id: 'Batch' },
    errors: 'openai',
  },
  {
    method: 'post',
    path: '/v1/batches/{id}/cancel',
    operationId: 'cancelBatch',
    summary: 'Cancel a batch: running items finish, queued ones are skipped',
    tag: 'batches',
    response: { schema: out.batchObject, id: 'Batch' },
    errors: 'openai',
  },
  {
    method: 'get',
    path: '/v1/batches/{id}/results',
    operationId: 'batchResults',
    summary: 'Every result of an ended batch, in input order (JSONL)',
    tag: 'batches',
    response: { type: 'application/jsonl', description: 'one result per line' },
    errors: 'openai',
  },
  {
    method: 'post',
    path: '/v1/vision/detect',
    operationId: 'detect',
    summary: 'Detect objects: boxes in the image’s pixels (JSON with base64, or multipart)',
    tag: 'vision',
    request: {
      schema: detectSchema,
      id: 'DetectRequest',
      example: { model: 'yolov8n-squares', image: PNG_EXAMPLE, confidence_threshold: 0.25 },
    },
    form: { schema: detectForm, id: 'DetectForm' },
    response: { schema: out.detectResponse, id: 'DetectResponse' },
    errors: 'openai',
  },
  {
    method: 'post',
    path: '/v1/vision/classify',
    operationId: 'classify',
    summary: 'Classify an image: top-k labels (JSON with base64, or multipart)',
    tag: 'vision',
    request: {
      schema: classifySchema,
      id: 'ClassifyRequest',
      example: { model: 'colour-classifier', image: PNG_EXAMPLE },
    },
    form: { schema: classifyForm, id: 'ClassifyForm' },
    response: { schema: out.classifyResponse, id: 'ClassifyResponse' },
    errors: 'openai',
  },
  {
    method: 'post',
    path: '/v1/vision/segment',
    operationId: 'segment',
    summary:
      'Segment objects (a YOLOv8-seg model): boxes with masks at the image’s size as COCO RLE, outlines when asked',
    tag: 'vision',
    request: {
      schema: segmentSchema,
      id: 'SegmentRequest',
      example: { model: 'yolov8n-seg-squares', image: PNG_EXAMPLE, polygons: true },
    },
    form: { schema: segmentForm, id: 'SegmentForm' },
    response: { schema: out.segmentResponse, id: 'SegmentResponse' },
    errors: 'openai',
  },
  {
    method: 'post',
    path: '/v1/vision/pose',
    operationId: 'pose',
    summary: 'Find people and their keypoints (a YOLOv8-pose model), with the skeleton that joins them',
    tag: 'vision',
    request: {
      schema: poseSchema,
      id: 'PoseRequest',
      example: { model: 'yolov8n-pose-squares', image: PNG_EXAMPLE },
    },
    form: { schema: poseForm, id: 'PoseForm' },
    response: { schema: out.poseResponse, id: 'PoseResponse' },
    errors: 'openai',
  },
  {
    method: 'post',
    path: '/v1/vision/remove-background',
    operationId: 'removeBackground',
    summary:
      'Cut the subject out (a background-removal model: IS-Net, U²-Net, BiRefNet, RMBG): a PNG with alpha, a mask PNG, or RLE',
    tag: 'vision',
    request: {
      schema: removeBackgroundSchema,
      id: 'RemoveBackgroundRequest',
      example: { model: 'isnet-demo', image: PNG_EXAMPLE, output: 'cutout' },
    },
    form: { schema: removeBackgroundForm, id: 'RemoveBackgroundForm' },
    response: {
      schema: out.removeBackgroundResponse,
      id: 'RemoveBackgroundResponse',
      binary: 'image/png',
      description:
        'output cutout or mask: the PNG itself (image/png; x-vmm-foreground gives the share of the image kept), or JSON with b64_png when response_format is b64_json; output rle: JSON',
    },
    errors: 'openai',
  },
  {
    method: 'get',
    path: '/v1/workers',
    operationId: 'listWorkers',
    summary: 'The worker pool as the router sees it',
    tag: 'operations',
    response: { schema: out.workersResponse, id: 'Workers' },
    errors: 'openai',
  },
  {
    method: 'get',
    path: '/',
    operationId: 'root',
    summary: 'Ollama’s "is running" text (a browser asking for text/html gets the dashboard)',
    tag: 'operations',
    response: { type: 'text/plain', description: 'VMM is running' },
    errors: 'vmm',
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'health',
    summary: 'The process is up (no authentication); says whether the API wants a key',
    tag: 'operations',
    response: { schema: out.healthResponse, id: 'Health' },
    errors: 'vmm',
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'ready',
    summary: 'A worker serves (no authentication)',
    tag: 'operations',
    response: { schema: out.healthResponse, id: 'Health' },
    errors: 'vmm',
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics',
    tag: 'operations',
    response: { type: 'text/plain', description: 'the exposition format' },
    errors: 'vmm',
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    summary: 'This document',
    tag: 'operations',
    response: { type: json, description: 'OpenAPI 3.1' },
    errors: 'vmm',
  },
];

/** Every documented operation: method, path and operationId (for the completeness test). */
export const documentedOperations = operations.map(({ method, path, operationId }) => ({
  method,
  path,
  operationId,
}));

const errorSchemas: Record<Shape, { schema: z.ZodType; id: string }> = {
  ollama: { schema: out.ollamaError, id: 'OllamaError' },
  openai: { schema: out.openaiError, id: 'OpenAIError' },
  vmm: { schema: out.vmmError, id: 'VmmError' },
};

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

/** zod → JSON Schema for a registry; the $schema and $id of each are dropped (OpenAPI has its own). */
function componentSchemas(registry: z.core.$ZodRegistry<{ id: string }>, io: 'input' | 'output') {
  const { schemas } = z.toJSONSchema(registry, {
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Record<string, unknown>> };
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $schema: _schema, $id: _id, ...rest } = schema;
      return [id, rest];
    }),
  );
}

export function openApiDocument(version: string): Record<string, unknown> {
  // Requests are described as clients send them (defaults optional), answers as sent.
  const requests = z.registry<{ id: string }>();
  const responses = z.registry<{ id: string }>();
  const register = (registry: typeof requests, schema: z.ZodType, id: string) => {
    if (!registry.has(schema)) registry.add(schema, { id });
  };
  // Shared parts get names of their own.
  register(requests, ollamaOptionsSchema, 'OllamaOptions');
  register(requests, toolSchema, 'Tool');
  register(requests, responseFormatSchema, 'ResponseFormat');
  for (const op of operations) {
    if (op.request) register(requests, op.request.schema, op.request.id);
    if (op.form) register(requests, op.form.schema, op.form.id);
    if (op.response.schema && op.response.id) register(responses, op.response.schema, op.response.id);
  }
  for (const { schema, id } of Object.values(errorSchemas)) register(responses, schema, id);

  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const pathParameters = [...op.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const queryParameters = op.query
      ? Object.entries(
          (
            z.toJSONSchema(op.query, { io: 'input', unrepresentable: 'any' }) as {
              properties?: Record<string, object>;
            }
          ).properties ?? {},
        ).map(([name, schema]) => ({ name, in: 'query', required: false, schema }))
      : [];
    const error = errorSchemas[op.errors];
    const errorResponse = (description: string) => ({
      description,
      content: { [json]: { schema: ref(error.id) } },
    });
    const ok = op.response;
    const okContent =
      ok.schema && ok.id
        ? {
            ...(ok.binary ? { [ok.binary]: { schema: { type: 'string', format: 'binary' } } } : {}),
            [ok.type ?? json]: { schema: ref(ok.id) },
          }
        : ok.type
          ? { [ok.type]: { schema: { type: 'string' } } }
          : undefined;
    // Streams are said in words: one media type per answer keeps generated clients' types plain.
    const streamed =
      op.streams === 'ndjson'
        ? ' With stream true (the default) the answer is NDJSON (application/x-ndjson): one such object per line, the last with done true.'
        : op.streams === 'sse'
          ? ' With stream true the answer is server-sent events (text/event-stream).'
          : '';
    paths[op.path] = {
      ...paths[op.path],
      [op.method]: {
        operationId: op.operationId,
        summary: op.summary,
        tags: [op.tag],
        ...(pathParameters.length + queryParameters.length > 0
          ? { parameters: [...pathParameters, ...queryParameters] }
          : {}),
        ...(op.request
          ? {
              requestBody: {
                required: true,
                content: {
                  [op.request.type ?? json]: {
                    schema: ref(op.request.id),
                    ...(op.request.example === undefined ? {} : { example: op.request.example }),
                  },
                  ...(op.form ? { 'multipart/form-data': { schema: ref(op.form.id) } } : {}),
                },
              },
            }
          : {}),
        responses: {
          [ok.status ?? '200']: {
            description: `${ok.description ?? 'OK'}.${streamed}`,
            ...(okContent ? { content: okContent } : {}),
          },
          ...(op.method === 'head'
            ? { '404': { description: 'no such blob' } }
            : {
                '400': errorResponse('Invalid request'),
                '401': errorResponse('Missing or wrong API key'),
                '404': errorResponse('Unknown model, route or object'),
                '429': errorResponse('A limit was reached (Retry-After says when to try again)'),
                '503': errorResponse('No worker (or no Redis) can serve'),
              }),
        },
      },
    };
  }
  const document = {
    openapi: '3.1.0',
    info: {
      title: 'VMM',
      version,
      description:
        'One HTTP API for text generation, embeddings and vision on CPU, CUDA and OpenVINO workers: Ollama’s routes, OpenAI’s, and VMM’s own.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/' }],
    tags: Object.entries(tagDescriptions).map(([name, description]) => ({ name, description })),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { ...componentSchemas(requests, 'input'), ...componentSchemas(responses, 'output') },
    },
    security: [{ bearer: [] }],
    paths,
  };
  return document;
}
