// The OpenAPI 3.1 description of every route the gateway serves (GET /openapi.json).

type Schema = Record<string, unknown>;

const object = (properties: Record<string, Schema>, required: string[] = []): Schema => ({
  type: 'object',
  properties,
  ...(required.length > 0 ? { required } : {}),
});
const str = { type: 'string' };
const num = { type: 'number' };
const int = { type: 'integer' };
const bool = { type: 'boolean' };
const json = (schema: Schema) => ({ content: { 'application/json': { schema } } });

const ollamaOptions = object({
  temperature: num,
  top_k: int,
  top_p: num,
  min_p: num,
  repeat_penalty: num,
  repeat_last_n: int,
  presence_penalty: num,
  frequency_penalty: num,
  seed: int,
  stop: { type: 'array', items: str },
  num_predict: int,
  num_ctx: int,
  backend: { enum: ['cpu', 'cuda', 'openvino'] },
});
const keepAlive = { oneOf: [num, str] };
const anyObject = { type: 'object' };
const tools = {
  type: 'array',
  items: object({
    type: { const: 'function' },
    function: object({ name: str, description: str, parameters: anyObject }, ['name']),
  }),
};
const embeddingRows = { type: 'array', items: { type: 'array', items: num } };
const message = object(
  { role: { enum: ['system', 'user', 'assistant', 'tool', 'developer'] }, content: str },
  ['role', 'content'],
);
const vmmError = object({ error: object({ code: str, message: str, field: str }, ['code', 'message']) }, [
  'error',
]);
const ollamaError = object({ error: str }, ['error']);
const openaiError = object(
  { error: object({ message: str, type: str, param: { type: ['string', 'null'] }, code: str }) },
  ['error'],
);
const visionBody = (extra: Record<string, Schema>) => ({
  content: {
    'application/json': {
      schema: object({ model: str, image: { ...str, description: 'base64 or data: URL' }, ...extra }, [
        'model',
        'image',
      ]),
    },
    'multipart/form-data': {
      schema: object({ model: str, image: { type: 'string', format: 'binary' }, ...extra }, [
        'model',
        'image',
      ]),
    },
  },
});

interface Operation {
  method: 'get' | 'post' | 'delete' | 'head';
  path: string;
  summary: string;
  tag: string;
  body?: Schema;
  ok: Schema;
  error: Schema;
}

const operations: Operation[] = [
  {
    method: 'post',
    path: '/api/generate',
    summary: 'Generate a completion (NDJSON stream unless stream is false)',
    tag: 'ollama',
    body: json(
      object(
        {
          model: str,
          prompt: str,
          system: str,
          raw: bool,
          stream: bool,
          keep_alive: keepAlive,
          options: ollamaOptions,
          format: { oneOf: [{ const: 'json' }, anyObject] },
          context: { type: 'array', items: int },
          logprobs: bool,
          top_logprobs: int,
        },
        ['model'],
      ),
    ),
    ok: {
      content: {
        'application/x-ndjson': { schema: object({ model: str, response: str, done: bool }) },
        'application/json': { schema: object({ model: str, response: str, done: bool }) },
      },
    },
    error: json(ollamaError),
  },
  {
    method: 'post',
    path: '/api/chat',
    summary: 'Chat with a model (NDJSON stream unless stream is false)',
    tag: 'ollama',
    body: json(
      object(
        {
          model: str,
          messages: { type: 'array', items: message },
          stream: bool,
          keep_alive: keepAlive,
          options: ollamaOptions,
          format: { oneOf: [{ const: 'json' }, anyObject] },
          tools,
          logprobs: bool,
          top_logprobs: int,
        },
        ['model', 'messages'],
      ),
    ),
    ok: {
      content: {
        'application/x-ndjson': { schema: object({ model: str, message, done: bool }) },
        'application/json': { schema: object({ model: str, message, done: bool }) },
      },
    },
    error: json(ollamaError),
  },
  {
    method: 'post',
    path: '/api/embed',
    summary: 'Embed one text or many with an embedding model',
    tag: 'ollama',
    body: json(
      object(
        {
          model: str,
          input: { oneOf: [str, { type: 'array', items: str }] },
          truncate: bool,
          dimensions: int,
          keep_alive: keepAlive,
          options: object({ num_ctx: int }),
        },
        ['model', 'input'],
      ),
    ),
    ok: json(
      object({
        model: str,
        embeddings: embeddingRows,
        total_duration: int,
        load_duration: int,
        prompt_eval_count: int,
      }),
    ),
    error: json(ollamaError),
  },
  {
    method: 'post',
    path: '/api/embeddings',
    summary: 'Embed one prompt (the older endpoint)',
    tag: 'ollama',
    body: json(
      object({ model: str, prompt: str, keep_alive: keepAlive, options: object({ num_ctx: int }) }, [
        'model',
        'prompt',
      ]),
    ),
    ok: json(object({ embedding: { type: 'array', items: num } })),
    error: json(ollamaError),
  },
  {
    method: 'post',
    path: '/v1/embeddings',
    summary: 'Embed texts or token ids (OpenAI)',
    tag: 'openai',
    body: json(
      object(
        {
          model: str,
          input: {
            oneOf: [
              str,
              { type: 'array', items: str },
              { type: 'array', items: int },
              { type: 'array', items: { type: 'array', items: int } },
            ],
          },
          encoding_format: { enum: ['float', 'base64'] },
          dimensions: int,
          user: str,
        },
        ['model', 'input'],
      ),
    ),
    ok: json(
      object({
        object: { const: 'list' },
        data: {
          type: 'array',
          items: object({
            object: str,
            index: int,
            embedding: { oneOf: [{ type: 'array', items: num }, str] },
          }),
        },
        model: str,
        usage: object({ prompt_tokens: int, total_tokens: int }),
      }),
    ),
    error: json(openaiError),
  },
  {
    method: 'get',
    path: '/api/tags',
    summary: 'List models',
    tag: 'ollama',
    ok: json(object({ models: { type: 'array', items: object({ name: str }) } })),
    error: json(ollamaError),
  },
  {
    method: 'post',
    path: '/api/show',
    summary: 'Show a model',
    tag: 'ollama',
    body: json(object({ model: str })),
    ok: json(object({ details: object({}) })),
    error: json(ollamaError),
  },
  {
    method: 'get',
    path: '/api/ps',
    summary: 'List loaded models',
    tag: 'ollama',
    ok: json(object({ models: { type: 'array', items: object({}) } })),
    error: json(ollamaError),
  },
  {
    method: 'get',
    path: '/api/version',
    summary: 'Server version',
    tag: 'ollama',
    ok: json(object({ version: str })),
    error: json(ollamaError),
  },
  {
    method: 'post',
    path: '/api/pull',
    summary: 'Pull a model from a Hugging Face Hub repository (hf.co/ORG/REPO[:variant]); NDJSON progress',
    tag: 'ollama',
    body: json(object({ model: str, stream: { type: 'boolean' } })),
    ok: json(
      object({ status: str, digest: str, total: { type: 'integer' }, completed: { type: 'integer' } }),
    ),
    error: json(ollamaError),
  },
  {
    method: 'post',
    path: '/api/create',
    summary:
      'Create a model from another (shares its weights) or from blobs, with SYSTEM, PARAMETERs, TEMPLATE, LICENSE',
    tag: 'ollama',
    body: json(
      object({
        model: str,
        from: str,
        files: { type: 'object', additionalProperties: str },
        system: str,
        template: str,
        license: str,
        parameters: { type: 'object' },
        modelfile: str,
        stream: { type: 'boolean' },
      }),
    ),
    ok: json(object({ status: str })),
    error: json(ollamaError),
  },
  {
    method: 'post',
    path: '/api/copy',
    summary: 'Give a model a second name',
    tag: 'ollama',
    body: json(object({ source: str, destination: str })),
    ok: { description: 'copied' },
    error: json(ollamaError),
  },
  {
    method: 'delete',
    path: '/api/delete',
    summary: 'Delete a model (refused with 409 while requests run on it)',
    tag: 'ollama',
    body: json(object({ model: str })),
    ok: { description: 'deleted' },
    error: json(ollamaError),
  },
  {
    method: 'head',
    path: '/api/blobs/{digest}',
    summary: 'Whether the server has a blob',
    tag: 'ollama',
    ok: { description: 'the blob exists (404 when not)' },
    error: { description: 'no such blob' },
  },
  {
    method: 'post',
    path: '/api/blobs/{digest}',
    summary: 'Upload a blob for /api/create files (checked against its sha256 digest)',
    tag: 'ollama',
    ok: { description: 'stored (201), or already there (200)' },
    error: json(ollamaError),
  },
  {
    method: 'get',
    path: '/',
    summary: 'Ollama\'s "is running" text; the dashboard for a browser (Accept: text/html)',
    tag: 'operations',
    ok: { description: 'VMM is running', content: { 'text/plain': { schema: str } } },
    error: { description: 'never' },
  },
  {
    method: 'post',
    path: '/v1/chat/completions',
    summary: 'OpenAI chat completion (SSE when stream is true)',
    tag: 'openai',
    body: json(
      object(
        {
          model: str,
          messages: { type: 'array', items: message },
          stream: bool,
          max_tokens: int,
          temperature: num,
          top_p: num,
          stop: { oneOf: [str, { type: 'array', items: str }] },
          seed: int,
          response_format: object(
            { type: { enum: ['text', 'json_object', 'json_schema'] }, json_schema: anyObject },
            ['type'],
          ),
          tools,
          tool_choice: { oneOf: [{ enum: ['none', 'auto', 'required'] }, anyObject] },
          parallel_tool_calls: bool,
          logprobs: bool,
          top_logprobs: int,
          logit_bias: { type: 'object', additionalProperties: num },
        },
        ['model', 'messages'],
      ),
    ),
    ok: {
      content: {
        'application/json': { schema: object({ id: str, choices: { type: 'array' } }) },
        'text/event-stream': { schema: str },
      },
    },
    error: json(openaiError),
  },
  {
    method: 'post',
    path: '/v1/completions',
    summary: 'OpenAI text completion (SSE when stream is true)',
    tag: 'openai',
    body: json(
      object({ model: str, prompt: str, stream: bool, max_tokens: int, temperature: num }, [
        'model',
        'prompt',
      ]),
    ),
    ok: {
      content: {
        'application/json': { schema: object({ id: str, choices: { type: 'array' } }) },
        'text/event-stream': { schema: str },
      },
    },
    error: json(openaiError),
  },
  {
    method: 'get',
    path: '/v1/models',
    summary: 'OpenAI model list',
    tag: 'openai',
    ok: json(object({ object: str, data: { type: 'array' } })),
    error: json(openaiError),
  },
  {
    method: 'get',
    path: '/v1/models/{model}',
    summary: 'OpenAI model',
    tag: 'openai',
    ok: json(object({ id: str })),
    error: json(openaiError),
  },
  {
    method: 'post',
    path: '/v1/vision/detect',
    summary: 'Detect objects in an image; boxes in original pixels',
    tag: 'vision',
    body: visionBody({
      confidence_threshold: num,
      iou_threshold: num,
      max_detections: int,
      class_ids: { type: 'array', items: int },
    }),
    ok: json(
      object({
        detections: {
          type: 'array',
          items: object({
            box: object({ x1: num, y1: num, x2: num, y2: num }),
            class_id: int,
            label: str,
            score: num,
          }),
        },
      }),
    ),
    error: json(openaiError),
  },
  {
    method: 'post',
    path: '/v1/vision/classify',
    summary: 'Classify an image: top-k labels',
    tag: 'vision',
    body: visionBody({ top_k: int }),
    ok: json(
      object({ classes: { type: 'array', items: object({ class_id: int, label: str, score: num }) } }),
    ),
    error: json(openaiError),
  },
  {
    method: 'get',
    path: '/v1/workers',
    summary: 'The worker pool as the router sees it',
    tag: 'operations',
    ok: json(object({ workers: { type: 'array' } })),
    error: json(openaiError),
  },
  {
    method: 'get',
    path: '/healthz',
    summary: 'The process is up (no authentication)',
    tag: 'operations',
    ok: json(object({ status: str })),
    error: json(vmmError),
  },
  {
    method: 'get',
    path: '/readyz',
    summary: 'A worker serves (no authentication)',
    tag: 'operations',
    ok: json(object({ status: str })),
    error: json(vmmError),
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    tag: 'operations',
    ok: { content: { 'text/plain': { schema: str } } },
    error: json(vmmError),
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    tag: 'operations',
    ok: json(object({})),
    error: json(vmmError),
  },
];

export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const parameters = op.path.includes('{model}')
      ? [{ name: 'model', in: 'path', required: true, schema: str }]
      : undefined;
    paths[op.path] = {
      ...paths[op.path],
      [op.method]: {
        summary: op.summary,
        tags: [op.tag],
        ...(parameters ? { parameters } : {}),
        ...(op.body ? { requestBody: { required: true, ...op.body } } : {}),
        responses: {
          '200': { description: 'OK', ...op.ok },
          '400': { description: 'Invalid request', ...op.error },
          '401': { description: 'Missing or wrong API key', ...op.error },
          ...(op.method === 'post'
            ? {
                '404': { description: 'Unknown model', ...op.error },
                '429': { description: 'Worker full', ...op.error },
              }
            : {}),
          '503': { description: 'No worker can serve', ...op.error },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'VMM',
      version,
      description: 'One HTTP API for text generation and vision on CPU, CUDA and OpenVINO workers.',
    },
    servers: [{ url: '/' }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
