import { join } from 'node:path';
import { writeBertFolder } from './bert/write-bert-folder.js';
import { qwen3TokenizerDir } from './family/qwen3-tokenizer.js';
import { writeFamilyFolder } from './family/write-family-folder.js';
import { type LlamaPreset, llamaPresets } from './llama/llama-shape.js';
import { type LlamaVariant, writeLlamaFolder } from './llama/write-llama-folder.js';
import type { LlamaGgufType } from './llama/write-llama-gguf.js';
import { writeMattingFolder } from './vision/matting-graph.js';
import { writeVlmFolder } from './vlm/write-vlm-folder.js';
import {
  writeClassifierFolder,
  writeDetectorFolder,
  writePoseFolder,
  writeSegmenterFolder,
} from './vision/write-vision-folders.js';

export interface DemoOptions {
  preset?: LlamaPreset;
  seed?: number;
  /** Default: every variant for `tiny` (they are small), fp32 alone for the larger presets. */
  variants?: LlamaVariant[];
  /** GGUF copies of the demo LLM's weights for llama.cpp (none by default). */
  gguf?: LlamaGgufType[];
}

export interface DemoModel {
  name: string;
  task:
    | 'text-generation'
    | 'object-detection'
    | 'image-classification'
    | 'instance-segmentation'
    | 'pose-estimation'
    | 'background-removal'
    | 'embedding';
  files: string[];
}

export const DEMO_DETECTOR = 'yolov8n-squares';
export const DEMO_CLASSIFIER = 'colour-classifier';
/** YOLOv8-seg's layout: the squares the detector finds, with their masks. */
export const DEMO_SEGMENTER = 'yolov8n-seg-squares';
/** YOLOv8-pose's layout: a figure with COCO's 17 keypoints in each square. */
export const DEMO_POSE = 'yolov8n-pose-squares';
/** A matting model in transformers.js's background-removal layout: cuts out what differs from the backdrop. */
export const DEMO_MATTING = 'backdrop-cutout';
/** A small sentence encoder, laid out as all-MiniLM-L6-v2 is (random weights, tiny width). */
export const DEMO_EMBEDDER = 'mini-embed';
/**
 * A Qwen 3-shaped decoder (Q/K norms, tied head, 151 936-token vocabulary; random weights, tiny
 * width) with Qwen 3's real tokenizer and chat template: chat, tools and thinking as a user sees
 * them run on a real model's template. Optimum's layout, fp32 and int4.
 */
export const DEMO_QWEN3 = 'qwen3-demo';

/**
 * A SmolVLM-laid-out vision-language model (onnx-community's Idefics3 export: vision encoder,
 * token embedding, decoder on inputs_embeds; SmolVLM's processor and chat template): chat with
 * images. Its weights are random: what it writes is gibberish from the fixtures' vocabulary, but
 * a different picture makes it write something different. Long side 1024 (SmolVLM's own is
 * 2048), so a picture is at most 2×2 tiles and the whole: 320 image rows.
 */
export const DEMO_VLM = 'smolvlm-demo';

export function demoLlamaName(preset: LlamaPreset): string {
  return preset === 'tinyllama' ? 'tinyllama-1.1b' : `${preset}-llama`;
}

/** Writes the demo set, one folder per model, into `out`: what `npm start` serves. */
export function writeDemoModels(out: string, options: DemoOptions = {}): DemoModel[] {
  const preset = options.preset ?? 'tiny';
  if (!(preset in llamaPresets)) throw new RangeError(`unknown preset "${preset}"`);
  const llamaName = demoLlamaName(preset);
  const llama = writeLlamaFolder(join(out, llamaName), {
    preset,
    seed: options.seed ?? 0,
    variants: options.variants ?? (preset === 'tiny' ? ['fp32', 'fp16', 'merged', 'int8', 'q4'] : ['fp32']),
    ...(options.gguf ? { gguf: options.gguf } : {}),
  });
  return [
    { name: llamaName, task: 'text-generation', files: llama.files },
    { name: DEMO_DETECTOR, task: 'object-detection', files: writeDetectorFolder(join(out, DEMO_DETECTOR)) },
    {
      name: DEMO_CLASSIFIER,
      task: 'image-classification',
      files: writeClassifierFolder(join(out, DEMO_CLASSIFIER)),
    },
    {
      name: DEMO_SEGMENTER,
      task: 'instance-segmentation',
      files: writeSegmenterFolder(join(out, DEMO_SEGMENTER)),
    },
    { name: DEMO_POSE, task: 'pose-estimation', files: writePoseFolder(join(out, DEMO_POSE)) },
    { name: DEMO_MATTING, task: 'background-removal', files: writeMattingFolder(join(out, DEMO_MATTING)) },
    { name: DEMO_EMBEDDER, task: 'embedding', files: writeBertFolder(join(out, DEMO_EMBEDDER)) },
    { name: DEMO_QWEN3, task: 'text-generation', files: writeQwen3Demo(join(out, DEMO_QWEN3), options.seed) },
    {
      name: DEMO_VLM,
      task: 'text-generation',
      files: writeVlmFolder(join(out, DEMO_VLM), {
        layout: 'idefics3',
        seed: options.seed ?? 0,
        processor: { longestEdge: 1024 },
      }).files,
    },
  ];
}

/** Writes the demo set's Qwen 3-shaped model (DEMO_QWEN3) into `dir`; returns its files. */
export function writeQwen3Demo(dir: string, seed = 0): string[] {
  return writeFamilyFolder(dir, {
    family: 'qwen3',
    layout: 'optimum',
    tokenizerDir: qwen3TokenizerDir(),
    // Narrower than the test preset: the real vocabulary's embedding is most of the file.
    shape: { hiddenSize: 32, intermediateSize: 96 },
    seed,
    variants: ['fp32', 'q4'],
  }).files;
}
