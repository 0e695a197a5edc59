// The public surface of the generated code. Everything under gen/ is written by
// `npm run proto:generate` from proto/ and never edited by hand.
export * from './gen/vmm/v1/common.js';
export * from './gen/vmm/v1/inference.js';
export * from './gen/vmm/v1/models.js';
// The ONNX model format (a subset), as a namespace: its names (TensorProto, GraphProto, ...)
// belong to ONNX, not to VMM's contract.
export * as onnx from './gen/onnx/onnx.js';
export { protoRoot, protoFiles } from './proto-files.js';
