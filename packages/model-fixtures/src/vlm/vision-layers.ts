import type { GraphBuilder } from '../onnx/graph-builder.js';
import { rawBytes } from '../onnx/tensor-data.js';
import type { Prng } from '../prng.js';

/**
 * The layers vision towers are built of, with random weights from `prng` (each weight its own
 * stream, by name) at scales that keep activations near unit variance.
 */
export function visionLayers(graph: GraphBuilder, prng: Prng) {
  const weight = (name: string, dims: number[], scale: number, base = 0) => {
    const count = dims.reduce((a, b) => a * b, 1);
    const values = prng.fork(name).uniform(count, scale);
    if (base !== 0) for (let i = 0; i < count; i += 1) values[i] = (values[i] as number) + base;
    return graph.weight(name, 'float32', dims, () => rawBytes('float32', values));
  };
  /** x · W (+ b), W [inputs, outputs]. */
  const linear = (x: string, name: string, inputs: number, outputs: number, bias = true) => {
    const product = graph.node('MatMul', [
      x,
      weight(`${name}.weight`, [inputs, outputs], Math.sqrt(3 / inputs)),
    ]);
    return bias ? graph.node('Add', [product, weight(`${name}.bias`, [outputs], 0.1)]) : product;
  };
  const layerNorm = (x: string, name: string, size: number, epsilon: number) =>
    graph.node(
      'LayerNormalization',
      [x, weight(`${name}.weight`, [size], 0.1, 1), weight(`${name}.bias`, [size], 0.1)],
      { axis: { int: -1 }, epsilon: { float: epsilon } },
    );
  return { weight, linear, layerNorm };
}
