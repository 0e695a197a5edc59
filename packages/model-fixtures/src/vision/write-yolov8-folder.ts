import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder } from '../onnx/graph-builder.js';
import { writeOnnxModel } from '../onnx/write-onnx-model.js';
import { ultralyticsDetectMetadata } from './write-vision-folders.js';
import { addYoloV8, type YoloV8Head, type YoloV8Precision, type YoloV8Scale } from './yolov8-graph.js';

/** COCO's 80 class names, in the order Ultralytics' coco.yaml gives them. */
export const cocoLabels: readonly string[] = [
  'person',
  'bicycle',
  'car',
  'motorcycle',
  'airplane',
  'bus',
  'train',
  'truck',
  'boat',
  'traffic light',
  'fire hydrant',
  'stop sign',
  'parking meter',
  'bench',
  'bird',
  'cat',
  'dog',
  'horse',
  'sheep',
  'cow',
  'elephant',
  'bear',
  'zebra',
  'giraffe',
  'backpack',
  'umbrella',
  'handbag',
  'tie',
  'suitcase',
  'frisbee',
  'skis',
  'snowboard',
  'sports ball',
  'kite',
  'baseball bat',
  'baseball glove',
  'skateboard',
  'surfboard',
  'tennis racket',
  'bottle',
  'wine glass',
  'cup',
  'fork',
  'knife',
  'spoon',
  'bowl',
  'banana',
  'apple',
  'sandwich',
  'orange',
  'broccoli',
  'carrot',
  'hot dog',
  'pizza',
  'donut',
  'cake',
  'chair',
  'couch',
  'potted plant',
  'bed',
  'dining table',
  'toilet',
  'tv',
  'laptop',
  'mouse',
  'remote',
  'keyboard',
  'cell phone',
  'microwave',
  'oven',
  'toaster',
  'sink',
  'refrigerator',
  'book',
  'clock',
  'vase',
  'scissors',
  'teddy bear',
  'hair drier',
  'toothbrush',
];

export interface YoloV8FolderOptions {
  scale: YoloV8Scale;
  precision?: YoloV8Precision;
  /** `dynamic=True`: the batch dimension is named instead of 1. */
  dynamicBatch?: boolean;
  seed?: number;
  /** Detect (default), Segment (yolov8n-seg) or Pose (yolov8n-pose). */
  head?: YoloV8Head;
}

/**
 * Writes a compute-real YOLOv8 export (see addYoloV8) as Ultralytics names and describes it:
 * `yolov8n.onnx` with Ultralytics' metadata_props (task, stride, imgsz, names as a Python dict,
 * the export's args). Returns the files written.
 */
export function writeYoloV8Folder(dir: string, options: YoloV8FolderOptions): string[] {
  const precision = options.precision ?? 'fp32';
  const head = options.head ?? 'detect';
  mkdirSync(dir, { recursive: true });
  const graph = GraphBuilder.create('main_graph');
  addYoloV8(graph, options.scale, precision, options.dynamicBatch ? 'batch' : 1, options.seed, head);
  const name = `yolov8${options.scale}${head === 'detect' ? '' : head === 'segment' ? '-seg' : '-pose'}`;
  return writeOnnxModel(join(dir, `${name}.onnx`), graph, {
    opset: 17,
    docString: `VMM fixture: the ${name} architecture with random weights (${precision})`,
    metadata: ultralyticsDetectMetadata(
      `VMM fixture: Ultralytics ${name} architecture, random weights (compute-real, finds nothing)`,
      head === 'pose' ? ['person'] : cocoLabels,
      { half: precision === 'fp16', int8: precision === 'int8', dynamic: options.dynamicBatch ?? false },
      head,
    ),
  });
}
