import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

/**
 * The smallest useful ONNX model — y = Identity(x), x float[1] — encoded by hand (field numbers
 * from onnx.proto), so a worker can prove at start-up that its execution provider loads
 * without any model folder.
 */
export function probeModelBytes(): Uint8Array {
  const valueInfo = (name: string) => {
    const writer = new BinaryWriter();
    writer.tag(1, WireType.LengthDelimited).string(name);
    writer.tag(2, WireType.LengthDelimited).fork(); // TypeProto
    writer.tag(1, WireType.LengthDelimited).fork(); // TypeProto.Tensor
    writer.tag(1, WireType.Varint).int32(1); // elem_type FLOAT
    writer.tag(2, WireType.LengthDelimited).fork(); // TensorShapeProto
    writer.tag(1, WireType.LengthDelimited).fork(); // Dimension
    writer.tag(1, WireType.Varint).int64(1); // dim_value
    writer.join().join().join().join();
    return writer.finish();
  };
  const node = new BinaryWriter();
  node.tag(1, WireType.LengthDelimited).string('x');
  node.tag(2, WireType.LengthDelimited).string('y');
  node.tag(4, WireType.LengthDelimited).string('Identity');
  const graph = new BinaryWriter();
  graph.tag(1, WireType.LengthDelimited).bytes(node.finish());
  graph.tag(2, WireType.LengthDelimited).string('probe');
  graph.tag(11, WireType.LengthDelimited).bytes(valueInfo('x'));
  graph.tag(12, WireType.LengthDelimited).bytes(valueInfo('y'));
  const opset = new BinaryWriter();
  opset.tag(1, WireType.LengthDelimited).string('');
  opset.tag(2, WireType.Varint).int64(13);
  const model = new BinaryWriter();
  model.tag(1, WireType.Varint).int64(8); // ir_version
  model.tag(2, WireType.LengthDelimited).string('vmm-probe');
  model.tag(7, WireType.LengthDelimited).bytes(graph.finish());
  model.tag(8, WireType.LengthDelimited).bytes(opset.finish());
  return model.finish();
}
