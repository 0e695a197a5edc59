/**
 * A tensor as plain data: what crosses a worker-thread boundary (its buffer can be
 * transferred) and what callers build without touching ONNX Runtime's types.
 */
export type TensorType = 'float32' | 'float16' | 'int64' | 'int32' | 'bool' | 'uint8' | 'int8';

export type TensorArray = Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;

export interface TensorData {
  type: TensorType;
  dims: number[];
  data: TensorArray;
}

/** Bytes one element of each type takes. */
export const ELEMENT_BYTES: Readonly<Record<TensorType, number>> = {
  float32: 4,
  float16: 2,
  int64: 8,
  int32: 4,
  bool: 1,
  uint8: 1,
  int8: 1,
};

/**
 * The typed array a tensor of `type` holds (float16 as its bits): `length` elements over
 * `buffer` from `byteOffset`, or over new zeroed memory when no buffer is given.
 */
export function tensorArray(
  type: TensorType,
  length: number,
  buffer?: ArrayBuffer,
  byteOffset = 0,
): TensorArray {
  const memory = buffer ?? new ArrayBuffer(length * ELEMENT_BYTES[type]);
  switch (type) {
    case 'float32':
      return new Float32Array(memory, byteOffset, length);
    case 'float16':
      return new Uint16Array(memory, byteOffset, length);
    case 'int64':
      return new BigInt64Array(memory, byteOffset, length);
    case 'int32':
      return new Int32Array(memory, byteOffset, length);
    case 'int8':
      return new Int8Array(memory, byteOffset, length);
    case 'bool':
    case 'uint8':
      return new Uint8Array(memory, byteOffset, length);
  }
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((product, dim) => product * dim, 1);
}

export function float32Tensor(data: Float32Array, dims: number[]): TensorData {
  return { type: 'float32', dims, data };
}

export function int64Tensor(values: readonly number[] | BigInt64Array, dims: number[]): TensorData {
  const data =
    values instanceof BigInt64Array ? values : BigInt64Array.from(values, (value) => BigInt(value));
  return { type: 'int64', dims, data };
}

export function boolTensor(values: readonly boolean[], dims: number[]): TensorData {
  return { type: 'bool', dims, data: Uint8Array.from(values, (value) => (value ? 1 : 0)) };
}

/** An empty tensor of the given type, e.g. a past KV cache of length 0. */
export function emptyTensor(type: TensorType, dims: number[]): TensorData {
  if (elementCount(dims) !== 0) throw new RangeError('an empty tensor needs a zero dimension');
  const data = tensorArray(type, 0);
  return { type, dims, data };
}
