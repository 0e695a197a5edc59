/** A square of one colour, in pixels of the image it is drawn on. */
export interface Square {
  x: number;
  y: number;
  size: number;
  rgb: readonly [number, number, number];
}

export interface RgbImage {
  width: number;
  height: number;
  /** Interleaved RGB bytes, row-major. */
  data: Uint8Array;
}

/** Draws solid squares on a flat background: the scenes the vision fixtures are built to see. */
export function drawSquares(
  width: number,
  height: number,
  squares: readonly Square[],
  background: readonly [number, number, number] = [24, 24, 24],
): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i += 1) data.set(background, i * 3);
  for (const square of squares) {
    for (let y = Math.max(0, square.y); y < Math.min(height, square.y + square.size); y += 1) {
      for (let x = Math.max(0, square.x); x < Math.min(width, square.x + square.size); x += 1) {
        data.set(square.rgb, (y * width + x) * 3);
      }
    }
  }
  return { width, height, data };
}

/** CHW float32 in [0, 1], batch of one: the tensor a YOLOv8 export takes, no resizing. */
export function toChwFloat(image: RgbImage): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i += 1) {
    for (let c = 0; c < 3; c += 1) out[c * plane + i] = (image.data[i * 3 + c] ?? 0) / 255;
  }
  return out;
}
