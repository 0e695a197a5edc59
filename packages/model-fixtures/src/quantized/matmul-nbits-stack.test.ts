import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { onnx } from '@vmm/proto';
import * as ort from 'onnxruntime-node';
import { writeMatMulNBitsStack } from './matmul-nbits-stack.js';

const dir = mkdtempSync(join(tmpdir(), 'vmm-nbits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** x · W for each projection of the file, W dequantized as MatMulNBits reads it. */
function reference(path: string, x: Float32Array, rows: number): Float32Array {
  const model = onnx.ModelProto.decode(readFileSync(path));
  const graph = model.graph!;
  const tensors = new Map(graph.initializer.map((t) => [t.name, t]));
  let current = x;
  // graph.output adds an Identity naming the output: only the projections compute.
  for (const node of graph.node.filter((n) => n.opType === 'MatMulNBits')) {
    const attribute = (name: string) => Number(node.attribute.find((a) => a.name === name)?.i);
    const [K, N, block] = [attribute('K'), attribute('N'), attribute('block_size')];
    const q = tensors.get(node.input[1]!)!.rawData;
    const scaleBytes = tensors.get(node.input[2]!)!.rawData;
    const scales = new Float32Array(
      scaleBytes.buffer.slice(scaleBytes.byteOffset, scaleBytes.byteOffset + scaleBytes.byteLength),
    );
    const blocks = Math.ceil(K / block);
    const next = new Float32Array(rows * N);
    for (let n = 0; n < N; n += 1) {
      for (let k = 0; k < K; k += 1) {
        const b = Math.floor(k / block);
        const byte = q[(n * blocks + b) * (block / 2) + Math.floor((k % block) / 2)] as number;
        const w = ((k % 2 === 0 ? byte & 0xf : byte >> 4) - 8) * (scales[n * blocks + b] as number);
        for (let m = 0; m < rows; m += 1)
          next[m * N + n] = (next[m * N + n] as number) + (current[m * K + k] as number) * w;
      }
    }
    current = next;
  }
  return current;
}

describe('writeMatMulNBitsStack', () => {
  it.each([16, 32, 128])(
    'writes 4-bit blocks of %i that ONNX Runtime multiplies as dequantized',
    async (blockSize) => {
      const path = join(dir, `stack-${blockSize}.onnx`);
      writeMatMulNBitsStack(path, {
        width: 128,
        hidden: 256,
        pairs: 2,
        blockSize,
        accuracyLevel: 0,
        seed: blockSize,
      });
      const rows = 3;
      const x = Float32Array.from({ length: rows * 128 }, (_, i) => Math.sin(i));
      const session = await ort.InferenceSession.create(path);
      try {
        const { y } = await session.run({ x: new ort.Tensor('float32', x, [rows, 128]) });
        const want = reference(path, x, rows);
        const got = y!.data as Float32Array;
        expect(y!.dims).toEqual([rows, 128]);
        let worst = 0;
        for (let i = 0; i < want.length; i += 1)
          worst = Math.max(worst, Math.abs((got[i] as number) - (want[i] as number)));
        expect(worst).toBeLessThan(1e-3);
        // Activations keep about unit size through the chain (neither vanish nor blow up).
        const rms = Math.sqrt(want.reduce((sum, v) => sum + v * v, 0) / want.length);
        expect(rms).toBeGreaterThan(0.05);
        expect(rms).toBeLessThan(20);
      } finally {
        await session.release();
      }
    },
  );

  it('refuses a block size MatMulNBits cannot take', () => {
    expect(() =>
      writeMatMulNBitsStack(join(dir, 'bad.onnx'), {
        width: 64,
        hidden: 64,
        pairs: 1,
        blockSize: 48,
        accuracyLevel: 4,
      }),
    ).toThrow(/power of two from 16 to 256, got 48/);
  });
});
