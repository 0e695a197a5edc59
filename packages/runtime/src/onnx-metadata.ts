import { FileCursor } from './onnx-file-cursor.js';

export interface OnnxFileInfo {
  irVersion: number;
  producerName: string;
  opsets: { domain: string; version: number }[];
  /** `metadata_props`, e.g. Ultralytics' names, imgsz, task. */
  metadata: Record<string, string>;
}

// ModelProto field numbers (onnx.proto).
const IR_VERSION = 1;
const PRODUCER_NAME = 2;
const OPSET_IMPORT = 8;
const METADATA_PROPS = 14;
const MAX_SMALL_FIELD = 16 * 1024 * 1024;

/**
 * Reads an ONNX file's header fields and `metadata_props` without reading its graph: ONNX
 * Runtime has no API for metadata, and the graph (with inline weights) can be gigabytes, so
 * the protobuf is walked field by field and the graph's bytes are skipped with a seek.
 */
export function readOnnxMetadata(path: string): OnnxFileInfo {
  const file = new FileCursor(path);
  try {
    const info: OnnxFileInfo = { irVersion: 0, producerName: '', opsets: [], metadata: {} };
    while (!file.atEnd()) {
      const tag = file.varint();
      const field = Math.floor(tag / 8);
      const wireType = tag % 8;
      if (wireType === 0) {
        const value = file.varint();
        if (field === IR_VERSION) info.irVersion = value;
      } else if (wireType === 2) {
        const length = file.varint();
        if (field === PRODUCER_NAME || field === OPSET_IMPORT || field === METADATA_PROPS) {
          if (length > MAX_SMALL_FIELD) throw file.invalid(`field ${field} is implausibly large`);
          const bytes = file.bytes(length);
          if (field === PRODUCER_NAME) {
            info.producerName = new TextDecoder().decode(bytes);
            continue;
          }
          const fields = decodeMessage(bytes, file);
          if (field === OPSET_IMPORT) {
            info.opsets.push({ domain: fields.strings.get(1) ?? '', version: fields.numbers.get(2) ?? 0 });
          } else {
            info.metadata[fields.strings.get(1) ?? ''] = fields.strings.get(2) ?? '';
          }
        } else {
          file.skip(length);
        }
      } else if (wireType === 5) {
        file.skip(4);
      } else if (wireType === 1) {
        file.skip(8);
      } else {
        throw file.invalid(`unexpected wire type ${wireType}`);
      }
      if (field === 0) throw file.invalid('field number 0');
    }
    if (info.irVersion === 0) throw file.invalid('no ir_version');
    return info;
  } finally {
    file.close();
  }
}

/** The string and varint fields of a small message (StringStringEntryProto, OperatorSetIdProto). */
function decodeMessage(
  bytes: Uint8Array,
  file: FileCursor,
): { strings: Map<number, string>; numbers: Map<number, number> } {
  const strings = new Map<number, string>();
  const numbers = new Map<number, number>();
  let offset = 0;
  const varint = () => {
    let result = 0;
    let shift = 1;
    for (;;) {
      const byte = bytes[offset];
      if (byte === undefined) throw file.invalid('truncated varint');
      offset += 1;
      result += (byte & 0x7f) * shift;
      if (byte < 0x80) return result;
      shift *= 128;
    }
  };
  while (offset < bytes.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (wireType === 0) numbers.set(field, varint());
    else if (wireType === 2) {
      const length = varint();
      if (offset + length > bytes.length) throw file.invalid('truncated field');
      strings.set(field, new TextDecoder().decode(bytes.subarray(offset, offset + length)));
      offset += length;
    } else if (wireType === 5) offset += 4;
    else if (wireType === 1) offset += 8;
    else throw file.invalid(`unexpected wire type ${wireType}`);
  }
  return { strings, numbers };
}
