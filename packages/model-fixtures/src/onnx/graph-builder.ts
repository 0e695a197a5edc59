import { onnx } from '@vmm/proto';
import { type ElementType, onnxDataType, rawBytes } from './tensor-data.js';

export type Dim = number | string;

/** An ONNX attribute value, tagged by kind so that 1 (INT) and 1.0 (FLOAT) cannot be confused. */
export type Attribute =
  | { int: number }
  | { float: number }
  | { ints: number[] }
  | { floats: number[] }
  | { string: string }
  | { graph: onnx.GraphProto }
  | { tensor: onnx.TensorProto };

/** A weight whose bytes are produced only when the model is written, to keep memory flat. */
export interface Initializer {
  name: string;
  type: ElementType;
  dims: number[];
  bytes: () => Uint8Array;
}

function valueInfo(name: string, type: ElementType, dims: Dim[]): onnx.ValueInfoProto {
  return onnx.ValueInfoProto.fromPartial({
    name,
    type: {
      tensorType: {
        elemType: onnxDataType[type],
        shape: { dim: dims.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })) },
      },
    },
  });
}

function attributeProto(name: string, value: Attribute): onnx.AttributeProto {
  const T = onnx.AttributeProto_AttributeType;
  if ('int' in value) return onnx.AttributeProto.fromPartial({ name, type: T.INT, i: value.int });
  if ('float' in value) return onnx.AttributeProto.fromPartial({ name, type: T.FLOAT, f: value.float });
  if ('ints' in value) return onnx.AttributeProto.fromPartial({ name, type: T.INTS, ints: value.ints });
  if ('floats' in value)
    return onnx.AttributeProto.fromPartial({ name, type: T.FLOATS, floats: value.floats });
  if ('string' in value) {
    return onnx.AttributeProto.fromPartial({ name, type: T.STRING, s: Buffer.from(value.string) });
  }
  if ('graph' in value) return onnx.AttributeProto.fromPartial({ name, type: T.GRAPH, g: value.graph });
  return onnx.AttributeProto.fromPartial({ name, type: T.TENSOR, t: value.tensor });
}

/**
 * Builds one ONNX graph. Value names are unique across a model: a subgraph builder (for an
 * `If` branch) prefixes its names and registers weights on the root, because branches read
 * weights from the outer scope, as exported merged decoders do.
 */
export class GraphBuilder {
  private readonly nodes: onnx.NodeProto[] = [];
  private readonly inputs: onnx.ValueInfoProto[] = [];
  private readonly outputs: onnx.ValueInfoProto[] = [];
  private readonly ownInitializers: Initializer[] = [];
  private readonly counter: { value: number };
  private readonly domains: Set<string>;

  private constructor(
    readonly name: string,
    private readonly prefix: string,
    private readonly root: GraphBuilder | undefined,
    counter: { value: number },
    domains: Set<string>,
  ) {
    this.counter = counter;
    this.domains = domains;
  }

  static create(name: string): GraphBuilder {
    return new GraphBuilder(name, '', undefined, { value: 0 }, new Set());
  }

  /** A builder for a subgraph (If / Loop body) whose names start with `prefix`. */
  subgraph(name: string, prefix: string): GraphBuilder {
    return new GraphBuilder(name, `${this.prefix}${prefix}`, this.root ?? this, this.counter, this.domains);
  }

  /** Operator domains other than the default one that nodes use (e.g. "com.microsoft"). */
  get usedDomains(): readonly string[] {
    return [...this.domains].sort();
  }

  get initializers(): readonly Initializer[] {
    return (this.root ?? this).ownInitializers;
  }

  input(name: string, type: ElementType, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** Declares `value` a graph output under `name` (an Identity node renames it when needed). */
  output(value: string, name: string, type: ElementType, dims: Dim[]): void {
    if (value !== name) this.nodes.push(this.nodeProto('Identity', [value], [name], {}));
    this.outputs.push(valueInfo(name, type, dims));
  }

  weight(name: string, type: ElementType, dims: number[], bytes: () => Uint8Array): string {
    (this.root ?? this).ownInitializers.push({ name, type, dims, bytes });
    return name;
  }

  /** A small constant initializer; scalars have `dims` []. */
  constant(type: ElementType, values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh('const');
    const data = rawBytes(type, values);
    return this.weight(name, type, dims, () => data);
  }

  /** Adds a node and returns its output names. */
  nodeN(
    op: string,
    inputs: string[],
    outputCount: number,
    attributes: Record<string, Attribute> = {},
    domain = '',
  ): string[] {
    const outputs = Array.from({ length: outputCount }, () => this.fresh(op));
    this.nodes.push(this.nodeProto(op, inputs, outputs, attributes, domain));
    if (domain !== '') this.domains.add(domain);
    return outputs;
  }

  /** Adds a single-output node and returns its output name. */
  node(op: string, inputs: string[], attributes: Record<string, Attribute> = {}, domain = ''): string {
    return this.nodeN(op, inputs, 1, attributes, domain)[0] as string;
  }

  /** The graph without weights: the model writer decides where their bytes go. */
  graphProto(initializers: onnx.TensorProto[] = []): onnx.GraphProto {
    return onnx.GraphProto.fromPartial({
      name: this.name,
      node: this.nodes,
      input: this.inputs,
      output: this.outputs,
      initializer: initializers,
    });
  }

  private fresh(op: string): string {
    this.counter.value += 1;
    return `${this.prefix}${op}_${this.counter.value}`;
  }

  private nodeProto(
    op: string,
    inputs: string[],
    outputs: string[],
    attributes: Record<string, Attribute>,
    domain = '',
  ): onnx.NodeProto {
    return onnx.NodeProto.fromPartial({
      name: `${this.prefix}${op}_node_${outputs[0] ?? ''}`,
      opType: op,
      domain,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attributes).map(([key, value]) => attributeProto(key, value)),
    });
  }
}

export function tensorProto(initializer: Initializer, bytes: Uint8Array): onnx.TensorProto {
  return onnx.TensorProto.fromPartial({
    name: initializer.name,
    dims: initializer.dims,
    dataType: onnxDataType[initializer.type],
    rawData: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  });
}
