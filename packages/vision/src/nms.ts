import type { Box } from './letterbox.js';

export interface Candidate {
  box: Box;
  classId: number;
  score: number;
}

export function iou(a: Box, b: Box): number {
  const width = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const height = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (width <= 0 || height <= 0) return 0;
  const intersection = width * height;
  const area = (box: Box) => Math.max(0, box.x2 - box.x1) * Math.max(0, box.y2 - box.y1);
  const union = area(a) + area(b) - intersection;
  return union > 0 ? intersection / union : 0;
}

/**
 * Class-aware non-maximum suppression, as Ultralytics runs it: best score first (equal scores
 * keep their input order), a box is dropped when it overlaps a kept box of the same class by
 * more than `iouThreshold`; boxes of different classes never suppress each other.
 */
export function nonMaxSuppression<C extends Candidate>(
  candidates: readonly C[],
  iouThreshold: number,
  maxDetections: number,
): C[] {
  const order = candidates.map((candidate, index) => ({ candidate, index }));
  order.sort((a, b) => b.candidate.score - a.candidate.score || a.index - b.index);
  const kept: C[] = [];
  const keptByClass = new Map<number, C[]>();
  for (const { candidate } of order) {
    if (kept.length >= maxDetections) break;
    const sameClass = keptByClass.get(candidate.classId) ?? [];
    if (sameClass.some((other) => iou(other.box, candidate.box) > iouThreshold)) continue;
    sameClass.push(candidate);
    keptByClass.set(candidate.classId, sameClass);
    kept.push(candidate);
  }
  return kept;
}
