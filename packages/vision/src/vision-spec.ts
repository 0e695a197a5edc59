import { existsSync, readFileSync, statSync } from 'node:fs';
import { ErrorCode, VmmError } from '@vmm/errors';
import {
  checkLabelCount,
  checkLabels,
  checkLabelsFileSize,
  folderPath,
  type ModelFolder,
  type ModelSession,
  readFolderJson,
} from '@vmm/runtime';
import type { ClassifierPreprocess } from './image-input.js';
import { COCO_KEYPOINTS, COCO_SKELETON, type KeypointShape } from './pose-output.js';
import { parseImageSize, parseKeypointShape, parseNames } from './python-literal.js';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
export const LETTERBOX_PAD = 114;

export type VisionTask =
  | 'object-detection'
  | 'image-classification'
  | 'instance-segmentation'
  | 'pose-estimation'
  | 'background-removal';

/** The tasks whose output is YOLOv8's detection head (with values after the class scores for some). */
const detectionHeads: readonly VisionTask[] = [
  'object-detection',
  'instance-segmentation',
  'pose-estimation',
];

/** YOLOv8-seg's prototype masks, when the graph does not say how many. */
const DEFAULT_MASK_CHANNELS = 32;

/** Everything a vision runner needs to know about its model, from the folder and session. */
export interface VisionSpec {
  task: VisionTask;
  inputName: string;
  /** float32, or float16 for half exports (images fed as float16, outputs read as float16). */
  inputType: 'float32' | 'float16';
  outputName: string;
  width: number;
  height: number;
  /** A fixed batch size, or "dynamic". */
  batch: number | 'dynamic';
  labels: string[];
  /** Classification only. */
  classifier?: ClassifierPreprocess;
  /** Classification: whether outputs are already probabilities; undefined = look at them. */
  softmaxInGraph?: boolean;
  /**
   * Values per anchor after the class scores in a detection head's output: the mask
   * coefficients of -seg, the keypoint values of -pose; 0 for a plain detector.
   */
  extraChannels: number;
  /** Segmentation: the output of prototype masks, [batch, maskChannels, height / 4, width / 4]. */
  protoName?: string;
  /** Pose: the keypoints each detection carries. */
  keypoints?: KeypointShape;
  /** Background removal: how images are fed (stretched to the input, normalised) and the matte read. */
  matte?: MatteSpec;
}

export interface MatteSpec {
  mean: readonly number[];
  std: readonly number[];
  /** Whether the matte is logits still to go through a sigmoid; undefined = look at the values. */
  sigmoid?: boolean;
}

/** IS-Net's and RMBG's normalisation, what an export that says nothing most likely takes. */
const MATTE_MEAN = [0.5, 0.5, 0.5] as const;
const MATTE_STD = [1, 1, 1] as const;

/**
 * What a Hugging Face image processor (preprocessor_config.json, as transformers.js reads it)
 * says of the size and normalisation, where a folder has one.
 */
function imageProcessor(folder: ModelFolder): {
  width?: number;
  height?: number;
  mean?: number[];
  std?: number[];
} {
  const config = readFolderJson(folder.dir, 'preprocessor_config.json');
  if (!config) return {};
  const size = config.size as { width?: unknown; height?: unknown; shortest_edge?: unknown } | undefined;
  const number = (value: unknown) => (typeof value === 'number' && value > 0 ? value : undefined);
  const triple = (value: unknown) =>
    Array.isArray(value) && value.length === 3 && value.every((v) => typeof v === 'number')
      ? (value as number[])
      : undefined;
  const normalize = config.do_normalize !== false;
  const width = number(size?.width) ?? number(size?.shortest_edge);
  const height = number(size?.height) ?? number(size?.shortest_edge);
  const mean = normalize ? triple(config.image_mean) : [0, 0, 0];
  const std = normalize ? triple(config.image_std) : [1, 1, 1];
  return {
    ...(width ? { width } : {}),
    ...(height ? { height } : {}),
    ...(mean ? { mean } : {}),
    ...(std ? { std } : {}),
  };
}

function labelsFrom(folder: ModelFolder): string[] | undefined {
  const labels = folder.manifest?.labels;
  if (Array.isArray(labels)) return labels;
  if (typeof labels === 'string') {
    const path = folderPath(folder.dir, labels, `${folder.name}: vmm.json labels`);
    if (!existsSync(path))
      throw new VmmError(ErrorCode.FailedPrecondition, `${folder.name}: labels file ${labels} is missing`);
    checkLabelsFileSize(statSync(path).size, folder.name);
    return readFileSync(path, 'utf8')
      .split(/\r?\n/)
      .filter((line) => line.length > 0);
  }
  if (folder.metadata.names !== undefined) return parseNames(folder.metadata.names);
  const id2label = readFolderJson(folder.dir, 'config.json')?.id2label;
  if (typeof id2label === 'object' && id2label !== null) return parseNames(JSON.stringify(id2label));
  return undefined;
}

export function visionSpec(folder: ModelFolder, session: ModelSession): VisionSpec {
  if (folder.task === 'text-generation' || folder.task === 'embedding') {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `model "${folder.name}" is a ${folder.task} model; it has no vision runner`,
    );
  }
  const task = folder.task;
  const input = session.inputs[0];
  // A matting model may have side outputs (U²-Net's d1…d6): the matte is the first one-channel map.
  const named = task === 'background-removal' ? folder.manifest?.output?.name : undefined;
  if (named !== undefined && !session.outputs.some((o) => o.name === named)) {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `${folder.name}/vmm.json names the matte output "${named}"; the model's outputs are ${session.outputs.map((o) => o.name).join(', ')}`,
    );
  }
  const matte =
    task !== 'background-removal'
      ? undefined
      : named !== undefined
        ? session.outputs.find((o) => o.name === named)
        : (session.outputs.find((o) => o.shape.length === 4 && o.shape[1] === 1) ??
          session.outputs.find((o) => o.shape.length === 3));
  // A -seg export has two outputs: the detection head (rank 3) and the prototype masks (rank 4).
  const protos =
    task === 'instance-segmentation' ? session.outputs.find((o) => o.shape.length === 4) : undefined;
  const output = protos
    ? session.outputs.find((o) => o !== protos)
    : task === 'background-removal'
      ? matte
      : session.outputs[0];
  if (task === 'background-removal' && !output) {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `model "${folder.name}" is a background-removal model without a one-channel matte output ([batch, 1, height, width])`,
    );
  }
  if (task === 'instance-segmentation' && (!protos || !output)) {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `model "${folder.name}" is a segmentation model without YOLOv8-seg's two outputs (detections and [batch, 32, height, width] prototype masks)`,
    );
  }
  if (!input || !output || input.shape.length !== 4) {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `model "${folder.name}" does not take one NCHW image tensor`,
    );
  }
  if (input.type !== 'float32' && input.type !== 'float16') {
    throw new VmmError(
      ErrorCode.FailedPrecondition,
      `model "${folder.name}" takes ${input.type} images; VMM feeds float32 or float16`,
    );
  }
  const [batchDim, , heightDim, widthDim] = input.shape;
  const processor = task === 'background-removal' ? imageProcessor(folder) : {};
  const preprocess = { ...processor, ...folder.manifest?.preprocess };
  const metadataSize = folder.metadata.imgsz ? parseImageSize(folder.metadata.imgsz) : undefined;
  const height =
    typeof heightDim === 'number'
      ? heightDim
      : (preprocess.height ??
        preprocess.crop ??
        metadataSize?.[0] ??
        (task === 'background-removal' ? 1024 : 640));
  const width =
    typeof widthDim === 'number'
      ? widthDim
      : (preprocess.width ??
        preprocess.crop ??
        metadataSize?.[1] ??
        (task === 'background-removal' ? 1024 : 640));
  const keypoints = task === 'pose-estimation' ? keypointShape(folder) : undefined;
  const maskChannels = typeof protos?.shape[1] === 'number' ? protos.shape[1] : DEFAULT_MASK_CHANNELS;
  const extraChannels = protos ? maskChannels : keypoints ? keypoints.count * keypoints.values : 0;
  const outputClasses = typeof output.shape[1] === 'number' ? output.shape[1] : undefined;
  const detectionHead = detectionHeads.includes(task);
  const classes = detectionHead
    ? (outputClasses ?? 4 + (task === 'pose-estimation' ? 1 : 80) + extraChannels) - 4 - extraChannels
    : task === 'background-removal'
      ? 0
      : (outputClasses ?? 0);
  // A graph may declare any output size: checked before an array of that many names is made.
  checkLabelCount(classes, folder.name);
  const labels = labelsFrom(folder) ?? Array.from({ length: Math.max(0, classes) }, (_, i) => `class_${i}`);
  checkLabels(labels, folder.name);
  const spec: VisionSpec = {
    task,
    inputName: input.name,
    inputType: input.type,
    outputName: output.name,
    width,
    height,
    batch: typeof batchDim === 'number' ? batchDim : 'dynamic',
    labels,
    extraChannels,
    ...(protos ? { protoName: protos.name } : {}),
    ...(keypoints ? { keypoints } : {}),
  };
  if (folder.task === 'image-classification') {
    // Ultralytics classifiers take plain /255 pixels; other exports ImageNet-normalised ones.
    const ultralytics = folder.format === 'ultralytics';
    spec.classifier = {
      resize: preprocess.resize ?? Math.round(Math.max(width, height) / 0.875),
      width,
      height,
      mean: preprocess.mean ?? (ultralytics ? [0, 0, 0] : IMAGENET_MEAN),
      std: preprocess.std ?? (ultralytics ? [1, 1, 1] : IMAGENET_STD),
    };
    const softmax = folder.manifest?.output?.softmax ?? (ultralytics ? true : undefined);
    if (softmax !== undefined) spec.softmaxInGraph = softmax;
  }
  if (task === 'background-removal') {
    const sigmoid = folder.manifest?.output?.sigmoid;
    spec.matte = {
      mean: preprocess.mean ?? MATTE_MEAN,
      std: preprocess.std ?? MATTE_STD,
      ...(sigmoid === undefined ? {} : { sigmoid }),
    };
  }
  return spec;
}

/** A pose model's keypoints: Ultralytics' `kpt_shape` metadata (COCO's 17 with visibility by default). */
function keypointShape(folder: ModelFolder): KeypointShape {
  const [count, values]: [number, 2 | 3] = folder.metadata.kpt_shape
    ? parseKeypointShape(folder.metadata.kpt_shape)
    : [17, 3];
  const coco = count === COCO_KEYPOINTS.length;
  return {
    count,
    values,
    names: Array.from({ length: count }, (_, i) => (coco ? COCO_KEYPOINTS[i] : undefined) ?? `keypoint_${i}`),
    skeleton: coco ? COCO_SKELETON.map(([a, b]) => [a, b]) : [],
  };
}
