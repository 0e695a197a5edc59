import type { GraphBuilder } from '../onnx/graph-builder.js';
import { rawBytes } from '../onnx/tensor-data.js';
import type { Prng } from '../prng.js';

/** The shape of a BERT-style encoder (all-MiniLM-L6-v2 is 384 wide, 6 layers, 12 heads). */
export interface BertShape {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
}

/**
 * BertModel as Optimum exports it for `feature-extraction`: inputs `input_ids`,
 * `attention_mask`, `token_type_ids` [batch, sequence] (int64), output `last_hidden_state`
 * [batch, sequence, hidden]. Embeddings (word + position + type, LayerNorm), then per layer
 * self-attention with the padding mask as a large negative bias, GELU (erf) feed-forward,
 * post-norm residuals — the ops of the real export, with seeded random weights.
 */
export function addBertEncoder(graph: GraphBuilder, shape: BertShape, prng: Prng): void {
  const { hidden, heads } = shape;
  const headDim = hidden / heads;
  const f32 = (name: string, dims: number[], scale: number, offset = 0) => {
    const values = prng.fork(name).uniform(
      dims.reduce((a, b) => a * b, 1),
      scale,
    );
    if (offset !== 0) for (let i = 0; i < values.length; i += 1) values[i] = (values[i] as number) + offset;
    return graph.weight(name, 'float32', dims, () => rawBytes('float32', values));
  };
  const i64 = (values: number[]) => graph.constant('int64', values);

  const ids = graph.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const mask = graph.input('attention_mask', 'int64', ['batch_size', 'sequence_length']);
  const types = graph.input('token_type_ids', 'int64', ['batch_size', 'sequence_length']);

  // Positions 0..S-1, from the input's own length.
  const inputShape = graph.node('Shape', [ids]);
  const seqLen = graph.node('Gather', [inputShape, graph.constant('int64', [1], [])], { axis: { int: 0 } });
  const positions = graph.node('Range', [
    graph.constant('int64', [0], []),
    seqLen,
    graph.constant('int64', [1], []),
  ]);

  const word = graph.node('Gather', [
    f32('embeddings.word_embeddings.weight', [shape.vocabSize, hidden], 0.5),
    ids,
  ]);
  const position = graph.node('Gather', [
    f32('embeddings.position_embeddings.weight', [shape.maxPositions, hidden], 0.2),
    graph.node('Unsqueeze', [positions, i64([0])]),
  ]);
  const type = graph.node('Gather', [
    f32('embeddings.token_type_embeddings.weight', [shape.typeVocabSize, hidden], 0.2),
    types,
  ]);
  const layerNorm = (x: string, name: string) =>
    graph.node(
      'LayerNormalization',
      [x, f32(`${name}.weight`, [hidden], 0.1, 1), f32(`${name}.bias`, [hidden], 0.1)],
      { axis: { int: -1 }, epsilon: { float: shape.layerNormEps } },
    );
  let x = layerNorm(graph.node('Add', [graph.node('Add', [word, position]), type]), 'embeddings.LayerNorm');

  // (1 - mask) * lowest float: padded keys get no weight, as transformers' extended mask does.
  const maskFloat = graph.node('Cast', [mask], { to: { int: 1 } });
  const bias = graph.node('Mul', [
    graph.node('Sub', [graph.constant('float32', [1], []), maskFloat]),
    graph.constant('float32', [-3.4028234663852886e38], []),
  ]);
  const maskBias = graph.node('Unsqueeze', [bias, i64([1, 2])]);

  const linear = (input: string, name: string, inDim: number, outDim: number) =>
    graph.node('Add', [
      graph.node('MatMul', [input, f32(`${name}.weight`, [inDim, outDim], 1 / Math.sqrt(inDim))]),
      f32(`${name}.bias`, [outDim], 0.05),
    ]);
  const splitHeads = (t: string) =>
    graph.node('Transpose', [graph.node('Reshape', [t, i64([0, 0, heads, headDim])])], {
      perm: { ints: [0, 2, 1, 3] },
    });

  for (let layer = 0; layer < shape.layers; layer += 1) {
    const p = `encoder.layer.${layer}`;
    const q = splitHeads(linear(x, `${p}.attention.self.query`, hidden, hidden));
    const k = splitHeads(linear(x, `${p}.attention.self.key`, hidden, hidden));
    const v = splitHeads(linear(x, `${p}.attention.self.value`, hidden, hidden));
    const kT = graph.node('Transpose', [k], { perm: { ints: [0, 1, 3, 2] } });
    const scores = graph.node('Add', [
      graph.node('Div', [graph.node('MatMul', [q, kT]), graph.constant('float32', [Math.sqrt(headDim)], [])]),
      maskBias,
    ]);
    const probabilities = graph.node('Softmax', [scores], { axis: { int: -1 } });
    const context = graph.node('Reshape', [
      graph.node('Transpose', [graph.node('MatMul', [probabilities, v])], { perm: { ints: [0, 2, 1, 3] } }),
      i64([0, 0, hidden]),
    ]);
    const attended = linear(context, `${p}.attention.output.dense`, hidden, hidden);
    x = layerNorm(graph.node('Add', [attended, x]), `${p}.attention.output.LayerNorm`);
    const up = linear(x, `${p}.intermediate.dense`, hidden, shape.intermediate);
    // GELU, exactly: 0.5 x (1 + erf(x / sqrt 2)).
    const gelu = graph.node('Mul', [
      graph.node('Mul', [up, graph.constant('float32', [0.5], [])]),
      graph.node('Add', [
        graph.constant('float32', [1], []),
        graph.node('Erf', [graph.node('Div', [up, graph.constant('float32', [Math.SQRT2], [])])]),
      ]),
    ]);
    const down = linear(gelu, `${p}.output.dense`, shape.intermediate, hidden);
    x = layerNorm(graph.node('Add', [down, x]), `${p}.output.LayerNorm`);
  }
  graph.output(x, 'last_hidden_state', 'float32', ['batch_size', 'sequence_length', hidden]);
}
