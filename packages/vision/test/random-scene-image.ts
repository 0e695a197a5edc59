// The random scenes the demo models' property tests look at, encoded as a client would send them.
import { drawSquares, Prng, randomScene, type RandomScene } from '@vmm/model-fixtures';
import sharp from 'sharp';

/** The scene of a seed, encoded: three in four as JPEG at quality 60 to 95, the rest PNG. */
export async function sceneImage(
  seed: number,
): Promise<{ scene: RandomScene; image: Buffer; format: string }> {
  const prng = new Prng(seed);
  const scene = randomScene(prng);
  const raw = drawSquares(scene.width, scene.height, scene.squares, scene.background);
  const pixels = sharp(raw.data, { raw: { width: scene.width, height: scene.height, channels: 3 } });
  if (prng.next() < 0.25) return { scene, image: await pixels.png().toBuffer(), format: 'png' };
  const quality = 60 + Math.floor(prng.next() * 36);
  return { scene, image: await pixels.jpeg({ quality }).toBuffer(), format: `jpeg q${quality}` };
}
