export { VisionRunner, type VisionRunnerOptions, type VisionCallOptions } from './vision-runner.js';
export type {
  BackgroundResult,
  MatteOutput,
  RemoveBackgroundOptions,
  ClassifyOptions,
  ClassifyResult,
  Classification,
  DetectOptions,
  DetectResult,
  Detection,
  ImageSize,
  Keypoint,
  Pose,
  PoseResult,
  RleMask,
  Segment,
  SegmentOptions,
  SegmentResult,
  VisionTimings,
} from './types.js';
export type { MatteSpec, VisionSpec, VisionTask } from './vision-spec.js';
export { COCO_KEYPOINTS, COCO_SKELETON, type KeypointShape } from './pose-output.js';
export { decodeRle, encodeRle, traceOutlines, type BoxMask } from './segmentation-output.js';
export type { Box, Letterbox } from './letterbox.js';
export { letterbox, toOriginal } from './letterbox.js';
export { nonMaxSuppression, iou, type Candidate } from './nms.js';
export { parseNames, parseImageSize } from './python-literal.js';
export { probeImage, DEFAULT_MAX_PIXELS, SUPPORTED_FORMATS, type ImageInfo } from './image-input.js';
export { resolveDetectOptions, resolveClassifyOptions, MAX_DETECTIONS_LIMIT } from './vision-options.js';
export { idefics3Image, type Idefics3ImageSpec, type TiledImage } from './idefics3-image.js';
export { OneAtATime } from './one-at-a-time.js';
export { qwen2VlImage, smartResize, type Qwen2VlImageSpec, type PatchedImage } from './qwen2-vl-image.js';
