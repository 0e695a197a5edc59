import { onnx } from '@vmm/proto';

/** A node of the graph being edited. */
export interface EditedNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
}

/** A node to put in the graph. */
export interface NewNode {
  name: string;
  opType: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
  /** Every attribute of this node first (then `ints` and `floats` override by name). */
  attributesOf?: EditedNode;
  ints?: Record<string, number>;
  floats?: Record<string, number>;
  /** A Constant node's value: an int64 vector. */
  int64Value?: number[];
}

/** What to change in a model's top-level graph (see editOnnxGraph). */
export interface GraphEdit {
  /**
   * Called with every top-level node in graph order: the nodes to put in its place (none removes
   * it), or undefined to keep it unchanged.
   */
  replace: (node: EditedNode, index: number) => NewNode[] | undefined;
  /** Graph inputs to add. */
  inputs?: { name: string; type: 'int64'; dims: (number | string)[] }[];
}

const sources = new WeakMap<EditedNode, onnx.NodeProto>();

function nodeProto(node: NewNode): onnx.NodeProto {
  const attributes = new Map<string, onnx.AttributeProto>();
  const original = node.attributesOf ? sources.get(node.attributesOf) : undefined;
  for (const attribute of original?.attribute ?? []) attributes.set(attribute.name, attribute);
  const T = onnx.AttributeProto_AttributeType;
  for (const [name, value] of Object.entries(node.ints ?? {}))
    attributes.set(name, onnx.AttributeProto.fromPartial({ name, type: T.INT, i: value }));
  for (const [name, value] of Object.entries(node.floats ?? {}))
    attributes.set(name, onnx.AttributeProto.fromPartial({ name, type: T.FLOAT, f: value }));
  if (node.int64Value) {
    const data = BigInt64Array.from(node.int64Value, (value) => BigInt(value));
    attributes.set(
      'value',
      onnx.AttributeProto.fromPartial({
        name: 'value',
        type: T.TENSOR,
        t: {
          dims: [node.int64Value.length],
          dataType: onnx.TensorProto_DataType.INT64,
          rawData: Buffer.from(data.buffer),
        },
      }),
    );
  }
  return onnx.NodeProto.fromPartial({
    name: node.name,
    opType: node.opType,
    domain: node.domain ?? '',
    input: node.inputs,
    output: node.outputs,
    attribute: [...attributes.values()],
  });
}

// ModelProto.graph and GraphProto.node / .input field numbers (onnx.proto).
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;

/**
 * The bytes of a model with nodes of its graph replaced, working on the serialized bytes: every
 * field but the nodes that change (initializers included, which may be gigabytes) is copied as
 * it is, so an edit costs one copy of the file and never decodes its weights. ONNX Runtime
 * sorts nodes topologically when it loads a model, so replacements may name values produced
 * later in the file.
 */
export function editOnnxGraph(model: Uint8Array, edit: GraphEdit): Uint8Array {
  const pieces: Uint8Array[] = [];
  let offset = 0;
  let nodeIndex = 0;
  let graphs = 0;
  while (offset < model.length) {
    const fieldStart = offset;
    const [key, afterTag] = readVarint(model, offset);
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field !== MODEL_GRAPH || wireType !== 2) {
      offset = skipValue(model, afterTag, wireType);
      pieces.push(model.subarray(fieldStart, offset));
      continue;
    }
    const [length, contentStart] = readVarint(model, afterTag);
    const contentEnd = contentStart + length;
    if (contentEnd > model.length) throw new RangeError('the model is truncated');
    const content: Uint8Array[] = [];
    let inner = contentStart;
    while (inner < contentEnd) {
      const innerStart = inner;
      const [innerKey, innerAfterTag] = readVarint(model, inner);
      inner = skipValue(model, innerAfterTag, innerKey % 8);
      if (Math.floor(innerKey / 8) === GRAPH_NODE && innerKey % 8 === 2) {
        const [nodeLength, nodeStart] = readVarint(model, innerAfterTag);
        const proto = onnx.NodeProto.decode(model.subarray(nodeStart, nodeStart + nodeLength));
        const node: EditedNode = {
          name: proto.name,
          opType: proto.opType,
          domain: proto.domain,
          inputs: proto.input,
          outputs: proto.output,
        };
        sources.set(node, proto);
        const replacement = edit.replace(node, nodeIndex);
        nodeIndex += 1;
        if (replacement) {
          const node = replacement.map(nodeProto);
          content.push(onnx.GraphProto.encode(onnx.GraphProto.fromPartial({ node })).finish());
          continue;
        }
      }
      content.push(model.subarray(innerStart, inner));
    }
    graphs += 1;
    if (graphs === 1 && edit.inputs && edit.inputs.length > 0)
      content.push(
        onnx.GraphProto.encode(
          onnx.GraphProto.fromPartial({
            input: edit.inputs.map((input) => ({
              name: input.name,
              type: {
                tensorType: {
                  elemType: onnx.TensorProto_DataType.INT64,
                  shape: {
                    dim: input.dims.map((dim) =>
                      typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim },
                    ),
                  },
                },
              },
            })),
          }),
        ).finish(),
      );
    const newLength = content.reduce((sum, piece) => sum + piece.length, 0);
    pieces.push(
      Uint8Array.of(...writeVarint(MODEL_GRAPH * 8 + 2)),
      Uint8Array.of(...writeVarint(newLength)),
      ...content,
    );
    offset = contentEnd;
  }
  if (graphs === 0) throw new RangeError('the model has no graph');
  const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

function readVarint(bytes: Uint8Array, offset: number): [number, number] {
  let result = 0;
  let shift = 1;
  for (let i = 0; i < 10; i += 1) {
    if (offset >= bytes.length) throw new RangeError('the model is truncated');
    const byte = bytes[offset] as number;
    offset += 1;
    result += (byte & 0x7f) * shift;
    if (byte < 0x80) return [result, offset];
    shift *= 128;
  }
  throw new RangeError('a varint is too long');
}

function skipValue(bytes: Uint8Array, offset: number, wireType: number): number {
  switch (wireType) {
    case 0:
      return readVarint(bytes, offset)[1];
    case 1:
      return offset + 8;
    case 2: {
      const [length, start] = readVarint(bytes, offset);
      return start + length;
    }
    case 5:
      return offset + 4;
    default:
      throw new RangeError(`unexpected wire type ${wireType}`);
  }
}

function writeVarint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}
