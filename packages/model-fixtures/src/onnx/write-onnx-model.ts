import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { onnx } from '@vmm/proto';
import { type GraphBuilder, tensorProto } from './graph-builder.js';

export interface WriteOnnxOptions {
  /** The default-domain opset the graph is written against. */
  opset: number;
  /** `metadata_props`, in insertion order (Ultralytics writes names, stride, imgsz there). */
  metadata?: Record<string, string>;
  /** Weights go to `<file>_data` (ONNX external data), as exports over 2 GB must. */
  externalData?: boolean;
  docString?: string;
}

const IR_VERSION = 8;
/**
 * Like onnx's `save_model(..., size_threshold=1024)`: small tensors (shapes, axes, scalars) stay
 * inline, because shape inference must read them and cannot follow external references.
 */
const EXTERNAL_MIN_BYTES = 1024;

/** Writes `graph` to `path`; returns the files written (the model, then its external data). */
export function writeOnnxModel(path: string, graph: GraphBuilder, options: WriteOnnxOptions): string[] {
  const initializers: onnx.TensorProto[] = [];
  const written = [path];
  if (options.externalData) {
    const dataPath = `${path}_data`;
    const location = basename(dataPath);
    const fd = openSync(dataPath, 'w');
    let offset = 0;
    try {
      for (const initializer of graph.initializers) {
        const bytes = initializer.bytes();
        if (bytes.byteLength < EXTERNAL_MIN_BYTES) {
          initializers.push(tensorProto(initializer, bytes));
          continue;
        }
        writeSync(fd, bytes);
        initializers.push(
          onnx.TensorProto.fromPartial({
            ...tensorProto(initializer, new Uint8Array(0)),
            rawData: Buffer.alloc(0),
            dataLocation: onnx.TensorProto_DataLocation.EXTERNAL,
            externalData: [
              { key: 'location', value: location },
              { key: 'offset', value: String(offset) },
              { key: 'length', value: String(bytes.byteLength) },
            ],
          }),
        );
        offset += bytes.byteLength;
      }
    } finally {
      closeSync(fd);
    }
    written.push(dataPath);
  } else {
    for (const initializer of graph.initializers)
      initializers.push(tensorProto(initializer, initializer.bytes()));
  }
  const model = onnx.ModelProto.fromPartial({
    irVersion: IR_VERSION,
    // Contrib operators (com.microsoft) have one version: 1.
    opsetImport: [
      { domain: '', version: options.opset },
      ...graph.usedDomains.map((domain) => ({ domain, version: 1 })),
    ],
    producerName: 'vmm-model-fixtures',
    producerVersion: '0.1.0',
    docString: options.docString ?? '',
    graph: graph.graphProto(initializers),
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
  return written;
}
