import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, VmmError } from '@vmm/errors';
import { checkLabels, checkLabelsFileSize, modelTextLimits } from '@vmm/model-store';
import { thinkingSupport } from '@vmm/llm';
import { type ModelInfo, Task } from '@vmm/proto';
import {
  folderPath,
  type ModelFolder,
  type ModelTask,
  type OnnxVariant,
  readChatTemplate,
} from '@vmm/runtime';
import { parseImageSize, parseNames } from '@vmm/vision';
import { taskToProto } from './proto-mapping.js';

/** Bytes a parameter takes in each variant's file, for its parameter count; and its label. */
const variantStorage: Readonly<Record<OnnxVariant, { bytes: number; level: string }>> = {
  fp32: { bytes: 4, level: 'F32' },
  merged: { bytes: 4, level: 'F32' },
  other: { bytes: 4, level: 'F32' },
  fp16: { bytes: 2, level: 'F16' },
  'merged-fp16': { bytes: 2, level: 'F16' },
  quantized: { bytes: 1, level: 'Q8' },
  int8: { bytes: 1, level: 'Q8' },
  'merged-quantized': { bytes: 1, level: 'Q8' },
  // 16 bytes of values and a scale per 32 weights.
  q4: { bytes: 20 / 32, level: 'Q4' },
  q4f16: { bytes: 18 / 32, level: 'Q4' },
};

/** "1.1B", "99.5M", "220K", as Ollama shows parameter sizes. */
export function formatParameterSize(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(1)}B`;
  if (count >= 1e6) return `${(count / 1e6).toFixed(1)}M`;
  if (count >= 1e3) return `${Math.round(count / 1e3)}K`;
  return String(count);
}

function sha256(path: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(`sha256:${hash.digest('hex')}`))
      .on('error', reject);
  });
}

/**
 * A model's listing per model folder version: the gateway polls List and WorkerInfo every few
 * seconds, and hashing a large model file or re-reading its JSON on every poll would be wasted
 * work. A folder's size and newest mtime name its version; at most `limit` versions are kept.
 * Listings hold no per-model text, so the cache stays small; Show reads the text afresh.
 */
/** How long a model's failed description is kept before it is tried again. */
const FAILED_LISTING_MS = 30_000;

export class ModelInfoCache {
  private readonly entries = new Map<string, Promise<ModelInfo>>();

  constructor(private readonly limit = 256) {}

  /** What List and WorkerInfo carry of a model. */
  listing(folder: ModelFolder, file: string): Promise<ModelInfo> {
    const key = `${folder.name}|${folder.dir}|${file}|${folder.sizeBytes}|${folder.modifiedAtMs}`;
    let info = this.entries.get(key);
    if (!info) {
      info = modelListing(folder, file);
      // A model that cannot be described (labels over the bounds) stays so until its folder
      // changes (the key): every poll would read its files again otherwise, which a busy
      // machine may not finish within the poll's deadline. A failure that may pass (a file
      // removed meanwhile) is tried again after a while.
      info.catch(() => {
        const timer = setTimeout(() => this.entries.delete(key), FAILED_LISTING_MS);
        timer.unref();
      });
      this.entries.set(key, info);
      if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value as string);
    }
    return info;
  }

  /** What Show carries of a model: its listing and its text (chat template, labels, SYSTEM, …). */
  async show(folder: ModelFolder, file: string): Promise<ModelInfo> {
    const listed = await this.listing(folder, file);
    const { labels, template } = modelText(folder);
    const capabilities =
      listed.task === Task.TASK_TEXT_GENERATION
        ? // Every text model takes tools (templates without tool support get VMM's default format).
          [
            'completion',
            'tools',
            ...(thinkingSupport(template).canThink ? ['thinking'] : []),
            // A vision-language model reads images in chat, as Ollama's `vision` says.
            ...(folder.takesImages ? ['vision'] : []),
          ]
        : listed.task === Task.TASK_EMBEDDING
          ? ['embedding']
          : ['vision'];
    return {
      ...listed,
      capabilities,
      chatTemplate: template,
      labels,
      system: folder.stored?.system,
      parameters: Object.entries(folder.stored?.parameters ?? {}).flatMap(
        ([name, value]: [string, unknown]) =>
          (Array.isArray(value) ? value : [value]).map((item) => ({ name, value: String(item) })),
      ),
      license: folder.stored?.license ?? [],
    };
  }
}

function readJson(path: string): Record<string, unknown> {
  if (!existsSync(path) || statSync(path).size > modelTextLimits.configFileBytes) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * A stored model's digest, as Ollama's is its manifest's: what makes the model (its files by
 * digest, SYSTEM, LICENSE, PARAMETERs), not its name or date, so a copy shares its source's and a
 * model derived with a SYSTEM line has its own.
 */
function manifestDigest(stored: NonNullable<ModelFolder['stored']>): string {
  const content = {
    files: [...stored.files].sort((a, b) => a.path.localeCompare(b.path)).map((f) => [f.path, f.digest]),
    system: stored.system ?? null,
    license: stored.license ?? null,
    parameters: stored.parameters ?? null,
  };
  return `sha256:${createHash('sha256').update(JSON.stringify(content)).digest('hex')}`;
}

/**
 * A model's own text that answers carry whole (its class labels, its chat template), read
 * from the folder and refused (FAILED_PRECONDITION) past the bounds every message can hold.
 */
export function modelText(folder: ModelFolder): { labels: string[]; template: string | undefined } {
  let labels: string[] = [];
  if (folder.task !== 'text-generation' && folder.task !== 'embedding') {
    const manifestLabels = folder.manifest?.labels;
    if (Array.isArray(manifestLabels)) labels = manifestLabels;
    else if (typeof manifestLabels === 'string') {
      const path = folderPath(folder.dir, manifestLabels, `${folder.name}: vmm.json labels`);
      if (existsSync(path)) {
        checkLabelsFileSize(statSync(path).size, folder.name);
        labels = readFileSync(path, 'utf8').split(/\r?\n/).filter(Boolean);
      }
    } else if (folder.metadata.names) labels = parseNames(folder.metadata.names);
  }
  checkLabels(labels, folder.name);
  let template: string | undefined;
  try {
    template =
      folder.task === 'text-generation'
        ? readChatTemplate(folder.dir, readJson(join(folder.dir, 'tokenizer_config.json')))
        : undefined;
  } catch (error) {
    throw new VmmError(ErrorCode.FailedPrecondition, `${folder.name}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return { labels, template };
}

/** The family a vision model described by a manifest is listed under. */
const visionFamilies: Readonly<Record<ModelTask, string>> = {
  'object-detection': 'detector',
  'image-classification': 'classifier',
  'instance-segmentation': 'segmenter',
  'pose-estimation': 'pose',
  'background-removal': 'matting',
  'text-generation': 'unknown',
  embedding: 'unknown',
};

/**
 * What Models.List says of a model folder, for /api/tags: everything but its per-model text, so
 * a listing grows with the number of models only and never past a gRPC message's limit. A model
 * whose text is over the bounds is refused here too, and so left out of listings.
 */
async function modelListing(folder: ModelFolder, file: string): Promise<ModelInfo> {
  const main = folder.files.find((candidate) => candidate.path === file) ?? folder.files[0];
  // A variant (`tiny-llama:q4`) is its own weights and the folder's other files, not its siblings'.
  const otherVariants = folder.files.reduce((sum, f) => (f === main ? sum : sum + f.bytes), 0);
  const storage = variantStorage[main?.variant ?? 'other'];
  const bytesEach = storage.bytes;
  const config = readJson(join(folder.dir, 'config.json'));
  const parameters = Math.round((main?.bytes ?? 0) / bytesEach);
  const isText = folder.task === 'text-generation';
  const isEncoder = folder.task === 'embedding';
  let input: [number, number] = [0, 0];
  if (!isText && !isEncoder) {
    const preprocess = folder.manifest?.preprocess;
    if (folder.metadata.imgsz) input = parseImageSize(folder.metadata.imgsz);
    else if (preprocess?.crop) input = [preprocess.crop, preprocess.crop];
  }
  const family =
    isText || isEncoder
      ? String(config.model_type ?? 'unknown')
      : folder.format === 'ultralytics'
        ? 'yolo'
        : visionFamilies[folder.task];
  modelText(folder);
  return {
    name: folder.name,
    task: taskToProto[folder.task],
    sizeBytes: folder.sizeBytes - otherVariants,
    digest: folder.stored
      ? manifestDigest(folder.stored)
      : main
        ? await sha256(join(folder.dir, main.path))
        : '',
    // A stored model dates from its manifest; its files are the blobs it shares with others.
    modifiedAtMs: folder.stored ? Date.parse(folder.stored.createdAt) : folder.modifiedAtMs,
    details: {
      format: 'onnx',
      family,
      parameterSize: formatParameterSize(parameters),
      quantizationLevel: storage.level,
      parameterCount: parameters,
    },
    contextLength:
      (isText || isEncoder) && typeof config.max_position_embeddings === 'number'
        ? config.max_position_embeddings
        : 0,
    chatTemplate: undefined,
    labels: [],
    inputHeight: input[0],
    inputWidth: input[1],
    system: undefined,
    parameters: [],
    license: [],
    parent: folder.stored?.from,
    // Show fills them in, from the model's text.
    capabilities: [],
  };
}
