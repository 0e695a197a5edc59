import { onnx } from '@vmm/proto';
import { geluTanh } from '../family/optimum-graph.js';
import type { GraphBuilder } from '../onnx/graph-builder.js';
import type { Prng } from '../prng.js';
import { visionLayers } from './vision-layers.js';

const FLOAT = onnx.TensorProto_DataType.FLOAT;
const LOWEST = -3.4028234663852886e38;

/** The vision tower and connector of an Idefics3 / SmolVLM checkpoint (SigLIP + pixel shuffle). */
export interface Idefics3VisionShape {
  /** Side of a tile in pixels (the processor's max_image_size.longest_edge). */
  imageSize: number;
  patchSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  layerNormEps: number;
  /** The connector's pixel shuffle: scale² patches become one token. */
  scaleFactor: number;
  /** The text model's width, which the connector projects to. */
  textHiddenSize: number;
}

/** Tokens one tile becomes: (imageSize / patchSize)² / scaleFactor² (the processor's image_seq_len). */
export function imageSeqLen(shape: Idefics3VisionShape): number {
  return (shape.imageSize / shape.patchSize) ** 2 / shape.scaleFactor ** 2;
}

/**
 * `vision_encoder.onnx` as onnx-community exports Idefics3 and SmolVLM: pixel_values
 * [batch, images, 3, H, W] and pixel_attention_mask [batch, images, H, W] (bool) → image_features
 * [real images, image_seq_len, text hidden]. As Idefics3Model.get_image_features computes it:
 * padding images (all zeros, from batching prompts with fewer tiles) are dropped; a patch is
 * attended to where the pixel mask covers any of its pixels; SigLIP's patch embedding (a strided
 * Conv), learned positions, pre-norm encoder layers (tanh GELU MLP) and post-norm; then the
 * connector's pixel shuffle and its projection without bias. Weights are random (`prng`), at
 * scales that keep activations near unit variance.
 */
export function addIdefics3VisionEncoder(graph: GraphBuilder, shape: Idefics3VisionShape, prng: Prng): void {
  const { imageSize: size, patchSize: patch, hiddenSize: width, numHeads: heads } = shape;
  const side = size / patch;
  const patches = side * side;
  const headDim = width / heads;
  const i64 = (values: number[], dims?: number[]) => graph.constant('int64', values, dims);
  const f32 = (values: number[], dims?: number[]) => graph.constant('float32', values, dims);
  const { weight, linear, layerNorm: norm } = visionLayers(graph, prng);
  const layerNorm = (x: string, name: string) => norm(x, name, width, shape.layerNormEps);

  const pixelValues = graph.input('pixel_values', 'float32', [
    'batch_size',
    'num_images',
    3,
    'height',
    'width',
  ]);
  const pixelMask = graph.input('pixel_attention_mask', 'bool', [
    'batch_size',
    'num_images',
    'height',
    'width',
  ]);
  const images = graph.node('Reshape', [pixelValues, i64([-1, 3, size, size])]);
  const masks = graph.node('Reshape', [pixelMask, i64([-1, size, size])]);
  // real_images_inds: an image whose every value is 0 is padding.
  const zeros = graph.node(
    'ReduceSum',
    [
      graph.node('Cast', [graph.node('Equal', [images, f32([0], [])])], { to: { int: FLOAT } }),
      i64([1, 2, 3]),
    ],
    { keepdims: { int: 0 } },
  );
  const real = graph.node('Not', [graph.node('Equal', [zeros, f32([3 * size * size], [])])]);
  const kept = graph.node('Compress', [images, real], { axis: { int: 0 } });
  const keptMasks = graph.node('Compress', [masks, real], { axis: { int: 0 } });

  // patch_attention_mask: a patch counts where the pixel mask covers any of its pixels.
  const patchMask = graph.node('Reshape', [
    graph.node(
      'MaxPool',
      [graph.node('Unsqueeze', [graph.node('Cast', [keptMasks], { to: { int: FLOAT } }), i64([1])])],
      { kernel_shape: { ints: [patch, patch] }, strides: { ints: [patch, patch] } },
    ),
    i64([-1, 1, 1, patches]),
  ]);
  const keyMask = graph.node('Where', [
    graph.node('Greater', [patchMask, f32([0], [])]),
    f32([0], []),
    f32([LOWEST], []),
  ]);

  const embedded = graph.node(
    'Conv',
    [
      kept,
      weight(
        'vision_model.embeddings.patch_embedding.weight',
        [width, 3, patch, patch],
        Math.sqrt(3 / (3 * patch * patch)),
      ),
      weight('vision_model.embeddings.patch_embedding.bias', [width], 0.1),
    ],
    { kernel_shape: { ints: [patch, patch] }, strides: { ints: [patch, patch] } },
  );
  let hidden = graph.node('Add', [
    graph.node('Transpose', [graph.node('Reshape', [embedded, i64([0, width, patches])])], {
      perm: { ints: [0, 2, 1] },
    }),
    weight('vision_model.embeddings.position_embedding.weight', [patches, width], 0.5),
  ]);

  const toHeads = (x: string) =>
    graph.node('Transpose', [graph.node('Reshape', [x, i64([0, 0, heads, headDim])])], {
      perm: { ints: [0, 2, 1, 3] },
    });
  for (let i = 0; i < shape.numLayers; i += 1) {
    const p = `vision_model.encoder.layers.${i}.`;
    const x = layerNorm(hidden, `${p}layer_norm1`);
    const q = toHeads(linear(x, `${p}self_attn.q_proj`, width, width));
    const k = toHeads(linear(x, `${p}self_attn.k_proj`, width, width));
    const v = toHeads(linear(x, `${p}self_attn.v_proj`, width, width));
    const scores = graph.node('Add', [
      graph.node('Mul', [
        graph.node('MatMul', [q, graph.node('Transpose', [k], { perm: { ints: [0, 1, 3, 2] } })]),
        f32([Math.fround(1 / Math.sqrt(headDim))], []),
      ]),
      keyMask,
    ]);
    const attended = graph.node('Reshape', [
      graph.node(
        'Transpose',
        [graph.node('MatMul', [graph.node('Softmax', [scores], { axis: { int: -1 } }), v])],
        {
          perm: { ints: [0, 2, 1, 3] },
        },
      ),
      i64([0, 0, width]),
    ]);
    hidden = graph.node('Add', [hidden, linear(attended, `${p}self_attn.out_proj`, width, width)]);
    const y = layerNorm(hidden, `${p}layer_norm2`);
    const mlp = linear(
      geluTanh(graph, linear(y, `${p}mlp.fc1`, width, shape.intermediateSize)),
      `${p}mlp.fc2`,
      shape.intermediateSize,
      width,
    );
    hidden = graph.node('Add', [hidden, mlp]);
  }
  hidden = layerNorm(hidden, 'vision_model.post_layernorm');

  // Idefics3Connector.pixel_shuffle, view by view.
  const s = shape.scaleFactor;
  let shuffled = graph.node('Reshape', [hidden, i64([0, side, side / s, width * s])]);
  shuffled = graph.node('Transpose', [shuffled], { perm: { ints: [0, 2, 1, 3] } });
  shuffled = graph.node('Reshape', [shuffled, i64([0, side / s, side / s, width * s * s])]);
  shuffled = graph.node('Transpose', [shuffled], { perm: { ints: [0, 2, 1, 3] } });
  shuffled = graph.node('Reshape', [shuffled, i64([0, patches / (s * s), width * s * s])]);
  const features = linear(
    shuffled,
    'connector.modality_projection.proj',
    width * s * s,
    shape.textHiddenSize,
    false,
  );
  graph.output(features, 'image_features', 'float32', [
    'num_real_images',
    imageSeqLen(shape),
    shape.textHiddenSize,
  ]);
}
