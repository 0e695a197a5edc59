import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder } from '../onnx/graph-builder.js';
import { writeOnnxModel } from '../onnx/write-onnx-model.js';
import { addClassifier, CLASSIFIER_SIZE, IMAGENET_MEAN, IMAGENET_STD } from './classifier-graph.js';
import { classifierColours, detectorColours } from './colours.js';
import { addDetector, DETECTOR_CLASSES, DETECTOR_SIZE } from './detector-graph.js';
import { addPoseModel } from './pose-graph.js';
import { addSegmenter } from './segmentation-graph.js';

export interface DetectorFolderOptions {
  /** A fixed batch of 1 (`images` [1, 3, 640, 640]) instead of a dynamic batch dimension. */
  staticBatch?: boolean;
  /** The ONNX file name; Ultralytics names it after the weights (yolov8n.onnx). */
  fileName?: string;
  /**
   * A graph whose every run spins for ever inside ONNX Runtime (a Loop with an unreachable trip
   * count) under the same layout and metadata: for the tests of what a worker does with a
   * native run that never returns.
   */
  neverReturns?: boolean;
  /** float16 images in and output out, as Ultralytics' `half=True` writes. */
  half?: boolean;
}

export const DETECTOR_FILE = 'yolov8n-squares.onnx';

/** Class names of the detector: the colours first, then placeholders up to COCO's 80. */
export const detectorLabels: readonly string[] = Array.from(
  { length: DETECTOR_CLASSES },
  (_, i) => detectorColours[i]?.name ?? `class_${i}`,
);

/** As Ultralytics writes `names`: a Python dict literal (repr), not JSON. */
export function pythonDictLiteral(labels: readonly string[]): string {
  const repr = (text: string) =>
    text.includes("'") && !text.includes('"')
      ? `"${text}"`
      : `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  return `{${labels.map((label, i) => `${i}: ${repr(label)}`).join(', ')}}`;
}

/**
 * The metadata_props an Ultralytics detector export carries (task, stride, imgsz, names as a
 * Python dict literal, the export's args), for a 640×640 model of `labels`.
 */
export function ultralyticsDetectMetadata(
  description: string,
  labels: readonly string[],
  args: { half: boolean; int8?: boolean; dynamic: boolean },
  task: 'detect' | 'segment' | 'pose' = 'detect',
): Record<string, string> {
  const python = (flag: boolean) => (flag ? 'True' : 'False');
  const int8 = args.int8 === undefined ? '' : ` 'int8': ${python(args.int8)},`;
  return {
    description,
    author: 'VMM model-fixtures',
    date: '2026-01-01T00:00:00',
    version: '8.3.0',
    license: 'Apache-2.0',
    docs: 'https://docs.ultralytics.com',
    stride: '32',
    task,
    batch: '1',
    imgsz: '[640, 640]',
    names: pythonDictLiteral(labels),
    args: `{'batch': 1, 'half': ${python(args.half)},${int8} 'dynamic': ${python(args.dynamic)}, 'simplify': True, 'opset': 17, 'nms': False}`,
    // Pose exports say how many keypoints and values per point they write.
    ...(task === 'pose' ? { kpt_shape: '[17, 3]' } : {}),
  };
}

/** Writes an Ultralytics-style YOLOv8 export: one .onnx file whose metadata_props describe it. */
export function writeDetectorFolder(dir: string, options: DetectorFolderOptions = {}): string[] {
  mkdirSync(dir, { recursive: true });
  const graph = GraphBuilder.create('main_graph');
  if (options.neverReturns) addEndlessDetector(graph);
  else addDetector(graph, options.staticBatch ? 1 : 'batch', options.half ? 'float16' : 'float32');
  return writeOnnxModel(join(dir, options.fileName ?? DETECTOR_FILE), graph, {
    opset: 17,
    docString: 'VMM fixture: YOLOv8-layout detector of solid coloured squares',
    metadata: ultralyticsDetectMetadata(
      'VMM fixture standing in for Ultralytics YOLOv8n: detects solid coloured squares',
      detectorLabels,
      { half: options.half ?? false, dynamic: !options.staticBatch },
    ),
  });
}

export interface InstanceFolderOptions {
  /** A fixed batch of 1 (as Ultralytics exports by default) instead of a dynamic batch. */
  staticBatch?: boolean;
  /** float16 images in and outputs out, as `half=True` writes. */
  half?: boolean;
}

export const SEGMENTER_FILE = 'yolov8n-seg-squares.onnx';
export const POSE_FILE = 'yolov8n-pose-squares.onnx';
export const poseLabels: readonly string[] = ['person'];

/** The demo detector's graph with another YOLOv8 head: its file, graph, labels and words. */
const instanceKinds = {
  segment: {
    file: SEGMENTER_FILE,
    add: addSegmenter,
    labels: detectorLabels,
    docString: 'VMM fixture: YOLOv8-seg-layout segmentation of solid coloured squares',
    description: 'VMM fixture standing in for Ultralytics YOLOv8n-seg: segments solid coloured squares',
  },
  pose: {
    file: POSE_FILE,
    add: addPoseModel,
    labels: poseLabels,
    docString: 'VMM fixture: YOLOv8-pose-layout keypoints of solid coloured squares',
    description:
      'VMM fixture standing in for Ultralytics YOLOv8n-pose: a figure in each solid coloured square',
  },
} as const;

function writeInstanceFolder(
  dir: string,
  kind: 'segment' | 'pose',
  options: InstanceFolderOptions,
): string[] {
  const { file, add, labels, docString, description } = instanceKinds[kind];
  mkdirSync(dir, { recursive: true });
  const graph = GraphBuilder.create('main_graph');
  add(graph, options.staticBatch ? 1 : 'batch', options.half ? 'float16' : 'float32');
  return writeOnnxModel(join(dir, file), graph, {
    opset: 17,
    docString,
    metadata: ultralyticsDetectMetadata(
      description,
      labels,
      { half: options.half ?? false, dynamic: !options.staticBatch },
      kind,
    ),
  });
}

/**
 * Writes an Ultralytics-style YOLOv8-seg export whose masks are the coloured squares it finds
 * (addSegmenter): output0 [batch, 116, 8400] and output1 [batch, 32, 160, 160].
 */
export function writeSegmenterFolder(dir: string, options: InstanceFolderOptions = {}): string[] {
  return writeInstanceFolder(dir, 'segment', options);
}

/**
 * Writes an Ultralytics-style YOLOv8-pose export that sees each coloured square as a person
 * with COCO's 17 keypoints at DEMO_KEYPOINT_LAYOUT (addPoseModel): output0 [batch, 56, 8400].
 */
export function writePoseFolder(dir: string, options: InstanceFolderOptions = {}): string[] {
  return writeInstanceFolder(dir, 'pose', options);
}

export const classifierLabels: readonly string[] = classifierColours.map((colour) => colour.name);

/** Writes an image classifier folder: model.onnx, labels.txt and the vmm.json manifest. */
export function writeClassifierFolder(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const graph = GraphBuilder.create('classifier');
  addClassifier(graph);
  const files = writeOnnxModel(join(dir, 'model.onnx'), graph, {
    opset: 17,
    docString: 'VMM fixture: which colour dominates an image',
  });
  writeFileSync(join(dir, 'labels.txt'), `${classifierLabels.join('\n')}\n`);
  const manifest = {
    task: 'image-classification',
    model: 'model.onnx',
    labels: 'labels.txt',
    preprocess: {
      resize: 256,
      crop: CLASSIFIER_SIZE,
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
      layout: 'NCHW',
      channels: 'RGB',
      scale: 1 / 255,
    },
    output: { softmax: true },
  };
  writeFileSync(join(dir, 'vmm.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return [...files, join(dir, 'labels.txt'), join(dir, 'vmm.json')];
}

/** `images` [1, 3, 640, 640] → `output0` [1, 84, 8400], by way of a Loop that never ends. */
function addEndlessDetector(graph: GraphBuilder): void {
  const images = graph.input('images', 'float32', [1, 3, DETECTOR_SIZE, DETECTOR_SIZE]);
  // The loop's start depends on the input, so that nothing folds it away at load.
  const start = graph.node('ReduceSum', [images], { keepdims: { int: 0 } });
  const body = graph.subgraph('spin', 'spin/');
  body.input('spin/i', 'int64', []);
  const condIn = body.input('spin/cond_in', 'bool', []);
  const accIn = body.input('spin/acc_in', 'float32', []);
  body.output(body.node('Identity', [condIn]), 'spin/cond_out', 'bool', []);
  body.output(body.node('Add', [accIn, body.constant('float32', [1], [])]), 'spin/acc_out', 'float32', []);
  const total = graph.node(
    'Loop',
    [graph.constant('int64', [1e15], []), graph.constant('bool', [1], []), start],
    { body: { graph: body.graphProto() } },
  );
  const anchors = (DETECTOR_SIZE / 8) ** 2 + (DETECTOR_SIZE / 16) ** 2 + (DETECTOR_SIZE / 32) ** 2;
  const shaped = graph.node('Reshape', [total, graph.constant('int64', [1, 1, 1])]);
  const output = graph.node('Expand', [shaped, graph.constant('int64', [1, 4 + DETECTOR_CLASSES, anchors])]);
  graph.output(output, 'output0', 'float32', [1, 4 + DETECTOR_CLASSES, anchors]);
}
