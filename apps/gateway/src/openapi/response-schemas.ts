import { TASK_NAMES } from '@vmm/http-api';
import { z } from 'zod';

// The shapes of the gateway's answers, for its OpenAPI document. Loose objects: a client may
// rely on the fields named here; more may come. Tests validate real answers against them.

const int = z.number().int();
const timestamp = z.string().describe('ISO 8601');

export const ollamaDetails = z.looseObject({
  parent_model: z.string(),
  format: z.string(),
  family: z.string(),
  families: z.array(z.string()),
  parameter_size: z.string(),
  quantization_level: z.string(),
  task: z.enum(TASK_NAMES as [string, ...string[]]),
});

const ollamaModel = z.looseObject({
  name: z.string().describe('Canonical name:tag'),
  model: z.string(),
  modified_at: timestamp,
  size: int,
  digest: z.string(),
  details: ollamaDetails,
});

export const ollamaTagsResponse = z.looseObject({ models: z.array(ollamaModel) });

export const ollamaPsResponse = z.looseObject({
  models: z.array(ollamaModel.extend({ expires_at: timestamp, size_vram: int, worker: z.string() })),
});

export const ollamaShowResponse = z.looseObject({
  modelfile: z.string(),
  parameters: z.string(),
  template: z.string(),
  system: z.string().optional(),
  license: z.string().optional(),
  details: ollamaDetails,
  model_info: z.record(z.string(), z.unknown()),
  capabilities: z.array(z.string()),
  modified_at: timestamp,
});

const ollamaStats = {
  done: z.boolean(),
  done_reason: z.string().optional(),
  total_duration: int.optional(),
  load_duration: int.optional(),
  prompt_eval_count: int.optional(),
  prompt_eval_duration: int.optional(),
  eval_count: int.optional(),
  eval_duration: int.optional(),
};

export const ollamaGenerateResponse = z.looseObject({
  model: z.string(),
  created_at: timestamp,
  response: z.string(),
  context: z.array(int).optional(),
  ...ollamaStats,
});

const toolCall = z.looseObject({
  function: z.looseObject({ name: z.string(), arguments: z.record(z.string(), z.unknown()) }),
});

export const ollamaChatResponse = z.looseObject({
  model: z.string(),
  created_at: timestamp,
  message: z.looseObject({
    role: z.literal('assistant'),
    content: z.string(),
    tool_calls: z.array(toolCall).optional(),
  }),
  ...ollamaStats,
});

export const ollamaEmbedResponse = z.looseObject({
  model: z.string(),
  embeddings: z.array(z.array(z.number())),
  total_duration: int.optional(),
  load_duration: int.optional(),
  prompt_eval_count: int.optional(),
});

export const ollamaLegacyEmbedResponse = z.looseObject({ embedding: z.array(z.number()) });

export const ollamaVersionResponse = z.looseObject({ version: z.string() });

export const ollamaProgress = z.looseObject({
  status: z.string(),
  digest: z.string().optional(),
  total: int.optional(),
  completed: int.optional(),
});

export const ollamaError = z.object({ error: z.string() });

const usage = z.looseObject({ prompt_tokens: int, completion_tokens: int, total_tokens: int });

export const chatCompletion = z.looseObject({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: int,
  model: z.string(),
  choices: z.array(
    z.looseObject({
      index: int,
      message: z.looseObject({
        role: z.literal('assistant'),
        content: z.string().nullable(),
        tool_calls: z
          .array(
            z.looseObject({
              id: z.string(),
              type: z.literal('function'),
              function: z.looseObject({ name: z.string(), arguments: z.string() }),
            }),
          )
          .optional(),
      }),
      finish_reason: z.string().nullable(),
    }),
  ),
  usage,
});

export const textCompletion = z.looseObject({
  id: z.string(),
  object: z.literal('text_completion'),
  created: int,
  model: z.string(),
  choices: z.array(z.looseObject({ index: int, text: z.string(), finish_reason: z.string().nullable() })),
  usage,
});

export const openaiEmbeddings = z.looseObject({
  object: z.literal('list'),
  data: z.array(
    z.looseObject({
      object: z.literal('embedding'),
      index: int,
      embedding: z.union([z.array(z.number()), z.string().describe('base64 of float32s')]),
    }),
  ),
  model: z.string(),
  usage: z.looseObject({ prompt_tokens: int, total_tokens: int }),
});

export const openaiModel = z.looseObject({
  id: z.string(),
  object: z.literal('model'),
  created: int,
  owned_by: z.string(),
});

export const openaiModelList = z.looseObject({ object: z.literal('list'), data: z.array(openaiModel) });

export const responseObject = z.looseObject({
  id: z.string(),
  object: z.literal('response'),
  created_at: int,
  status: z.enum(['completed', 'incomplete', 'in_progress']),
  model: z.string(),
  output: z.array(
    z.looseObject({
      type: z.literal('message'),
      id: z.string(),
      role: z.literal('assistant'),
      content: z.array(z.looseObject({ type: z.literal('output_text'), text: z.string() })),
    }),
  ),
  output_text: z.string().optional(),
  usage: z.looseObject({ input_tokens: int, output_tokens: int, total_tokens: int }).nullable(),
});

export const fileObject = z.looseObject({
  id: z.string(),
  object: z.literal('file'),
  bytes: int,
  created_at: int,
  expires_at: int,
  filename: z.string(),
  purpose: z.string(),
  status: z.literal('processed'),
});

/** OpenAI's paged list envelope. */
const pageOf = <T extends z.ZodType>(item: T) =>
  z.looseObject({
    object: z.literal('list'),
    data: z.array(item),
    first_id: z.string().nullable(),
    last_id: z.string().nullable(),
    has_more: z.boolean(),
  });

export const fileList = pageOf(fileObject);

export const fileDeleted = z.looseObject({
  id: z.string(),
  object: z.literal('file'),
  deleted: z.literal(true),
});

export const batchObject = z.looseObject({
  id: z.string(),
  object: z.literal('batch'),
  endpoint: z.string(),
  status: z.enum(['validating', 'in_progress', 'completed', 'failed', 'cancelling', 'cancelled']),
  input_file_id: z.string().nullable(),
  completion_window: z.string(),
  output_file_id: z.string().nullable(),
  error_file_id: z.string().nullable(),
  created_at: int,
  request_counts: z.looseObject({ total: int, completed: int, failed: int }),
  metadata: z.record(z.string(), z.string()).nullable(),
});

export const batchList = pageOf(batchObject);

const box = z.looseObject({ x1: z.number(), y1: z.number(), x2: z.number(), y2: z.number() });

/** The decoded image's size, in the pixels the boxes are given in. */
const imageSize = z.looseObject({ width: int, height: int });

/** Where a vision request's time went, in nanoseconds. */
const visionTimings = z.looseObject({
  load_ns: int,
  decode_ns: int,
  preprocess_ns: int,
  inference_ns: int,
  postprocess_ns: int,
  total_ns: int,
});

export const detectResponse = z.looseObject({
  model: z.string(),
  detections: z.array(z.looseObject({ class_id: int, label: z.string(), score: z.number(), box })),
  image: imageSize,
  timings: visionTimings,
});

const detection = { class_id: int, label: z.string(), score: z.number(), box };

export const segmentResponse = z.looseObject({
  model: z.string(),
  segments: z.array(
    z.looseObject({
      ...detection,
      mask: z
        .looseObject({
          size: z.tuple([int, int]).describe('[height, width], as pycocotools reads it'),
          counts: z
            .array(int)
            .describe(
              'column-major runs of unset and set pixels, starting with unset (COCO uncompressed RLE)',
            ),
          area: int.describe('pixels set'),
        })
        .describe('the mask over the whole image'),
      polygons: z
        .array(z.array(int))
        .optional()
        .describe('with polygons: each part’s outline, [x, y, x, y, …] through pixel corners, largest first'),
    }),
  ),
  image: imageSize,
  timings: visionTimings,
});

export const poseResponse = z.looseObject({
  model: z.string(),
  poses: z.array(
    z.looseObject({
      ...detection,
      keypoints: z.array(
        z.looseObject({ name: z.string(), x: z.number(), y: z.number(), score: z.number() }),
      ),
    }),
  ),
  skeleton: z.array(z.tuple([int, int])).describe('keypoint index pairs joined when a pose is drawn'),
  image: imageSize,
  timings: visionTimings,
});

export const removeBackgroundResponse = z.looseObject({
  model: z.string(),
  b64_png: z.string().optional().describe('with response_format b64_json: the PNG, base64'),
  mask: z
    .looseObject({ size: z.tuple([int, int]), counts: z.array(int), area: int })
    .optional()
    .describe('with output rle: the foreground (alpha at least half) as COCO RLE'),
  foreground: z.number().describe('the share of the image in the foreground, [0, 1]'),
  image: imageSize,
  timings: visionTimings,
});

export const classifyResponse = z.looseObject({
  model: z.string(),
  classes: z.array(z.looseObject({ class_id: int, label: z.string(), score: z.number() })),
  image: imageSize,
  timings: visionTimings,
});

export const workersResponse = z.looseObject({
  workers: z.array(
    z.looseObject({
      id: z.string(),
      backend: z.string(),
      address: z.string(),
      up: z.boolean(),
      running: int,
      queued: int,
      capacity: int,
      loaded_models: z.array(z.string().optional()),
      models: z.array(z.string()),
    }),
  ),
});

export const healthResponse = z.looseObject({ status: z.string(), auth: z.boolean().optional() });

export const openaiError = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
});

export const vmmError = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }),
});
