import type { GraphBuilder } from '../onnx/graph-builder.js';
import { addColourMasks, classifierColours } from './colours.js';

export const CLASSIFIER_SIZE = 224;
export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

/**
 * Which colour dominates an image: input [batch, 3, 224, 224] normalised with ImageNet mean/std
 * (as torchvision-style classifiers expect), output `probabilities` [batch, 8] after softmax.
 * The graph undoes the normalisation, masks each colour, and softmaxes the colours' shares.
 */
export function addClassifier(graph: GraphBuilder): void {
  const size = CLASSIFIER_SIZE;
  const classes = classifierColours.length;
  const input = graph.input('pixel_values', 'float32', ['batch', 3, size, size]);
  const rgb = graph.node('Add', [
    graph.node('Mul', [input, graph.constant('float32', IMAGENET_STD, [1, 3, 1, 1])]),
    graph.constant('float32', IMAGENET_MEAN, [1, 3, 1, 1]),
  ]);
  const masks = addColourMasks(graph, rgb, classifierColours);
  const shares = graph.node('Flatten', [graph.node('GlobalAveragePool', [masks])], { axis: { int: 1 } });
  const probabilities = graph.node(
    'Softmax',
    [graph.node('Mul', [shares, graph.constant('float32', [10], [])])],
    {
      axis: { int: 1 },
    },
  );
  graph.output(probabilities, 'probabilities', 'float32', ['batch', classes]);
}
