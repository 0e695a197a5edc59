import type { Pooling } from './embedding-spec.js';

/**
 * One row's vector from `hidden` [rows, seq, width] and its attention mask: mean of the real
 * tokens, the first ([CLS]) token, the element-wise max, or the last real token.
 */
export function poolRow(
  hidden: Float32Array,
  row: number,
  seq: number,
  width: number,
  length: number,
  pooling: Pooling,
): Float32Array {
  const out = new Float32Array(width);
  const base = row * seq * width;
  if (pooling === 'cls' || pooling === 'lasttoken') {
    const at = base + (pooling === 'cls' ? 0 : length - 1) * width;
    out.set(hidden.subarray(at, at + width));
    return out;
  }
  if (pooling === 'max') out.fill(-Infinity);
  for (let t = 0; t < length; t += 1) {
    const at = base + t * width;
    for (let i = 0; i < width; i += 1) {
      const value = hidden[at + i] as number;
      if (pooling === 'max') out[i] = Math.max(out[i] as number, value);
      else out[i] = (out[i] as number) + value;
    }
  }
  if (pooling === 'mean')
    for (let i = 0; i < width; i += 1) out[i] = (out[i] as number) / Math.max(length, 1e-9);
  return out;
}

/** Scales to unit length (L2), as sentence-transformers' Normalize and Ollama's embed do. */
export function normalize(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.max(Math.sqrt(sum), 1e-12);
  for (let i = 0; i < vector.length; i += 1) vector[i] = (vector[i] as number) / norm;
  return vector;
}
