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
  const data =
    type === 'float32'
      ? new Float32Array(0)
      : type === 'float16'
        ? new Uint16Array(0)
        : type === 'int64'
          ? new BigInt64Array(0)
          : type === 'int32'
            ? new Int32Array(0)
            : type === 'int8'
              ? new Int8Array(0)
              : new Uint8Array(0);
  return { type, dims, data };
}
