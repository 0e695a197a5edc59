import type { Classification } from './types.js';

/** Whether a row already holds probabilities (the graph ended in a softmax). */
export function looksLikeProbabilities(row: Float32Array): boolean {
  let sum = 0;
  for (const value of row) {
    if (value < 0 || value > 1) return false;
    sum += value;
  }
  return Math.abs(sum - 1) < 1e-3;
}

export function softmax(row: Float32Array): Float32Array {
  let max = -Infinity;
  for (const value of row) max = Math.max(max, value);
  const out = new Float32Array(row.length);
  let sum = 0;
  for (let i = 0; i < row.length; i += 1) {
    out[i] = Math.exp((row[i] as number) - max);
    sum += out[i] as number;
  }
  for (let i = 0; i < out.length; i += 1) out[i] = (out[i] as number) / sum;
  return out;
}

/** The k best classes, best first (equal scores: lower class id first). */
export function topK(probabilities: Float32Array, k: number, labels: readonly string[]): Classification[] {
  return Array.from(probabilities, (score, classId) => ({ classId, score }))
    .sort((a, b) => b.score - a.score || a.classId - b.classId)
    .slice(0, k)
    .map(({ classId, score }) => ({ classId, score, label: labels[classId] ?? `class_${classId}` }));
}
