import { z } from 'zod';

// Every number a request carries ends up in a protobuf field of a fixed width. A value the
// wire type cannot hold fails serialization deep in gRPC, far from the request: these schemas
// refuse it at the edge, naming the field, as a 400.

export const UINT32_MAX = 4_294_967_295;
/** The largest finite float32; a bigger JSON number would encode as Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38;

interface Bounds {
  min?: number;
  max?: number;
}

/** A protobuf `uint32` (or a tighter range inside it). */
export function uint32({ min = 0, max = UINT32_MAX }: Bounds = {}) {
  return z.number().int().min(Math.max(0, min)).max(Math.min(UINT32_MAX, max));
}

/** A protobuf `float` (finite, within float32 range, or a tighter range inside it). */
export function float32({ min = -FLOAT32_MAX, max = FLOAT32_MAX }: Bounds = {}) {
  return z.number().min(Math.max(-FLOAT32_MAX, min)).max(Math.min(FLOAT32_MAX, max));
}

/** An integer JavaScript and `int64`/`uint64` agree on (ts-proto maps them to number). */
export function safeInt({ min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER }: Bounds = {}) {
  return z
    .number()
    .int()
    .min(Math.max(Number.MIN_SAFE_INTEGER, min))
    .max(Math.min(Number.MAX_SAFE_INTEGER, max));
}

const NUMERIC = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/;

/**
 * For values that may arrive as text (multipart form fields, query strings): a string that
 * spells a number becomes that number; anything else is left for the schema to refuse. Unlike
 * `z.coerce.number()`, "", null and [] are not taken as 0.
 */
export function fromText<T extends z.ZodType>(schema: T) {
  return z.preprocess(
    (value) => (typeof value === 'string' && NUMERIC.test(value) ? Number(value) : value),
    schema,
  );
}
