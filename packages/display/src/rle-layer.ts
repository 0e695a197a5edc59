/**
 * Paints a mask given as COCO's uncompressed RLE (column-major runs of unset and set pixels,
 * starting with unset ones, over a `width` × `height` image) into an RGBA layer of that size, in
 * `rgba`: the masks the segmentation route answers with, laid over an image by the CLI and the
 * dashboard alike. Runs past the image's end are ignored.
 */
export function paintRle(
  layer: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  counts: readonly number[],
  rgba: readonly [number, number, number, number],
): void {
  const total = width * height;
  let position = 0;
  counts.forEach((run, i) => {
    if (i % 2 === 1) {
      for (let p = position; p < Math.min(position + run, total); p += 1) {
        const x = Math.floor(p / height);
        layer.set(rgba, ((p - x * height) * width + x) * 4);
      }
    }
    position += run;
  });
}
