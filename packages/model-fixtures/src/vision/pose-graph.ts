import type { GraphBuilder } from '../onnx/graph-builder.js';
import { addDetectorParts, writeOutput } from './detector-graph.js';

/**
 * Where the demo pose model puts COCO's 17 keypoints in each square it finds, as fractions of
 * the square's side from its top-left corner (a figure facing the viewer: its left is the
 * image's right).
 */
export const DEMO_KEYPOINT_LAYOUT: readonly (readonly [number, number])[] = [
  [0.5, 0.12], // nose
  [0.55, 0.08], // left_eye
  [0.45, 0.08], // right_eye
  [0.6, 0.1], // left_ear
  [0.4, 0.1], // right_ear
  [0.65, 0.28], // left_shoulder
  [0.35, 0.28], // right_shoulder
  [0.75, 0.42], // left_elbow
  [0.25, 0.42], // right_elbow
  [0.8, 0.56], // left_wrist
  [0.2, 0.56], // right_wrist
  [0.6, 0.58], // left_hip
  [0.4, 0.58], // right_hip
  [0.62, 0.76], // left_knee
  [0.38, 0.76], // right_knee
  [0.64, 0.94], // left_ankle
  [0.36, 0.94], // right_ankle
];

/**
 * The demo detector with YOLOv8-pose's layout (`output0` [batch, 4 + 1 + 17 × 3, 8400]; one
 * class, "person"): every square it finds is a person, scored as the detector scores the
 * square, with its keypoints at DEMO_KEYPOINT_LAYOUT in the square and each keypoint's
 * visibility the person's score.
 */
export function addPoseModel(
  graph: GraphBuilder,
  batch: number | 'batch',
  io: 'float32' | 'float16' = 'float32',
): void {
  const parts = addDetectorParts(graph, batch, io);
  const [cx, cy, w, h] = parts.boxes as [string, string, string, string];
  const points = DEMO_KEYPOINT_LAYOUT.length;
  const person = graph.node('ReduceMax', [parts.classScores], {
    axes: { ints: [1] },
    keepdims: { int: 1 },
  });
  const along = (centre: string, side: string, fractions: number[]) =>
    graph.node('Add', [
      centre,
      graph.node('Mul', [
        side,
        graph.constant(
          'float32',
          fractions.map((f) => f - 0.5),
          [1, points, 1],
        ),
      ]),
    ]);
  const x = along(
    cx,
    w,
    DEMO_KEYPOINT_LAYOUT.map(([fx]) => fx),
  );
  const y = along(
    cy,
    h,
    DEMO_KEYPOINT_LAYOUT.map(([, fy]) => fy),
  );
  const visible = graph.node('Mul', [
    person,
    graph.constant('float32', new Array<number>(points).fill(1), [1, points, 1]),
  ]);
  const axis2 = graph.constant('int64', [2]);
  // [batch, 17, 3, anchors] → [batch, 51, anchors]: x, y, visibility of each point in turn.
  const keypoints = graph.node('Reshape', [
    graph.node(
      'Concat',
      [x, y, visible].map((value) => graph.node('Unsqueeze', [value, axis2])),
      { axis: { int: 2 } },
    ),
    graph.constant('int64', [0, points * 3, -1]),
  ]);
  const joined = graph.node('Concat', [...parts.boxes, person, keypoints], { axis: { int: 1 } });
  writeOutput(graph, joined, 'output0', io, [batch, 4 + 1 + points * 3, parts.anchors]);
}
