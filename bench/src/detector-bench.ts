// What the detection benchmarks share: the JPEG they send and the bare session.run they compare with.
import { detectorColours, drawSquares } from '@vmm/model-fixtures';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

/** A `width`×`height` JPEG (quality 90) of six coloured squares. */
export async function sceneJpeg(width: number, height: number): Promise<Uint8Array> {
  const colour = (i: number) => detectorColours[i % detectorColours.length]!.rgb;
  const squares = Array.from({ length: 6 }, (_, i) => ({
    x: Math.round(((i % 3) + 0.2) * (width / 3)),
    y: Math.round((Math.floor(i / 3) + 0.2) * (height / 2)),
    size: Math.round(Math.min(width, height) / 8),
    rgb: colour(i),
  }));
  const jpeg = await sharp(drawSquares(width, height, squares).data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
  return Uint8Array.from(jpeg);
}

export interface BareDetector {
  /** One session.run on the ready tensor; its wall time in ms. Throws unless output0 comes back whole. */
  run(): Promise<number>;
  release(): Promise<void>;
}

/**
 * A bare session on a detector file, run on a ready [batch, 3, 640, 640] tensor (float16 for a
 * half export): the floor end-to-end and served times are measured against. Warmed by one run.
 */
export async function openBareDetector(
  path: string,
  options: { batch: number; half: boolean; threads: number; backend: 'cpu' | 'cuda' },
): Promise<BareDetector> {
  const { batch, half, threads, backend } = options;
  const session = await ort.InferenceSession.create(path, {
    executionProviders: [backend],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  const size = batch * 3 * 640 * 640;
  const input = half
    ? new ort.Tensor('float16', new Uint16Array(size).fill(0x3800), [batch, 3, 640, 640])
    : new ort.Tensor('float32', new Float32Array(size).fill(0.5), [batch, 3, 640, 640]);
  const feeds = { [session.inputNames[0]!]: input };
  const run = async () => {
    const started = performance.now();
    const outputs = await session.run(feeds);
    const elapsed = performance.now() - started;
    const output = outputs[session.outputNames[0]!];
    if (output?.dims[0] !== batch || output.dims[2] !== 8400) throw new Error('the bare run gave no output0');
    return elapsed;
  };
  await run();
  return { run, release: () => session.release() };
}
