import { labelColour, labelRgb, paintRle } from '@vmm/display';
import sharp from 'sharp';

export interface DrawnBox {
  box: { x1: number; y1: number; x2: number; y2: number };
  label: string;
  score: number;
}

/** A box, with the mask (COCO RLE over the image) or keypoints the model found for it. */
export interface DrawnInstance extends DrawnBox {
  mask?: { size: [number, number]; counts: number[]; area?: number };
  keypoints?: { x: number; y: number; score: number }[];
}

/** A keypoint is drawn (and counted as seen) from this visibility on, as Ultralytics draws them. */
export const KEYPOINT_SEEN = 0.5;
const MASK_OPACITY = 0.45;

/** The masks as one RGBA layer: each in its label's colour, see-through. */
function maskLayer(instances: readonly DrawnInstance[], width: number, height: number): Buffer | undefined {
  // A mask of another size than the image (it cannot be from this answer) is not drawn.
  const masked = instances.filter(({ mask }) => mask && mask.size[0] === height && mask.size[1] === width);
  if (masked.length === 0) return undefined;
  const layer = Buffer.alloc(width * height * 4);
  const alpha = Math.round(255 * MASK_OPACITY);
  for (const { mask, label } of masked)
    paintRle(layer, width, height, mask!.counts, [...labelRgb(label), alpha]);
  return layer;
}

/** Each pose's limbs and seen keypoints, as SVG. */
function skeletons(
  instances: readonly DrawnInstance[],
  skeleton: readonly [number, number][],
  line: number,
): string {
  return instances
    .filter((instance) => instance.keypoints)
    .map(({ keypoints, label }) => {
      const points = keypoints!;
      const colour = labelColour(label);
      const seen = (i: number) => (points[i]?.score ?? 0) >= KEYPOINT_SEEN;
      const limbs = skeleton
        .filter(([a, b]) => seen(a) && seen(b))
        .map(
          ([a, b]) =>
            `<line x1="${points[a]!.x}" y1="${points[a]!.y}" x2="${points[b]!.x}" y2="${points[b]!.y}" stroke="${colour}" stroke-width="${line}"/>`,
        );
      const dots = points
        .filter((_, i) => seen(i))
        .map(
          (point) =>
            `<circle cx="${point.x}" cy="${point.y}" r="${line * 1.5}" fill="#fff" stroke="${colour}"/>`,
        );
      return [...limbs, ...dots].join('');
    })
    .join('');
}

const escapeXml = (text: string) =>
  text.replace(
    /[<>&'"]/g,
    (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[char] ?? char,
  );

/**
 * The image with each box drawn and labelled ("red 0.97"), its mask laid over it and its
 * skeleton drawn where the model found them, encoded as the output file's extension asks (JPEG,
 * PNG or WebP). Boxes are in the displayed image's pixels, so the image is turned upright
 * (EXIF) first.
 */
export async function annotate(
  image: Buffer,
  boxes: readonly DrawnInstance[],
  outPath: string,
  skeleton: readonly [number, number][] = [],
): Promise<void> {
  const upright = sharp(image).rotate();
  const { data, info } = await upright.raw().toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const line = Math.max(2, Math.round(Math.min(width, height) / 200));
  const font = Math.max(12, Math.round(Math.min(width, height) / 40));
  const shapes = boxes
    .map(({ box, label, score }) => {
      const colour = labelColour(label);
      const text = escapeXml(`${label} ${score.toFixed(2)}`);
      const textWidth = Math.round(text.length * font * 0.6) + 8;
      const above = box.y1 - font - 6 >= 0;
      const ty = above ? box.y1 - font - 6 : box.y1;
      return (
        `<rect x="${box.x1}" y="${box.y1}" width="${box.x2 - box.x1}" height="${box.y2 - box.y1}" fill="none" stroke="${colour}" stroke-width="${line}"/>` +
        `<rect x="${box.x1}" y="${ty}" width="${textWidth}" height="${font + 6}" fill="${colour}"/>` +
        `<text x="${box.x1 + 4}" y="${ty + font}" font-family="sans-serif" font-size="${font}" fill="#000">${text}</text>`
      );
    })
    .join('');
  const svg = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes}${skeletons(boxes, skeleton, line)}</svg>`,
  );
  const masks = maskLayer(boxes, width, height);
  const composed = sharp(data, { raw: { width, height, channels: info.channels } }).composite([
    ...(masks ? [{ input: masks, raw: { width, height, channels: 4 as const } }] : []),
    { input: svg },
  ]);
  const extension = outPath.toLowerCase().split('.').pop();
  const encoded =
    extension === 'png'
      ? composed.png()
      : extension === 'webp'
        ? composed.webp()
        : composed.jpeg({ quality: 90 });
  await encoded.toFile(outPath);
}
