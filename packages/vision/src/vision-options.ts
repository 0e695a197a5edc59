import { ErrorCode, VmmError } from '@vmm/errors';
import type { ClassifyOptions, DetectOptions } from './types.js';

export interface ResolvedDetectOptions {
  confidenceThreshold: number;
  iouThreshold: number;
  maxDetections: number;
  classIds: Set<number> | undefined;
}

export const MAX_DETECTIONS_LIMIT = 10_000;

function invalid(field: string, message: string): VmmError {
  return new VmmError(ErrorCode.InvalidArgument, `${field} ${message}`, { field });
}

function fraction(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw invalid(field, `must be a number in [0, 1], got ${String(value)}`);
  }
  return value;
}

function integer(value: unknown, field: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** Defaults as Ultralytics' predict: conf 0.25, iou 0.7, max_det 300. */
export function resolveDetectOptions(options: DetectOptions, classCount: number): ResolvedDetectOptions {
  const classIds = options.classIds ?? [];
  if (!Array.isArray(classIds)) throw invalid('class_ids', 'must be a list of class ids');
  classIds.forEach((id) => integer(id, 'class_ids', 0, 0, classCount - 1));
  return {
    confidenceThreshold: fraction(options.confidenceThreshold, 'confidence_threshold', 0.25),
    iouThreshold: fraction(options.iouThreshold, 'iou_threshold', 0.7),
    maxDetections: integer(options.maxDetections, 'max_detections', 300, 1, MAX_DETECTIONS_LIMIT),
    classIds: classIds.length > 0 ? new Set(classIds) : undefined,
  };
}

export function resolveClassifyOptions(options: ClassifyOptions, labelCount: number): { topK: number } {
  return { topK: integer(options.topK, 'top_k', Math.min(5, labelCount), 1, labelCount) };
}
