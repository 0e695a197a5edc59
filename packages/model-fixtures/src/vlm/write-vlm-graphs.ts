import { join } from 'node:path';
import type { FamilyShape } from '../family/family-shape.js';
import { FamilyWeights, FamilyWeightValues } from '../family/family-weights.js';
import { addEmbedTokens, addOptimumDecoder, type OptimumDecoderOptions } from '../family/optimum-graph.js';
import { GraphBuilder } from '../onnx/graph-builder.js';
import { writeOnnxModel } from '../onnx/write-onnx-model.js';
import { Prng } from '../prng.js';

const OPSET = 17;

/**
 * A vision-language folder's three graphs as onnx-community names them: the vision encoder
 * (`addEncoder`, its weights from `seed`'s `vision` stream), the token embedding and the decoder
 * on inputs_embeds, both from the text model's weights (fp32). Returns the files written.
 */
export function writeVlmGraphs(
  dir: string,
  options: {
    label: string;
    seed: number;
    text: FamilyShape;
    decoder?: Omit<OptimumDecoderOptions, 'inputsEmbeds'>;
    addEncoder: (graph: GraphBuilder, prng: Prng) => void;
  },
): string[] {
  const { label, seed, text } = options;
  const source = new FamilyWeightValues(text, seed);
  const weightOptions = {
    dtype: 'float32',
    q4: false,
    computeIn: 'storage',
    normOffset: 0,
    tiedHead: 'transpose',
  } as const;
  const decoder = GraphBuilder.create('decoder_model_merged');
  addOptimumDecoder(decoder, text, new FamilyWeights(decoder, source, weightOptions), {
    ...options.decoder,
    inputsEmbeds: true,
  });
  const embed = GraphBuilder.create('embed_tokens');
  addEmbedTokens(embed, text, new FamilyWeights(embed, source, weightOptions));
  const encoder = GraphBuilder.create('vision_encoder');
  options.addEncoder(encoder, new Prng(seed).fork('vision'));
  return (
    [
      ['onnx/vision_encoder.onnx', encoder, 'vision encoder'],
      ['onnx/embed_tokens.onnx', embed, 'token embedding'],
      ['onnx/decoder_model_merged.onnx', decoder, 'decoder'],
    ] as const
  ).flatMap(([file, graph, part]) =>
    writeOnnxModel(join(dir, file), graph, {
      opset: OPSET,
      docString: `VMM fixture: ${label} ${part}, seed ${seed}`,
    }),
  );
}
