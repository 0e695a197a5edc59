import { GraphBuilder } from '../onnx/graph-builder.js';
import { writeOnnxModel } from '../onnx/write-onnx-model.js';
import { Prng } from '../prng.js';

export interface MatMulNBitsStackOptions {
  /** Width of the input and of the output (`x` and `y` are [M, width]). */
  width: number;
  /** Width in the middle of each pair (an MLP's intermediate size). */
  hidden: number;
  /** Pairs of projections (width → hidden → width). */
  pairs: number;
  /** Inputs per 4-bit block (MatMulNBits' block_size: 16 to 256, a power of two). */
  blockSize: number;
  /** MatMulNBits' accuracy_level: 0 float compute, 4 int8 activations with integer dot products. */
  accuracyLevel: number;
  seed?: number;
}

/**
 * A chain of 4-bit projections and nothing else, as exporters write them (symmetric MatMulNBits,
 * B [N, blocks, blockSize / 2], one float scale per block, no zero points): what an int4 decoder's
 * step spends nearly all its time in, with the block size and accuracy level as parameters, so a
 * benchmark can time rows per call for each layout users bring. Random nibbles and scales of
 * 1 / sqrt(21 K) keep activations near unit size through the chain (a nibble's (q - 8)² averages
 * 21.5); every matrix has its own values, so no two initializers are alike.
 */
export function writeMatMulNBitsStack(path: string, options: MatMulNBitsStackOptions): void {
  const { width, hidden, pairs, blockSize, accuracyLevel } = options;
  if (!(blockSize >= 16 && blockSize <= 256 && (blockSize & (blockSize - 1)) === 0)) {
    throw new RangeError(`blockSize must be a power of two from 16 to 256, got ${blockSize}`);
  }
  const prng = new Prng(options.seed ?? 1);
  const graph = GraphBuilder.create('matmul_nbits_stack');
  let x = graph.input('x', 'float32', ['M', width]);
  for (let pair = 0; pair < pairs; pair += 1) {
    for (const [inputs, outputs, name] of [
      [width, hidden, `up${pair}`],
      [hidden, width, `down${pair}`],
    ] as const) {
      const blocks = Math.ceil(inputs / blockSize);
      const values = prng.fork(name);
      const b = graph.weight(`${name}_Q4`, 'uint8', [outputs, blocks, blockSize / 2], () => {
        const bytes = new Uint8Array(outputs * blocks * (blockSize / 2));
        for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(values.next() * 256);
        return bytes;
      });
      const scale = 1 / Math.sqrt(21.5 * inputs);
      const scales = graph.weight(`${name}_scales`, 'float32', [outputs * blocks], () => {
        const out = new Float32Array(outputs * blocks);
        for (let i = 0; i < out.length; i += 1) out[i] = scale * (0.5 + values.next());
        return new Uint8Array(out.buffer);
      });
      x = graph.node(
        'MatMulNBits',
        [x, b, scales],
        {
          K: { int: inputs },
          N: { int: outputs },
          bits: { int: 4 },
          block_size: { int: blockSize },
          accuracy_level: { int: accuracyLevel },
        },
        'com.microsoft',
      );
    }
  }
  graph.output(x, 'y', 'float32', ['M', width]);
  writeOnnxModel(path, graph, { opset: 17 });
}
