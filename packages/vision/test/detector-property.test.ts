// The demo detector as a property: on random scenes (any image size and aspect ratio, squares
// of 24 to 400 pixels anywhere, off-pure colours, JPEG edges, squares packed as close as the
// scene rules allow) every square is found once, with its label and IoU ≥ 0.8, and nothing else.
// Each scene comes from its seed: a failure names the seeds to replay. VMM_SCENE_SEED shifts the
// seed range to explore new scenes (`VMM_SCENE_SEED=10000 npx vmm-jest test/detector-property`).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prng, randomScene, type RandomScene, sameColourGap, writeDetectorFolder } from '@vmm/model-fixtures';
import { inspectModelFolder, selectModelFile } from '@vmm/runtime';
import { sceneImage } from './random-scene-image.js';
import { type Box, type Detection, iou, VisionRunner } from '../src/index.js';

const SCENES = 500;
const firstSeed = Number(process.env.VMM_SCENE_SEED ?? 0);
const root = mkdtempSync(join(tmpdir(), 'vmm-vision-property-'));
let detector: VisionRunner;

beforeAll(async () => {
  writeDetectorFolder(join(root, 'detector'));
  const folder = inspectModelFolder(root, 'detector');
  detector = await VisionRunner.open({
    folder,
    file: selectModelFile(folder, 'cpu').path,
    // One thread: the suite runs beside others on two cores, where a spinning thread pool only competes.
    session: { backend: 'cpu', intraOpThreads: 1 },
    maxBatch: 4,
  });
});

afterAll(async () => {
  await detector.close();
  rmSync(root, { recursive: true, force: true });
});

const shown = (box: Box) => [box.x1, box.y1, box.x2, box.y2].map(Math.round).join(',');

/** What is wrong with one scene's detections, as lines; none when all is well. */
function problems(scene: RandomScene, detections: readonly Detection[]): string[] {
  const found: string[] = [];
  const used = new Set<Detection>();
  for (const square of scene.squares) {
    const truth = { x1: square.x, y1: square.y, x2: square.x + square.size, y2: square.y + square.size };
    const matches = detections.filter((d) => d.label === square.label && iou(d.box, truth) >= 0.8);
    if (matches.length === 0) found.push(`missed ${square.label} ${square.size}px at ${shown(truth)}`);
    if (matches.length > 1) found.push(`${matches.length} boxes for ${square.label} at ${shown(truth)}`);
    for (const match of matches) used.add(match);
  }
  for (const detection of detections)
    if (!used.has(detection))
      found.push(`extra ${detection.label} ${detection.score.toFixed(2)} at ${shown(detection.box)}`);
  return found;
}

const CHUNK = 50;
const chunks = Array.from({ length: SCENES / CHUNK }, (_, i) => firstSeed + i * CHUNK);

// In chunks of 50 scenes, each with its own time limit, so a slow machine fails no chunk on time.
it.each(chunks)(
  'finds every square once, and nothing else, in the 50 random scenes from seed %i',
  async (chunkStart) => {
    const failures: string[] = [];
    const seeds = Array.from({ length: CHUNK }, (_, i) => chunkStart + i);
    // Four scenes at a time: encoding runs on sharp's threads while the detector works.
    for (let start = 0; start < seeds.length; start += 4) {
      const batch = await Promise.all(seeds.slice(start, start + 4).map(sceneImage));
      const results = await detector.detectBatch(batch.map(({ image }) => image));
      batch.forEach(({ scene, format }, i) => {
        const wrong = problems(scene, results[i]!.detections);
        if (wrong.length > 0)
          failures.push(
            `seed ${seeds[start + i]} (${scene.width}×${scene.height} ${format}): ${wrong.join('; ')}`,
          );
      });
    }
    expect(failures).toEqual([]);
  },
  120_000,
);

it('tries enough squares, packed closely enough, for the property to mean something', () => {
  // The scenes alone (a scene is the first thing drawn from its seed), without running the detector.
  const scenes = Array.from({ length: SCENES }, (_, i) => randomScene(new Prng(firstSeed + i)));
  const squares = scenes.flatMap((scene) => scene.squares);
  expect(squares.length).toBeGreaterThan(SCENES * 2);
  // Some pairs of one colour sit at the closest gap the rules allow.
  const tight = scenes.flatMap((scene) =>
    scene.squares.flatMap((a, i) =>
      scene.squares.slice(i + 1).filter((b) => {
        if (a.label !== b.label) return false;
        const gap = Math.max(
          a.x - (b.x + b.size),
          b.x - (a.x + a.size),
          a.y - (b.y + b.size),
          b.y - (a.y + a.size),
        );
        return gap <= sameColourGap(a.size, b.size) + 2;
      }),
    ),
  );
  expect(tight.length).toBeGreaterThan(10);
});
