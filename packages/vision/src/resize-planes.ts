/** Float planes [channels, height, width], row-major. */
export interface Planes {
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
}

/** Per output index along one axis: the two source indices and the second one's weight. */
function axisTaps(from: number, to: number): { lo: Int32Array; hi: Int32Array; weight: Float32Array } {
  const scale = Math.fround(to / from);
  const lo = new Int32Array(to);
  const hi = new Int32Array(to);
  const weight = new Float32Array(to);
  for (let i = 0; i < to; i += 1) {
    const x = Math.min(Math.max((i + 0.5) / scale - 0.5, 0), from - 1);
    const x0 = Math.floor(x);
    lo[i] = x0;
    hi[i] = Math.min(x0 + 1, from - 1);
    weight[i] = x - x0;
  }
  return { lo, hi, weight };
}

/**
 * Bilinear resize of float planes as ONNX Resize computes it (mode linear, coordinate
 * transformation half_pixel, no antialias): what PyTorch's interpolate(align_corners=False) and
 * transformers.js's interpolate_4d give, so a processor that resizes normalized tensors (Idefics3's
 * tiling) reads the same values here. A size equal to the input's returns the input itself.
 */
export function resizePlanes(source: Planes, height: number, width: number): Planes {
  const { channels, height: h, width: w, data } = source;
  if (height === h && width === w) return source;
  const ys = axisTaps(h, height);
  const xs = axisTaps(w, width);
  const out = new Float32Array(channels * height * width);
  for (let c = 0; c < channels; c += 1) {
    const plane = c * h * w;
    const target = c * height * width;
    for (let y = 0; y < height; y += 1) {
      const top = plane + (ys.lo[y] as number) * w;
      const bottom = plane + (ys.hi[y] as number) * w;
      const dy = ys.weight[y] as number;
      const row = target + y * width;
      for (let x = 0; x < width; x += 1) {
        const x0 = xs.lo[x] as number;
        const x1 = xs.hi[x] as number;
        const dx = xs.weight[x] as number;
        const upper = (data[top + x0] as number) * (1 - dx) + (data[top + x1] as number) * dx;
        const lower = (data[bottom + x0] as number) * (1 - dx) + (data[bottom + x1] as number) * dx;
        out[row + x] = upper * (1 - dy) + lower * dy;
      }
    }
  }
  return { data: out, channels, height, width };
}

/** The window [top, top + height) × [left, left + width) of every plane. */
export function cropPlanes(
  source: Planes,
  top: number,
  left: number,
  height: number,
  width: number,
): Float32Array {
  const out = new Float32Array(source.channels * height * width);
  for (let c = 0; c < source.channels; c += 1) {
    for (let y = 0; y < height; y += 1) {
      const from = (c * source.height + top + y) * source.width + left;
      out.set(source.data.subarray(from, from + width), (c * height + y) * width);
    }
  }
  return out;
}
