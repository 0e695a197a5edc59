import type { Letterbox } from './letterbox.js';
import type { ImageSize, Keypoint } from './types.js';

/** COCO's 17 keypoints, in the order YOLOv8-pose (trained on COCO-Pose) writes them. */
export const COCO_KEYPOINTS: readonly string[] = [
  'nose',
  'left_eye',
  'right_eye',
  'left_ear',
  'right_ear',
  'left_shoulder',
  'right_shoulder',
  'left_elbow',
  'right_elbow',
  'left_wrist',
  'right_wrist',
  'left_hip',
  'right_hip',
  'left_knee',
  'right_knee',
  'left_ankle',
  'right_ankle',
];

/** COCO's limbs as Ultralytics draws them (its 1-based `skeleton`, here 0-based). */
export const COCO_SKELETON: readonly [number, number][] = [
  [15, 13],
  [13, 11],
  [16, 14],
  [14, 12],
  [11, 12],
  [5, 11],
  [6, 12],
  [5, 6],
  [5, 7],
  [6, 8],
  [7, 9],
  [8, 10],
  [1, 2],
  [0, 1],
  [0, 2],
  [1, 3],
  [2, 4],
  [3, 5],
  [4, 6],
];

/** What a pose model's keypoints are: how many, values per point (x, y and maybe visibility), names. */
export interface KeypointShape {
  count: number;
  /** 2 (x, y) or 3 (x, y, visibility), as Ultralytics' `kpt_shape`. */
  values: 2 | 3;
  names: string[];
  skeleton: [number, number][];
}

/**
 * One detection's keypoints from the values after its class score ([x, y(, visibility)] per
 * point, input pixels; visibility already a sigmoid in an Ultralytics export), mapped back
 * through the letterbox and clipped to the image as Ultralytics' scale_coords does.
 */
export function readKeypoints(
  values: Float32Array,
  shape: KeypointShape,
  geometry: Letterbox,
  size: ImageSize,
): Keypoint[] {
  const clip = (value: number, max: number) => Math.min(Math.max(value, 0), max);
  return Array.from({ length: shape.count }, (_, i) => {
    const at = i * shape.values;
    return {
      name: shape.names[i] ?? `keypoint_${i}`,
      x: clip(((values[at] as number) - geometry.left) / geometry.scale, size.width),
      y: clip(((values[at + 1] as number) - geometry.top) / geometry.scale, size.height),
      score: shape.values === 3 ? (values[at + 2] as number) : 1,
    };
  });
}
