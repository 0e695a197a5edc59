import { labelColour } from '@vmm/display';
import sharp from 'sharp';

export interface DrawnBox {
  box: { x1: number; y1: number; x2: number; y2: number };
  label: string;
  score: number;
}

const escapeXml = (text: string) =>
  text.replace(
    /[<>&'"]/g,
    (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[char] ?? char,
  );

/**
 * The image with each box drawn and labelled ("red 0.97"), encoded as the output file's
 * extension asks (JPEG, PNG or WebP). Boxes are in the displayed image's pixels, so the image is
 * turned upright (EXIF) first.
 */
export async function annotate(image: Buffer, boxes: readonly DrawnBox[], outPath: string): Promise<void> {
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
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes}</svg>`,
  );
  const composed = sharp(data, { raw: { width, height, channels: info.channels } }).composite([
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
