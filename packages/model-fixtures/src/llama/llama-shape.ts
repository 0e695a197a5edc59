/** The architecture numbers of a Llama decoder, as config.json names them. */
export interface LlamaShape {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  /** Target tokenizer size; the model's vocab_size equals the tokenizer's. */
  vocabSize: number;
  maxPositions: number;
  ropeTheta: number;
  rmsNormEps: number;
}

export type LlamaPreset = 'tiny' | 'medium' | 'small' | 'tinyllama';

export const llamaPresets: Readonly<Record<LlamaPreset, LlamaShape>> = {
  // A few MB: every test and the demo.
  tiny: {
    hiddenSize: 64,
    intermediateSize: 172,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    vocabSize: 1024,
    maxPositions: 512,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
  },
  // A few ms per decode step: tests that must watch a generation run (cancellation, health
  // while busy, queues) without the minutes a benchmark model takes.
  medium: {
    hiddenSize: 384,
    intermediateSize: 1024,
    numLayers: 4,
    numHeads: 6,
    numKvHeads: 2,
    vocabSize: 4000,
    maxPositions: 2048,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
  },
  // About 100 M parameters: benchmarks where the model's cost, not the harness, dominates.
  small: {
    hiddenSize: 768,
    intermediateSize: 2048,
    numLayers: 8,
    numHeads: 12,
    numKvHeads: 4,
    vocabSize: 32000,
    maxPositions: 2048,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
  },
  // TinyLlama-1.1B-Chat-v1.0's real shape (1.1 B parameters; weights as external data).
  tinyllama: {
    hiddenSize: 2048,
    intermediateSize: 5632,
    numLayers: 22,
    numHeads: 32,
    numKvHeads: 4,
    vocabSize: 32000,
    maxPositions: 2048,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
  },
};

export function headDim(shape: LlamaShape): number {
  return shape.hiddenSize / shape.numHeads;
}

export function validateShape(shape: LlamaShape): void {
  if (shape.hiddenSize % shape.numHeads !== 0)
    throw new RangeError('hiddenSize must be a multiple of numHeads');
  if (shape.numHeads % shape.numKvHeads !== 0)
    throw new RangeError('numHeads must be a multiple of numKvHeads');
  if (headDim(shape) % 2 !== 0) throw new RangeError('the head dimension must be even for rotary embeddings');
}

/** Parameters of a model with this shape and vocabulary (untied embeddings, no biases). */
export function parameterCount(shape: LlamaShape, vocabSize: number): number {
  const kvDim = headDim(shape) * shape.numKvHeads;
  const h = shape.hiddenSize;
  const perLayer = 2 * h + h * h * 2 + h * kvDim * 2 + 3 * h * shape.intermediateSize;
  return 2 * vocabSize * h + h + shape.numLayers * perLayer;
}
