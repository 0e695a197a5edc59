import { Router } from 'express';
import { ErrorCode, VmmError } from '@vmm/errors';
import {
  FinishReason,
  type GenerateChunk,
  type ModelInfo,
  Role,
  type SamplingOptions,
  Task,
} from '@vmm/proto';
import { z } from 'zod';
import { sendError } from '../error-shapes.js';
import {
  backendField,
  clientGone,
  keepAliveField,
  keepAliveMs,
  pinOf,
  requestContext,
  requestIdOf,
  type RouteDeps,
} from '../request-context.js';
import { streamText, type TextJob } from '../text-generation.js';
import { parseBody } from '../validation.js';

// Ollama's API (github.com/ollama/ollama docs/api.md): request and response shapes as its own
// clients send and read them.

const options = z
  .object({
    temperature: z.number().min(0).optional(),
    top_k: z.number().int().min(0).optional(),
    top_p: z.number().min(0).max(1).optional(),
    min_p: z.number().min(0).max(1).optional(),
    repeat_penalty: z.number().positive().optional(),
    repeat_last_n: z.number().int().min(-1).optional(),
    presence_penalty: z.number().optional(),
    frequency_penalty: z.number().optional(),
    seed: z.number().int().optional(),
    stop: z.array(z.string()).optional(),
    num_predict: z.number().int().min(-2).optional(),
    num_ctx: z.number().int().positive().optional(),
    backend: backendField,
  })
  .loose();

const common = {
  model: z.string().min(1),
  stream: z.boolean().optional(),
  format: z.unknown().optional(),
  keep_alive: keepAliveField,
  options: options.optional(),
};

const generateSchema = z.object({
  ...common,
  prompt: z.string().optional(),
  system: z.string().optional(),
  raw: z.boolean().optional(),
  suffix: z.string().optional(),
  images: z.array(z.string()).max(0, 'images are not supported by text models here').optional(),
});

const chatSchema = z.object({
  ...common,
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'user', 'assistant', 'tool']),
        content: z.string(),
        images: z.array(z.string()).max(0, 'images are not supported by text models here').optional(),
      }),
    )
    .min(1),
});

const showSchema = z.object({ model: z.string().min(1).optional(), name: z.string().min(1).optional() });

function sampling(o: z.infer<typeof options> | undefined): SamplingOptions {
  const out: SamplingOptions = { stop: o?.stop ?? [] };
  if (!o) return out;
  if (o.temperature !== undefined) out.temperature = o.temperature;
  if (o.top_k !== undefined) out.topK = o.top_k;
  if (o.top_p !== undefined) out.topP = o.top_p;
  if (o.min_p !== undefined) out.minP = o.min_p;
  if (o.repeat_penalty !== undefined) out.repetitionPenalty = o.repeat_penalty;
  if (o.repeat_last_n !== undefined && o.repeat_last_n >= 0) out.repeatLastN = o.repeat_last_n;
  if (o.presence_penalty !== undefined) out.presencePenalty = o.presence_penalty;
  if (o.frequency_penalty !== undefined) out.frequencyPenalty = o.frequency_penalty;
  if (o.seed !== undefined && o.seed >= 0) out.seed = o.seed;
  // -1: until the context is full; -2: fill the context. Both mean "no limit" here.
  if (o.num_predict !== undefined && o.num_predict > 0) out.maxTokens = o.num_predict;
  if (o.num_ctx !== undefined) out.contextSize = o.num_ctx;
  return out;
}

const doneReasons: Readonly<Partial<Record<FinishReason, string>>> = {
  [FinishReason.FINISH_REASON_STOP]: 'stop',
  [FinishReason.FINISH_REASON_LENGTH]: 'length',
  [FinishReason.FINISH_REASON_CANCELLED]: 'cancelled',
};

function finalStats(chunk: GenerateChunk) {
  const done = chunk.done;
  return {
    done: true,
    done_reason: done ? (doneReasons[done.finishReason] ?? 'stop') : 'stop',
    total_duration: done?.timings?.totalNs ?? 0,
    load_duration: done?.timings?.loadNs ?? 0,
    prompt_eval_count: done?.usage?.promptTokens ?? 0,
    prompt_eval_duration: done?.timings?.promptEvalNs ?? 0,
    eval_count: done?.usage?.completionTokens ?? 0,
    eval_duration: done?.timings?.evalNs ?? 0,
  };
}

const taskNames: Readonly<Partial<Record<Task, string>>> = {
  [Task.TASK_TEXT_GENERATION]: 'text-generation',
  [Task.TASK_OBJECT_DETECTION]: 'object-detection',
  [Task.TASK_IMAGE_CLASSIFICATION]: 'image-classification',
};

export function ollamaDetails(model: ModelInfo) {
  return {
    parent_model: '',
    format: model.details?.format ?? 'onnx',
    family: model.details?.family ?? '',
    families: [model.details?.family ?? ''],
    parameter_size: model.details?.parameterSize ?? '',
    quantization_level: model.details?.quantizationLevel ?? '',
    task: taskNames[model.task] ?? 'unknown',
  };
}

function tag(model: ModelInfo) {
  return {
    name: model.name,
    model: model.name,
    modified_at: new Date(model.modifiedAtMs).toISOString(),
    size: model.sizeBytes,
    digest: model.digest.replace(/^sha256:/, ''),
    details: ollamaDetails(model),
  };
}

export function ollamaRouter(deps: RouteDeps): Router {
  const router = Router();
  const { pool, logger, metrics } = deps;

  async function generateText(
    req: Parameters<Parameters<Router['post']>[1]>[0],
    res: Parameters<Parameters<Router['post']>[1]>[1],
    chat: boolean,
  ) {
    const requestId = requestIdOf(res);
    try {
      const body = chat ? parseBody(chatSchema, req.body) : parseBody(generateSchema, req.body);
      const pin = pinOf(req, body.options?.backend);
      const context = requestContext(res, pin, keepAliveMs(body.keep_alive));
      const job: TextJob =
        'messages' in body
          ? {
              kind: 'chat',
              request: {
                model: body.model,
                messages: body.messages.map((m) => ({
                  role: Role[`ROLE_${m.role.toUpperCase()}` as keyof typeof Role],
                  content: m.content,
                })),
                options: sampling(body.options),
                context,
              },
            }
          : {
              kind: 'generate',
              request: {
                model: body.model,
                prompt: body.prompt ?? '',
                system: body.system,
                raw: body.raw ?? false,
                options: sampling(body.options),
                context,
              },
            };
      if (job.kind === 'generate' && job.request.prompt === '') {
        // Ollama answers an empty prompt by loading the model.
        await pool.unary(
          body.model,
          pin,
          (handle) =>
            new Promise((resolve, reject) =>
              handle.models.load({ model: body.model, keepAliveMs: context.keepAliveMs }, (error, value) =>
                error ? reject(error) : resolve(value),
              ),
            ),
        );
        res.json({
          model: body.model,
          created_at: new Date().toISOString(),
          response: '',
          done: true,
          done_reason: 'load',
        });
        return;
      }
      const gone = clientGone(req, res);
      const stream = body.stream ?? true;
      const base = () => ({ model: body.model, created_at: new Date().toISOString() });
      const piece = (text: string) =>
        chat ? { message: { role: 'assistant', content: text } } : { response: text };
      let text = '';
      let started = false;
      for await (const chunk of streamText(pool, job, pin, requestId, metrics)) {
        if (gone()) break;
        if (stream && !started) {
          res.status(200).type('application/x-ndjson');
          started = true;
        }
        if (chunk.done) {
          const last = { ...base(), ...piece(stream ? chunk.text : text + chunk.text), ...finalStats(chunk) };
          if (stream) res.write(`${JSON.stringify(last)}\n`);
          else res.json(last);
          break;
        }
        if (stream) {
          if (chunk.text) res.write(`${JSON.stringify({ ...base(), ...piece(chunk.text), done: false })}\n`);
        } else text += chunk.text;
      }
      if (stream && !res.writableEnded) res.end();
    } catch (error) {
      if (res.headersSent) {
        if (!res.writableEnded) res.end(`${JSON.stringify({ error: VmmError.from(error).message })}\n`);
        return;
      }
      sendError(res, error, 'ollama', logger, requestId);
    }
  }

  router.post('/api/generate', (req, res) => void generateText(req, res, false));
  router.post('/api/chat', (req, res) => void generateText(req, res, true));

  router.get('/api/tags', (_req, res) => {
    res.json({ models: pool.catalogue().map(tag) });
  });

  router.post('/api/show', (req, res) => {
    try {
      const body = parseBody(showSchema, req.body);
      const name = body.model ?? body.name;
      if (!name) throw new VmmError(ErrorCode.InvalidArgument, 'model is required', { field: 'model' });
      const model = pool.catalogue().find((info) => info.name === name);
      if (!model) throw new VmmError(ErrorCode.NotFound, `model '${name}' not found`, { field: 'model' });
      const text = model.task === Task.TASK_TEXT_GENERATION;
      res.json({
        modelfile: `# VMM serves ${name} from its model folder\nFROM ${name}\n`,
        parameters: '',
        template: model.chatTemplate ?? '',
        details: ollamaDetails(model),
        model_info: {
          'general.architecture': model.details?.family ?? '',
          'general.parameter_count': model.details?.parameterCount ?? 0,
          'general.task': taskNames[model.task] ?? 'unknown',
          ...(text ? { [`${model.details?.family}.context_length`]: model.contextLength } : {}),
          ...(text
            ? {}
            : { 'vision.labels': model.labels, 'vision.image_size': [model.inputHeight, model.inputWidth] }),
        },
        capabilities: text ? ['completion'] : ['vision'],
        modified_at: new Date(model.modifiedAtMs).toISOString(),
      });
    } catch (error) {
      sendError(res, error, 'ollama', logger, requestIdOf(res));
    }
  });

  router.get('/api/ps', (_req, res) => {
    const models = pool.states().flatMap((state) =>
      (state.up ? (state.info?.loadedModels ?? []) : []).flatMap((loaded) =>
        loaded.model
          ? [
              {
                ...tag(loaded.model),
                expires_at: new Date(
                  loaded.expiresAtMs ?? Date.now() + 10 * 365 * 24 * 3600 * 1000,
                ).toISOString(),
                size_vram: loaded.deviceMemoryBytes,
                worker: state.id,
              },
            ]
          : [],
      ),
    );
    res.json({ models });
  });

  router.get('/api/version', (_req, res) => {
    res.json({ version: deps.version });
  });

  router.post('/api/pull', (req, res) => {
    try {
      const body = parseBody(
        z.object({
          model: z.string().min(1).optional(),
          name: z.string().min(1).optional(),
          stream: z.boolean().optional(),
        }),
        req.body,
      );
      const name = body.model ?? body.name ?? '';
      if (!pool.catalogue().some((info) => info.name === name)) {
        // No model registry is reachable from VMM's machines: models arrive as folders.
        throw new VmmError(
          ErrorCode.NotFound,
          `model '${name}' is not in the models directory; copy its folder into VMM_MODELS_DIR (pulling from a registry is not supported)`,
          {
            field: 'model',
          },
        );
      }
      if (body.stream === false) res.json({ status: 'success' });
      else res.type('application/x-ndjson').end(`${JSON.stringify({ status: 'success' })}\n`);
    } catch (error) {
      sendError(res, error, 'ollama', logger, requestIdOf(res));
    }
  });

  return router;
}
