import { onnx } from '@vmm/proto';
import { FileCursor } from './onnx-file-cursor.js';
import type { TensorType } from './tensor-data.js';

/** A node of an ONNX graph, as far as graph rewrites need it. */
export interface OnnxNode {
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  /** Integer attributes (axis, num_heads, do_rotary, …). */
  ints: Record<string, number>;
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  /**
   * Graph inputs with their ONNX element types (TensorProto.DataType: 1 float, 10 float16, …) and
   * dimensions (a number, or the name of a symbolic one).
   */
  inputs: { name: string; elemType: number; dims: (number | string)[] }[];
  outputs: string[];
  /** The dimensions of every initializer, by name (their data is never read). */
  initializerDims: Map<string, number[]>;
}

// ModelProto.graph and GraphProto's node, input and output field numbers (onnx.proto).
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const MAX_NODE_BYTES = 64 * 1024 * 1024;

/**
 * Reads the top-level nodes and the input and output names of an ONNX file's graph, seeking past
 * its initializers: the file may hold gigabytes of weights that a rewrite never needs to see.
 */
export function readOnnxGraph(path: string): OnnxGraph {
  const file = new FileCursor(path);
  const graph: OnnxGraph = { nodes: [], inputs: [], outputs: [], initializerDims: new Map() };
  try {
    while (!file.atEnd()) {
      const { field, wireType } = tag(file);
      if (field !== MODEL_GRAPH || wireType !== 2) {
        skipField(file, wireType);
        continue;
      }
      // The length first: `file.offset + file.varint()` would add the offset before the varint.
      const graphLength = file.varint();
      const end = file.offset + graphLength;
      while (file.offset < end) {
        const inner = tag(file);
        if (inner.field === GRAPH_INITIALIZER && inner.wireType === 2) {
          const length = file.varint();
          readInitializerDims(file, file.offset + length, graph.initializerDims);
          continue;
        }
        const wanted = [GRAPH_NODE, GRAPH_INPUT, GRAPH_OUTPUT].includes(inner.field);
        if (!wanted || inner.wireType !== 2) {
          skipField(file, inner.wireType);
          continue;
        }
        const length = file.varint();
        if (length > MAX_NODE_BYTES) throw file.invalid(`graph field ${inner.field} is implausibly large`);
        const bytes = file.bytes(length);
        if (inner.field === GRAPH_NODE) {
          const node = onnx.NodeProto.decode(bytes);
          const ints: Record<string, number> = {};
          for (const attribute of node.attribute) {
            if (attribute.type === onnx.AttributeProto_AttributeType.INT) ints[attribute.name] = attribute.i;
          }
          graph.nodes.push({
            opType: node.opType,
            domain: node.domain,
            inputs: node.input,
            outputs: node.output,
            ints,
          });
        } else {
          const info = onnx.ValueInfoProto.decode(bytes);
          if (inner.field === GRAPH_INPUT) {
            const dims = (info.type?.tensorType?.shape?.dim ?? []).map((dim) =>
              dim.dimValue !== undefined ? Number(dim.dimValue) : (dim.dimParam ?? ''),
            );
            graph.inputs.push({ name: info.name, elemType: info.type?.tensorType?.elemType ?? 0, dims });
          } else {
            graph.outputs.push(info.name);
          }
        }
      }
    }
    return graph;
  } finally {
    file.close();
  }
}

// TensorProto's dims and name field numbers (onnx.proto).
const TENSOR_DIMS = 1;
const TENSOR_NAME = 8;

/** Reads an initializer's name and dims, seeking past its data (which may be gigabytes). */
function readInitializerDims(file: FileCursor, end: number, into: Map<string, number[]>): void {
  const dims: number[] = [];
  let name = '';
  while (file.offset < end) {
    const { field, wireType } = tag(file);
    if (field === TENSOR_DIMS && wireType === 0) dims.push(file.varint());
    else if (field === TENSOR_DIMS && wireType === 2) {
      const packedLength = file.varint();
      const packedEnd = file.offset + packedLength;
      while (file.offset < packedEnd) dims.push(file.varint());
    } else if (field === TENSOR_NAME && wireType === 2) {
      name = Buffer.from(file.bytes(file.varint())).toString('utf8');
    } else skipField(file, wireType);
  }
  if (file.offset !== end) throw file.invalid('an initializer overruns its length');
  into.set(name, dims);
}

function tag(file: FileCursor): { field: number; wireType: number } {
  const value = file.varint();
  const field = Math.floor(value / 8);
  if (field === 0) throw file.invalid('field number 0');
  return { field, wireType: value % 8 };
}

function skipField(file: FileCursor, wireType: number): void {
  if (wireType === 0) file.varint();
  else if (wireType === 2) file.skip(file.varint());
  else if (wireType === 5) file.skip(4);
  else if (wireType === 1) file.skip(8);
  else throw file.invalid(`unexpected wire type ${wireType}`);
}

const elementTypes: Readonly<Record<TensorType, onnx.TensorProto_DataType>> = {
  float32: onnx.TensorProto_DataType.FLOAT,
  float16: onnx.TensorProto_DataType.FLOAT16,
  int64: onnx.TensorProto_DataType.INT64,
  int32: onnx.TensorProto_DataType.INT32,
  bool: onnx.TensorProto_DataType.BOOL,
  uint8: onnx.TensorProto_DataType.UINT8,
  int8: onnx.TensorProto_DataType.INT8,
};

/**
 * The bytes of a model with more graph outputs: protobuf merges a message field that occurs
 * twice, appending to repeated fields, so a second `graph` holding only the new outputs is
 * appended to the original bytes instead of decoding and re-encoding the whole model.
 */
export function withGraphOutputs(
  model: Uint8Array,
  outputs: readonly { name: string; type: TensorType }[],
): Uint8Array {
  const extra = onnx.ModelProto.encode(
    onnx.ModelProto.fromPartial({
      graph: {
        output: outputs.map((output) => ({
          name: output.name,
          type: { tensorType: { elemType: elementTypes[output.type] } },
        })),
      },
    }),
  ).finish();
  const bytes = new Uint8Array(model.byteLength + extra.byteLength);
  bytes.set(model, 0);
  bytes.set(extra, model.byteLength);
  return bytes;
}
