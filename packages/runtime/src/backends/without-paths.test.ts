import { describe, expect, it } from '@jest/globals';
import { withoutPaths } from './without-paths.js';

describe('withoutPaths', () => {
  it.each([
    [
      'Load model from /srv/models/.vmm/trees/ab12/model.onnx failed: Protobuf parsing failed.',
      'Load model from model.onnx failed: Protobuf parsing failed.',
    ],
    [
      'External data path: "../secret.bin" resolved path: "/tmp/ext/secret.bin" allowed directory: "/tmp/ext/m"',
      'External data path: "../secret.bin" resolved path: "secret.bin" allowed directory: "m"',
    ],
    ["open '/home/vmm/models/x/weights.bin'", "open 'weights.bin'"],
    ['/etc/passwd', 'passwd'],
    [
      'a MatMul of [1,2] and [3,4] in application/json (see https://onnx.ai/x)',
      'a MatMul of [1,2] and [3,4] in application/json (see https://onnx.ai/x)',
    ],
  ])('%j', (message, expected) => {
    expect(withoutPaths(message)).toBe(expected);
  });
});
