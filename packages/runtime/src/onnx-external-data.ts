import { FileCursor } from './onnx-file-cursor.js';

/** The message types on the way from a model to its tensors' `external_data` (onnx.proto). */
type Message = 'model' | 'function' | 'graph' | 'node' | 'attribute' | 'tensor' | 'sparse';

/** For each message, the fields that hold (or lead to) tensors, and what they hold. */
const children: Readonly<Record<Message, Readonly<Record<number, Message>>>> = {
  // ModelProto.graph, .functions
  model: { 7: 'graph', 25: 'function' },
  // FunctionProto.node
  function: { 7: 'node' },
  // GraphProto.node, .initializer, .sparse_initializer
  graph: { 1: 'node', 5: 'tensor', 15: 'sparse' },
  // NodeProto.attribute
  node: { 5: 'attribute' },
  // AttributeProto.t, .g, .tensors, .graphs, .sparse_tensor, .sparse_tensors
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparse', 23: 'sparse' },
  // TensorProto.external_data is read apart (field 13)
  tensor: {},
  // SparseTensorProto.values, .indices
  sparse: { 1: 'tensor', 2: 'tensor' },
};

const TENSOR_EXTERNAL_DATA = 13;
const MAX_ENTRY_BYTES = 64 * 1024;

/**
 * Every `location` that a tensor of an ONNX file names as its external data: initializers,
 * sparse initializers, Constant-style attribute tensors, in subgraphs and functions too. The file
 * is walked field by field and weights are seeked past, so a model of gigabytes costs a few reads.
 * A model folder comes from whoever can create a model, so these paths are untrusted input.
 */
export function onnxExternalLocations(path: string): string[] {
  const file = new FileCursor(path);
  const locations = new Set<string>();
  const walk = (message: Message, end: number, depth: number) => {
    // Subgraphs nest (If, Loop, Scan); real exports stay far below this.
    if (depth > 64) throw file.invalid('graphs nest too deep');
    while (file.offset < end) {
      const value = file.varint();
      const field = Math.floor(value / 8);
      const wireType = value % 8;
      if (field === 0) throw file.invalid('field number 0');
      if (wireType === 0) {
        file.varint();
        continue;
      }
      if (wireType === 5 || wireType === 1) {
        file.skip(wireType === 5 ? 4 : 8);
        continue;
      }
      if (wireType !== 2) throw file.invalid(`unexpected wire type ${wireType}`);
      const length = file.varint();
      const fieldEnd = file.offset + length;
      if (fieldEnd > end) throw file.invalid('a field runs past its message');
      if (message === 'tensor' && field === TENSOR_EXTERNAL_DATA) {
        if (length > MAX_ENTRY_BYTES) throw file.invalid('an external_data entry is implausibly large');
        const entry = entryOf(file.bytes(length));
        if (entry.key === 'location') locations.add(entry.value);
        continue;
      }
      const child = children[message][field];
      if (child === undefined) file.skip(length);
      else walk(child, fieldEnd, depth + 1);
    }
    if (file.offset !== end) throw file.invalid('a field runs past its message');
  };
  try {
    walk('model', file.size, 0);
    return [...locations];
  } finally {
    file.close();
  }
}

/** A StringStringEntryProto (key = 1, value = 2). */
function entryOf(bytes: Uint8Array): { key: string; value: string } {
  const decoder = new TextDecoder();
  const entry = { key: '', value: '' };
  let offset = 0;
  const varint = () => {
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i += 1) {
      const byte = bytes[offset] ?? 0;
      offset += 1;
      result += (byte & 0x7f) * shift;
      if (byte < 0x80) return result;
      shift *= 128;
    }
    return result;
  };
  while (offset < bytes.length) {
    const tag = varint();
    if (tag % 8 !== 2) break;
    const length = varint();
    const text = decoder.decode(bytes.subarray(offset, offset + length));
    offset += length;
    if (tag >> 3 === 1) entry.key = text;
    else if (tag >> 3 === 2) entry.value = text;
  }
  return entry;
}
