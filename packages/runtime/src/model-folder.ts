import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { ErrorCode, VmmError } from '@vmm/errors';
import type { Backend } from './backend.js';
import {
  cpuVariantOrder,
  type ModelManifest,
  ModelStore,
  onnxVariantOf,
  type OnnxVariant,
  parseModelName,
  variantTags,
  visionCompanions as storeVisionCompanions,
} from '@vmm/model-store';
import { folderPath } from './folder-path.js';
import { onnxExternalLocations } from './onnx-external-data.js';
import { readOnnxMetadata } from './onnx-metadata.js';
import { type ModelTask, type VmmManifest, vmmManifestSchema } from './vmm-manifest.js';

export interface ModelFile {
  /** Relative to the model folder, e.g. "onnx/model.onnx". */
  path: string;
  variant: OnnxVariant;
  /** The file and its external data, in bytes. */
  bytes: number;
}

export interface ModelFolder {
  /** Canonical `name:tag` (`tiny-llama:latest`). */
  name: string;
  dir: string;
  task: ModelTask;
  /** optimum: config.json + tokenizer; ultralytics: a self-describing .onnx; manifest: vmm.json. */
  format: 'optimum' | 'ultralytics' | 'manifest';
  files: ModelFile[];
  /** Bytes of every file in the folder. */
  sizeBytes: number;
  modifiedAtMs: number;
  manifest?: VmmManifest;
  /** metadata_props of the chosen ONNX file (vision models). */
  metadata: Record<string, string>;
  /** The variants a `name:tag` asked for (`tiny-llama:q4`), best first; none: the backend's choice. */
  variants?: readonly OnnxVariant[];
  /** The store's manifest of a pulled, created or copied model (SYSTEM, PARAMETERs, source). */
  stored?: ModelManifest;
  /**
   * A vision-language model (text generation that also reads images): `files` are its decoder's
   * variants; each variant's vision encoder and token embedding sit beside it (visionCompanions).
   */
  takesImages?: boolean;
}

/** Encoders whose Optimum `feature-extraction` exports serve embeddings. */
const encoderModelTypes = new Set([
  'bert',
  'roberta',
  'xlm-roberta',
  'mpnet',
  'distilbert',
  'electra',
  'nomic_bert',
  'modernbert',
]);

/**
 * Salient-object and matting models that transformers.js serves as `background-removal`
 * (config.json's model_type; BRIA's RMBG-1.4 says `SegformerForSemanticSegmentation` with its own
 * architecture name).
 */
const backgroundRemovalTypes = new Set(['birefnet', 'isnet', 'u2net', 'modnet']);
const backgroundRemovalArchitectures = new Set(['BriaRMBG', 'BiRefNet', 'ISNetDIS', 'U2NET', 'MODNet']);

const decoderModelTypes = new Set([
  'llama',
  'mistral',
  'qwen2',
  'phi3',
  'gemma',
  'gemma2',
  'gpt2',
  'gpt_neox',
  'olmo',
]);

/**
 * Vision-language checkpoints whose onnx-community exports VMM serves (config.json model_type):
 * a vision encoder, a token embedding and a decoder on inputs_embeds.
 */
export const visionLanguageModelTypes: ReadonlySet<string> = new Set([
  'idefics3',
  'smolvlm',
  'qwen2_vl',
  'qwen2_5_vl',
]);

const VLM_DECODER = 'decoder_model_merged';

/**
 * The vision encoder and token embedding that go with a vision-language decoder file of `dir`
 * (model-store's visionCompanions over the folder's files).
 */
export function visionCompanions(dir: string, decoderFile: string): { encoder: string; embed: string } {
  return storeVisionCompanions(decoderFile, (path) => existsSync(join(dir, path)));
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `${what} is not valid JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

function onnxFiles(dir: string): ModelFile[] {
  const found: ModelFile[] = [];
  for (const sub of ['onnx', '.']) {
    const folder = join(dir, sub);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) continue;
    for (const name of readdirSync(folder).sort()) {
      if (!name.endsWith('.onnx')) continue;
      const path = join(folder, name);
      // A link to weights elsewhere on the machine is refused like a path that climbs out.
      folderPath(dir, relative(dir, path), 'the model file');
      const external = `${path}_data`;
      found.push({
        path: relative(dir, path),
        variant: onnxVariantOf(name),
        bytes: statSync(path).size + (existsSync(external) ? statSync(external).size : 0),
      });
    }
  }
  return found;
}

function folderStats(dir: string): { sizeBytes: number; modifiedAtMs: number } {
  let sizeBytes = 0;
  let modifiedAtMs = 0;
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    let stats = lstatSync(join(dir, entry));
    if (stats.isSymbolicLink()) {
      // Every file of the folder is read by a fixed name somewhere (tokenizer.json,
      // genai_config.json, …): a link may point within the folder, never out of it.
      folderPath(dir, entry, 'a link in the model folder', 'any');
      if (!existsSync(join(dir, entry))) continue;
      stats = statSync(join(dir, entry));
    }
    if (!stats.isFile()) continue;
    sizeBytes += stats.size;
    modifiedAtMs = Math.max(modifiedAtMs, Math.floor(stats.mtimeMs));
  }
  return { sizeBytes, modifiedAtMs };
}

const ultralyticsTasks: Readonly<Record<string, ModelTask>> = {
  detect: 'object-detection',
  classify: 'image-classification',
  segment: 'instance-segmentation',
  pose: 'pose-estimation',
};

/**
 * Looks at a model and says what it is; throws NotFound or FailedPrecondition. A name is served
 * from its manifest in the store, else its plain folder; a tag with neither picks a variant of
 * the untagged model (`tiny-llama:q4` → onnx/model_q4.onnx of `tiny-llama`, `variantTags`).
 */
export function inspectModelFolder(modelsDir: string, name: string): ModelFolder {
  const parsed = parseModelName(name);
  const resolved = new ModelStore(modelsDir).resolve(parsed);
  if (!resolved) {
    const variants = variantTags[parsed.tag.toLowerCase()];
    if (!variants)
      throw new VmmError(ErrorCode.NotFound, `model "${parsed.canonical}" not found`, { field: 'model' });
    const folder = inspectModelFolder(modelsDir, parsed.path);
    if (!folder.files.some((file) => variants.includes(file.variant))) {
      throw new VmmError(
        ErrorCode.NotFound,
        `model "${parsed.canonical}" not found: "${parsed.path}" has no ${parsed.tag} variant (has ${folder.files.map((file) => file.path).join(', ')})`,
        { field: 'model' },
      );
    }
    return { ...folder, name: parsed.canonical, variants };
  }
  const folder = inspectModelDir(parsed.canonical, resolved.dir);
  return resolved.manifest ? { ...folder, stored: resolved.manifest } : folder;
}

/** Inspects a folder as the model `name` (a store tree before its manifest is written, say). */
export function inspectModelDir(name: string, dir: string): ModelFolder {
  const files = onnxFiles(dir);
  const stats = folderStats(dir);
  const manifestPath = join(dir, 'vmm.json');
  let manifest: VmmManifest | undefined;
  if (existsSync(manifestPath)) {
    const parsed = vmmManifestSchema.safeParse(readJson(manifestPath, `${name}/vmm.json`));
    if (!parsed.success) {
      throw new VmmError(
        ErrorCode.FailedPrecondition,
        `${name}/vmm.json is invalid: ${parsed.error.issues[0]?.message}`,
        {
          cause: parsed.error,
        },
      );
    }
    manifest = parsed.data;
    // What vmm.json names is read later (the labels by /api/show and every classification):
    // it must stay inside the folder.
    if (manifest.model !== undefined) folderPath(dir, manifest.model, `${name}/vmm.json model`);
    if (typeof manifest.labels === 'string') folderPath(dir, manifest.labels, `${name}/vmm.json labels`);
    if (manifest.model !== undefined && !files.some((file) => file.path === manifest?.model)) {
      throw new VmmError(
        ErrorCode.FailedPrecondition,
        `${name}/vmm.json names ${manifest.model}, which is not in the folder`,
      );
    }
  }
  // External data that a graph places outside its file's own folder is refused like a path
  // that climbs out (ONNX Runtime refuses it too, but late and naming server paths; OpenVINO's
  // reader is not known to check).
  for (const file of files) {
    const path = join(dir, file.path);
    for (const location of onnxExternalLocations(path))
      folderPath(dirname(path), location, `${file.path}: external data`);
  }
  if (files.length === 0) {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `model "${name}" has no .onnx file (looked in ${name}/ and ${name}/onnx/)`,
    );
  }
  const base = { name, dir, files, ...stats };

  if (manifest) {
    const main = manifest.model ?? files[0]?.path ?? '';
    return {
      ...base,
      task: manifest.task,
      format: 'manifest',
      manifest,
      metadata: readOnnxMetadata(join(dir, main)).metadata,
    };
  }
  if (existsSync(join(dir, 'config.json'))) {
    const config = readJson(join(dir, 'config.json'), `${name}/config.json`) as {
      model_type?: unknown;
      architectures?: unknown;
    };
    const architectures = Array.isArray(config.architectures) ? config.architectures.map(String) : [];
    // sentence-transformers folders (modules.json) and encoder exports are embedding models.
    const isEncoder =
      existsSync(join(dir, 'modules.json')) ||
      (typeof config.model_type === 'string' && encoderModelTypes.has(config.model_type));
    if (isEncoder) {
      if (!existsSync(join(dir, 'tokenizer.json'))) {
        throw new VmmError(ErrorCode.FailedPrecondition, `model "${name}" has no tokenizer.json`);
      }
      return { ...base, task: 'embedding', format: 'optimum', metadata: {} };
    }
    if (typeof config.model_type === 'string' && visionLanguageModelTypes.has(config.model_type)) {
      const decoders = files.filter((file) => basename(file.path).startsWith(VLM_DECODER));
      const missing = [
        'tokenizer.json',
        'preprocessor_config.json',
        'onnx/vision_encoder.onnx',
        'onnx/embed_tokens.onnx',
      ].filter((file) => !existsSync(join(dir, file)));
      if (decoders.length === 0) missing.push(`onnx/${VLM_DECODER}.onnx`);
      if (missing.length > 0) {
        throw new VmmError(
          ErrorCode.FailedPrecondition,
          `model "${name}" is a ${config.model_type} vision-language model without ${missing.join(', ')}`,
        );
      }
      return {
        ...base,
        files: decoders,
        task: 'text-generation',
        format: 'optimum',
        metadata: {},
        takesImages: true,
      };
    }
    const removesBackground =
      (typeof config.model_type === 'string' && backgroundRemovalTypes.has(config.model_type)) ||
      architectures.some((architecture) => backgroundRemovalArchitectures.has(architecture));
    if (removesBackground) return { ...base, task: 'background-removal', format: 'optimum', metadata: {} };
    const isDecoder =
      architectures.some((architecture) => architecture.endsWith('ForCausalLM')) ||
      (typeof config.model_type === 'string' && decoderModelTypes.has(config.model_type));
    if (!isDecoder) {
      throw new VmmError(
        ErrorCode.FailedPrecondition,
        `model "${name}" is not a decoder-only language model (model_type ${String(config.model_type)}); add a vmm.json to say what it is`,
      );
    }
    if (!existsSync(join(dir, 'tokenizer.json'))) {
      throw new VmmError(ErrorCode.FailedPrecondition, `model "${name}" has no tokenizer.json`);
    }
    return { ...base, task: 'text-generation', format: 'optimum', metadata: {} };
  }
  const [main] = files;
  const metadata = readOnnxMetadata(join(dir, main?.path ?? '')).metadata;
  const task = ultralyticsTasks[metadata.task ?? ''];
  if (!task && metadata.task) {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `model "${name}" is an Ultralytics "${metadata.task.slice(0, 40)}" model; VMM serves ${Object.keys(ultralyticsTasks).join(', ')}`,
    );
  }
  if (!task) {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `model "${name}" does not say what it is: no config.json, no vmm.json, and ${basename(main?.path ?? '')} has no Ultralytics "task" metadata`,
    );
  }
  return { ...base, task, format: 'ultralytics', metadata };
}

/**
 * Every servable model under `modelsDir` by canonical name: plain folders and the store's
 * manifests (a manifest wins over a folder of the same name); those that fail inspection are
 * skipped and reported.
 */
export function listModelFolders(modelsDir: string): {
  models: ModelFolder[];
  problems: { name: string; error: VmmError }[];
} {
  const byName = new Map<string, ModelFolder>();
  const problems: { name: string; error: VmmError }[] = [];
  if (!existsSync(modelsDir)) return { models: [], problems };
  const names = readdirSync(modelsDir, { withFileTypes: true })
    // Dot-folders are the store's own (.vmm) and the like: never models.
    .filter((entry) => (entry.isDirectory() || entry.isSymbolicLink()) && !entry.name.startsWith('.'))
    .map((entry) => entry.name);
  for (const name of [...names, ...new ModelStore(modelsDir).manifestNames()]) {
    try {
      const folder = inspectModelFolder(modelsDir, name);
      byName.set(folder.name, folder);
    } catch (error) {
      problems.push({ name, error: VmmError.from(error) });
    }
  }
  const models = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  return { models, problems };
}

const preference: Readonly<Record<Backend, OnnxVariant[]>> = {
  // fp32 runs fastest on CPUs without native fp16; quantized is smaller but slower to dequantize.
  cpu: [...cpuVariantOrder],
  cuda: [
    'fp16',
    'merged-fp16',
    'fp32',
    'merged',
    'q4f16',
    'q4',
    'quantized',
    'int8',
    'merged-quantized',
    'other',
  ],
  openvino: [
    'fp32',
    'merged',
    'fp16',
    'merged-fp16',
    'quantized',
    'int8',
    'merged-quantized',
    'q4',
    'q4f16',
    'other',
  ],
};

/** The ONNX file to run: the one asked for, else the best variant for the backend. */
export function selectModelFile(folder: ModelFolder, backend: Backend, variant?: OnnxVariant): ModelFile {
  if (folder.manifest?.model !== undefined && variant === undefined && folder.variants === undefined) {
    return folder.files.find((file) => file.path === folder.manifest?.model) as ModelFile;
  }
  const order = variant ? [variant] : (folder.variants ?? preference[backend]);
  for (const wanted of order) {
    const file = folder.files.find((candidate) => candidate.variant === wanted);
    if (file) return file;
  }
  throw new VmmError(
    ErrorCode.NotFound,
    `model "${folder.name}" has no ${variant ?? 'usable'} ONNX file (has ${folder.files.map((f) => f.path).join(', ')})`,
    { field: 'variant' },
  );
}
