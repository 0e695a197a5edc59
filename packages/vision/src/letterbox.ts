/** Where an image lands in the model's input after a letterbox resize. */
export interface Letterbox {
  /** Input pixels per original pixel. */
  scale: number;
  /** Size of the resized image inside the input. */
  width: number;
  height: number;
  /** Padding before the image, in input pixels. */
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/**
 * Ultralytics' letterbox: scale to fit, keep the aspect ratio, centre, pad the rest (with 114
 * grey). Rounding follows Ultralytics (`round(dw - 0.1)`, `round(dw + 0.1)`), so boxes map back
 * to the same pixels as in Python.
 */
export function letterbox(
  sourceWidth: number,
  sourceHeight: number,
  targetWidth: number,
  targetHeight: number,
): Letterbox {
  const scale = Math.min(targetWidth / sourceWidth, targetHeight / sourceHeight);
  const width = Math.max(1, Math.round(sourceWidth * scale));
  const height = Math.max(1, Math.round(sourceHeight * scale));
  const dw = (targetWidth - width) / 2;
  const dh = (targetHeight - height) / 2;
  const left = Math.max(0, Math.round(dw - 0.1));
  const top = Math.max(0, Math.round(dh - 0.1));
  return {
    scale,
    width,
    height,
    left,
    top,
    right: targetWidth - width - left,
    bottom: targetHeight - height - top,
  };
}

export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** A box in input pixels back to original pixels, clipped to the image. */
export function toOriginal(box: Box, geometry: Letterbox, sourceWidth: number, sourceHeight: number): Box {
  const clip = (value: number, max: number) => Math.min(Math.max(value, 0), max);
  return {
    x1: clip((box.x1 - geometry.left) / geometry.scale, sourceWidth),
    y1: clip((box.y1 - geometry.top) / geometry.scale, sourceHeight),
    x2: clip((box.x2 - geometry.left) / geometry.scale, sourceWidth),
    y2: clip((box.y2 - geometry.top) / geometry.scale, sourceHeight),
  };
}
