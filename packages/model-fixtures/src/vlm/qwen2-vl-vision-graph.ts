import { onnx } from '@vmm/proto';
import type { GraphBuilder } from '../onnx/graph-builder.js';
import type { Prng } from '../prng.js';
import { visionLayers } from './vision-layers.js';

const LOWEST = -3.4028234663852886e38;

/** The vision tower and merger of a Qwen2-VL checkpoint. */
export interface Qwen2VlVisionShape {
  patchSize: number;
  temporalPatchSize: number;
  /** 2: each 2×2 block of patches becomes one token. */
  spatialMergeSize: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpRatio: number;
  /** The text model's width, which the merger projects to. */
  hiddenSize: number;
}

/**
 * `vision_encoder.onnx` as onnx-community exports Qwen2-VL for transformers.js: pixel_values
 * [patches, 3 × temporal × patch²] (the processor's merge-block order) and grid_thw [images, 3]
 * → image_features [patches / merge², text hidden]. As Qwen2VisionTransformer computes it: the
 * patch embedding (a Conv3d over whole patches: one MatMul without bias), pre-norm blocks
 * (LayerNorm, attention with QKV bias, QuickGELU MLP) in which a patch attends only to the
 * patches of its own image (grid_thw gives each image's count: its cu_seqlens), then the merger
 * (LayerNorm, each 2×2 block of patches concatenated, an MLP with exact GELU). The 2-D rotary
 * embedding of the real tower's attention is left out: patches are told apart by their values,
 * which random weights tell apart as well.
 */
export function addQwen2VlVisionEncoder(graph: GraphBuilder, shape: Qwen2VlVisionShape, prng: Prng): void {
  const width = shape.embedDim;
  const heads = shape.numHeads;
  const headDim = width / heads;
  const values = 3 * shape.temporalPatchSize * shape.patchSize ** 2;
  const merged = width * shape.spatialMergeSize ** 2;
  const hiddenMlp = width * shape.mlpRatio;
  const i64 = (v: number[], dims?: number[]) => graph.constant('int64', v, dims);
  const f32 = (v: number[], dims?: number[]) => graph.constant('float32', v, dims);
  const { linear, layerNorm: norm } = visionLayers(graph, prng);
  const layerNorm = (x: string, name: string) => norm(x, name, width, 1e-6);

  const pixelValues = graph.input('pixel_values', 'float32', ['num_patches', values]);
  const gridThw = graph.input('grid_thw', 'int64', ['num_images', 3]);

  // Which image each patch belongs to: the running sum of t·h·w, each patch counted past the ends before it.
  const ends = graph.node('CumSum', [
    graph.node('ReduceProd', [gridThw], { axes: { ints: [1] }, keepdims: { int: 0 } }),
    i64([0], []),
  ]);
  const patches = graph.node('Gather', [graph.node('Shape', [pixelValues]), i64([0], [])], {
    axis: { int: 0 },
  });
  const index = graph.node('Range', [i64([0], []), patches, i64([1], [])]);
  const imageOf = graph.node(
    'ReduceSum',
    [
      graph.node('Cast', [graph.node('GreaterOrEqual', [graph.node('Unsqueeze', [index, i64([1])]), ends])], {
        to: { int: onnx.TensorProto_DataType.INT64 },
      }),
      i64([1]),
    ],
    { keepdims: { int: 0 } },
  );
  const sameImage = graph.node('Equal', [
    graph.node('Unsqueeze', [imageOf, i64([1])]),
    graph.node('Unsqueeze', [imageOf, i64([0])]),
  ]);
  const mask = graph.node('Where', [sameImage, f32([0], []), f32([LOWEST], [])]); // [N, N]

  let hidden = linear(pixelValues, 'visual.patch_embed.proj', values, width, false);
  const toHeads = (x: string) =>
    graph.node('Transpose', [graph.node('Reshape', [x, i64([-1, heads, headDim])])], {
      perm: { ints: [1, 0, 2] },
    });
  const quickGelu = (x: string) =>
    graph.node('Mul', [x, graph.node('Sigmoid', [graph.node('Mul', [x, f32([1.702], [])])])]);
  for (let i = 0; i < shape.depth; i += 1) {
    const p = `visual.blocks.${i}.`;
    const x = layerNorm(hidden, `${p}norm1`);
    const [q, k, v] = graph.nodeN(
      'Split',
      [linear(x, `${p}attn.qkv`, width, 3 * width), i64([width, width, width])],
      3,
      {
        axis: { int: -1 },
      },
    ) as [string, string, string];
    const scores = graph.node('Add', [
      graph.node('Mul', [
        graph.node('MatMul', [
          toHeads(q),
          graph.node('Transpose', [toHeads(k)], { perm: { ints: [0, 2, 1] } }),
        ]),
        f32([Math.fround(1 / Math.sqrt(headDim))], []),
      ]),
      mask,
    ]);
    const attended = graph.node('Reshape', [
      graph.node(
        'Transpose',
        [graph.node('MatMul', [graph.node('Softmax', [scores], { axis: { int: -1 } }), toHeads(v)])],
        {
          perm: { ints: [1, 0, 2] },
        },
      ),
      i64([-1, width]),
    ]);
    hidden = graph.node('Add', [hidden, linear(attended, `${p}attn.proj`, width, width)]);
    const y = layerNorm(hidden, `${p}norm2`);
    hidden = graph.node('Add', [
      hidden,
      linear(quickGelu(linear(y, `${p}mlp.fc1`, width, hiddenMlp)), `${p}mlp.fc2`, hiddenMlp, width),
    ]);
  }
  // PatchMerger: ln_q, then each merge block's patches side by side, then Linear-GELU-Linear.
  const blocks = graph.node('Reshape', [layerNorm(hidden, 'visual.merger.ln_q'), i64([-1, merged])]);
  const up = linear(blocks, 'visual.merger.mlp.0', merged, merged);
  const gelu = graph.node('Mul', [
    graph.node('Mul', [up, f32([0.5], [])]),
    graph.node('Add', [graph.node('Erf', [graph.node('Mul', [up, f32([Math.SQRT1_2], [])])]), f32([1], [])]),
  ]);
  const features = linear(gelu, 'visual.merger.mlp.2', merged, shape.hiddenSize);
  graph.output(features, 'image_features', 'float32', ['num_image_tokens', shape.hiddenSize]);
}
