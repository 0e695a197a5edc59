import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder } from '../onnx/graph-builder.js';
import { writeOnnxModel } from '../onnx/write-onnx-model.js';

/** The demo matting model's input side, as U²-Net's (rembg's u2net.onnx takes 320×320). */
export const MATTING_SIZE = 320;

/**
 * A background-removal model in the layout matting exports share (`input` [batch, 3, 320, 320]
 * normalised as (v − 0.5) / 1, `output` [batch, 1, 320, 320] in [0, 1]): the backdrop is the
 * mean colour of the image's border, and a pixel is foreground by how far its colour is from it:
 * sigmoid(80 · (d − 0.15)) of the summed channel distance d, so that the backdrop reads 0 and
 * anything 0.3 away from it 1. On the flat backdrops of the demo scenes it cuts out exactly what
 * was drawn on them.
 */
export function addMattingModel(graph: GraphBuilder): void {
  const size = MATTING_SIZE;
  const input = graph.input('input', 'float32', ['batch', 3, size, size]);
  const scalar = (value: number) => graph.constant('float32', [value], []);
  const int64 = (values: number[]) => graph.constant('int64', values);
  const slice = (starts: number[], ends: number[], axes: number[]) =>
    graph.node('Slice', [input, int64(starts), int64(ends), int64(axes)]);
  // The four edges, each averaged to [batch, 3, 1, 1], then averaged together.
  const mean = (x: string) => graph.node('ReduceMean', [x], { axes: { ints: [2, 3] }, keepdims: { int: 1 } });
  const edges = [
    slice([0], [1], [2]),
    slice([size - 1], [size], [2]),
    slice([0], [1], [3]),
    slice([size - 1], [size], [3]),
  ].map(mean);
  const backdrop = graph.node('Mul', [
    edges.reduce((sum, edge) => graph.node('Add', [sum, edge])),
    scalar(0.25),
  ]);
  const distance = graph.node(
    'ReduceSum',
    [graph.node('Abs', [graph.node('Sub', [input, backdrop])]), int64([1])],
    { keepdims: { int: 1 } },
  );
  const matte = graph.node('Sigmoid', [
    graph.node('Mul', [graph.node('Sub', [distance, scalar(0.15)]), scalar(80)]),
  ]);
  graph.output(matte, 'output', 'float32', ['batch', 1, size, size]);
}

/**
 * Writes the demo matting model as transformers.js-style background-removal folders are laid
 * out: config.json (its model_type says what it is), preprocessor_config.json (size and
 * normalisation) and onnx/model.onnx.
 */
export function writeMattingFolder(dir: string): string[] {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const graph = GraphBuilder.create('matting');
  addMattingModel(graph);
  const files = writeOnnxModel(join(dir, 'onnx', 'model.onnx'), graph, {
    opset: 17,
    docString: 'VMM fixture: cuts out what differs from the backdrop (the colour of the image border)',
  });
  const config = {
    model_type: 'u2net',
    architectures: ['U2NET'],
    _comment: 'VMM fixture: a backdrop-distance matte',
  };
  const processor = {
    do_resize: true,
    size: { width: MATTING_SIZE, height: MATTING_SIZE },
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_std: [1, 1, 1],
  };
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  writeFileSync(join(dir, 'preprocessor_config.json'), `${JSON.stringify(processor, null, 2)}\n`);
  return [...files, join(dir, 'config.json'), join(dir, 'preprocessor_config.json')];
}
