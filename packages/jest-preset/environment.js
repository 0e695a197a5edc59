// Jest runs each test file in its own vm context, whose typed-array constructors differ from
// the host's. Native addons (onnxruntime-node, sharp) create arrays in the host realm, and
// libraries check them with `instanceof Float32Array`, which then fails across realms. Sharing
// the host's binary-data constructors with the test context makes both sides agree.
import { TestEnvironment } from 'jest-environment-node';

const shared = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

export default class VmmTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of shared) this.global[name] = globalThis[name];
  }
}
