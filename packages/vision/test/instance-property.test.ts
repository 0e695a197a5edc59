// The demo segmentation and pose models as properties, on the random scenes of the detector's
// property test (any size and aspect ratio, squares anywhere, off-pure colours, JPEG edges):
// each square's mask is the square — every pixel set inside it and none outside, but for a band
// at its edge as wide as one model-input pixel is in the image (resizing blurs the edge) — its
// outline runs along that edge, and a pose's keypoints sit where the model puts them in the
// square. A failure names the seeds to replay; VMM_SCENE_SEED shifts the seed range.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEMO_KEYPOINT_LAYOUT,
  type RandomScene,
  writePoseFolder,
  writeSegmenterFolder,
} from '@vmm/model-fixtures';
import { inspectModelFolder, selectModelFile } from '@vmm/runtime';
import { sceneImage } from './random-scene-image.js';
import { COCO_KEYPOINTS, decodeRle, type Detection, iou, type Segment, VisionRunner } from '../src/index.js';

const SCENES = 120;
const CHUNK = 40;
const firstSeed = Number(process.env.VMM_SCENE_SEED ?? 0) + 100_000;
const root = mkdtempSync(join(tmpdir(), 'vmm-instance-property-'));
let segmenter: VisionRunner;
let poser: VisionRunner;

async function open(name: string): Promise<VisionRunner> {
  const folder = inspectModelFolder(root, name);
  return VisionRunner.open({
    folder,
    file: selectModelFile(folder, 'cpu').path,
    // One thread: the suite runs beside others on two cores.
    session: { backend: 'cpu', intraOpThreads: 1 },
    maxBatch: 4,
  });
}

beforeAll(async () => {
  writeSegmenterFolder(join(root, 'seg'));
  writePoseFolder(join(root, 'pose'));
  [segmenter, poser] = await Promise.all([open('seg'), open('pose')]);
});

afterAll(async () => {
  await Promise.all([segmenter?.close(), poser?.close()]);
  rmSync(root, { recursive: true, force: true });
});

/**
 * How wide the band at a square's edge is where a mask may differ from the square: image pixels
 * per model-input pixel (at least 1; resizing blurs the edge), and one more in a JPEG, whose
 * compression smears an off-pure colour's edge so that the box (which crops the mask) can land
 * a pixel or two inside it.
 */
function band(scene: RandomScene, format: string): number {
  return Math.max(1, Math.ceil(Math.max(scene.width, scene.height) / 640)) + (format === 'png' ? 0 : 1);
}

/** The detection for each square (label and IoU ≥ 0.8), and what else was found. */
function matchSquares<D extends Detection>(
  scene: RandomScene,
  found: readonly D[],
): { pairs: [RandomScene['squares'][number], D][]; problems: string[] } {
  const pairs: [RandomScene['squares'][number], D][] = [];
  const problems: string[] = [];
  const used = new Set<D>();
  for (const square of scene.squares) {
    const truth = { x1: square.x, y1: square.y, x2: square.x + square.size, y2: square.y + square.size };
    const matches = found.filter((d) => d.label === square.label && iou(d.box, truth) >= 0.8);
    if (matches.length !== 1)
      problems.push(`${matches.length} matches for ${square.label} at ${square.x},${square.y}`);
    for (const match of matches) used.add(match);
    if (matches[0]) pairs.push([square, matches[0]]);
  }
  const extra = found.filter((d) => !used.has(d));
  if (extra.length > 0) problems.push(`${extra.length} extra`);
  return { pairs, problems };
}

/** What is wrong with one square's mask and outline, as lines; none when all is well. */
function maskProblems(
  scene: RandomScene,
  format: string,
  square: RandomScene['squares'][number],
  segment: Segment,
): string[] {
  const { width, height } = scene;
  const bits = decodeRle(segment.mask);
  const edge = band(scene, format);
  let missing = 0;
  let stray = 0;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      // How far inside (positive) or outside (negative) the square the pixel is, in pixels.
      const inside = Math.min(
        x - square.x,
        square.x + square.size - 1 - x,
        y - square.y,
        square.y + square.size - 1 - y,
      );
      const set = bits[y * width + x] === 1;
      if (inside >= edge && !set) missing += 1;
      if (inside < -edge && set) stray += 1;
    }
  }
  const found: string[] = [];
  if (missing > 0) found.push(`${missing} pixels inside ${square.label} not in its mask`);
  if (stray > 0) found.push(`${stray} pixels outside ${square.label} in its mask`);
  if (segment.mask.area !== bits.reduce((a, b) => a + b, 0)) found.push('area is not the pixels set');
  // The outline: one part, its corners at the square's within the band.
  const [outline, ...more] = segment.polygons ?? [];
  if (!outline || more.length > 0) found.push(`${segment.polygons?.length ?? 0} outlines`);
  else {
    const xs = outline.filter((_, i) => i % 2 === 0);
    const ys = outline.filter((_, i) => i % 2 === 1);
    const off = Math.max(
      Math.abs(Math.min(...xs) - square.x),
      Math.abs(Math.max(...xs) - (square.x + square.size)),
      Math.abs(Math.min(...ys) - square.y),
      Math.abs(Math.max(...ys) - (square.y + square.size)),
    );
    if (off > edge + 1) found.push(`outline ${off}px off ${square.label}'s edges`);
  }
  return found;
}

const chunks = Array.from({ length: SCENES / CHUNK }, (_, i) => firstSeed + i * CHUNK);

it.each(chunks)(
  'segments every square as the square itself in the 40 random scenes from seed %i',
  async (chunkStart) => {
    const failures: string[] = [];
    for (let seed = chunkStart; seed < chunkStart + CHUNK; seed += 4) {
      const batch = await Promise.all([0, 1, 2, 3].map((i) => sceneImage(seed + i)));
      const results = await segmenter.segmentBatch(
        batch.map(({ image }) => image),
        { polygons: true },
      );
      batch.forEach(({ scene, format }, i) => {
        const result = results[i]!;
        const { pairs, problems } = matchSquares(scene, result.segments);
        for (const [square, segment] of pairs) problems.push(...maskProblems(scene, format, square, segment));
        if (
          result.imageSize.width !== scene.width ||
          result.segments.some((s) => s.mask.size.height !== scene.height)
        )
          problems.push('mask size is not the image size');
        if (problems.length > 0)
          failures.push(
            `seed ${seed + i} (${scene.width}×${scene.height} ${format}): ${problems.join('; ')}`,
          );
      });
    }
    expect(failures).toEqual([]);
  },
  120_000,
);

it.each(chunks)(
  'puts every square’s 17 keypoints where the pose model draws them, in the 40 random scenes from seed %i',
  async (chunkStart) => {
    const failures: string[] = [];
    for (let seed = chunkStart; seed < chunkStart + CHUNK; seed += 4) {
      const batch = await Promise.all([0, 1, 2, 3].map((i) => sceneImage(seed + i)));
      const results = await poser.poseBatch(batch.map(({ image }) => image));
      batch.forEach(({ scene, format }, i) => {
        const result = results[i]!;
        // Every square is a "person" to the pose model.
        const asPeople = {
          ...scene,
          squares: scene.squares.map((square) => ({ ...square, label: 'person' })),
        };
        const { pairs, problems } = matchSquares(asPeople, result.poses);
        const tolerance = band(scene, format) + 1.5;
        for (const [square, pose] of pairs) {
          if (pose.keypoints.map((k) => k.name).join() !== COCO_KEYPOINTS.join())
            problems.push('keypoint names');
          pose.keypoints.forEach((point, k) => {
            const [fx, fy] = DEMO_KEYPOINT_LAYOUT[k]!;
            const dx = Math.abs(point.x - (square.x + fx * square.size));
            const dy = Math.abs(point.y - (square.y + fy * square.size));
            if (dx > tolerance || dy > tolerance)
              problems.push(`${point.name} ${dx.toFixed(1)},${dy.toFixed(1)}px off`);
            if (Math.abs(point.score - pose.score) > 0.01)
              problems.push(`${point.name} visibility ${point.score}`);
          });
        }
        if (result.skeleton.length !== 19) problems.push(`skeleton of ${result.skeleton.length} limbs`);
        if (problems.length > 0)
          failures.push(
            `seed ${seed + i} (${scene.width}×${scene.height} ${format}): ${problems.join('; ')}`,
          );
      });
    }
    expect(failures).toEqual([]);
  },
  120_000,
);
