import { describe, expect, it } from '@jest/globals';
import { ELEMENT_BYTES, emptyTensor, type TensorType, tensorArray } from './tensor-data.js';

describe('tensorArray', () => {
  it.each([
    ['float32', Float32Array],
    ['float16', Uint16Array],
    ['int64', BigInt64Array],
    ['int32', Int32Array],
    ['int8', Int8Array],
    ['uint8', Uint8Array],
    ['bool', Uint8Array],
  ] as const)('holds %s elements in a %p of that many bytes each', (type, kind) => {
    const array = tensorArray(type as TensorType, 3);
    expect(array).toBeInstanceOf(kind);
    expect(array).toHaveLength(3);
    expect(array.byteLength).toBe(3 * ELEMENT_BYTES[type as TensorType]);
    expect(emptyTensor(type as TensorType, [0, 2]).data).toBeInstanceOf(kind);
  });

  it('views a given buffer from an offset without copying it', () => {
    const buffer = new ArrayBuffer(32);
    const view = tensorArray('float32', 2, buffer, 8) as Float32Array;
    view[0] = 1.5;
    expect(new Float32Array(buffer)[2]).toBe(1.5);
    expect(view.buffer).toBe(buffer);
  });
});
