import { onnx } from '@vmm/proto';
import { toFloat16Array } from './float16.js';

export type ElementType = 'float32' | 'float16' | 'int64' | 'bool' | 'int8' | 'uint8';

export const onnxDataType: Readonly<Record<ElementType, onnx.TensorProto_DataType>> = {
  float32: onnx.TensorProto_DataType.FLOAT,
  float16: onnx.TensorProto_DataType.FLOAT16,
  int64: onnx.TensorProto_DataType.INT64,
  bool: onnx.TensorProto_DataType.BOOL,
  int8: onnx.TensorProto_DataType.INT8,
  uint8: onnx.TensorProto_DataType.UINT8,
};

/** Little-endian raw bytes of a tensor, as ONNX stores `raw_data` and external data. */
export function rawBytes(type: ElementType, values: Float32Array | number[]): Uint8Array {
  switch (type) {
    case 'float32': {
      const data = values instanceof Float32Array ? values : Float32Array.from(values);
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    case 'float16': {
      const data = toFloat16Array(values instanceof Float32Array ? values : Float32Array.from(values));
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    case 'int64': {
      const data = BigInt64Array.from(Array.from(values, (value) => BigInt(Math.trunc(value))));
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    case 'bool':
      return Uint8Array.from(Array.from(values, (value) => (value ? 1 : 0)));
    case 'int8':
      return new Uint8Array(Int8Array.from(values).buffer);
    case 'uint8':
      return Uint8Array.from(values);
  }
}
