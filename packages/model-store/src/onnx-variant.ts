/** How an ONNX file of a model was exported, from its Optimum file name. */
export type OnnxVariant =
  | 'fp32'
  | 'fp16'
  | 'quantized'
  | 'int8'
  | 'q4'
  | 'q4f16'
  | 'merged'
  | 'merged-fp16'
  | 'merged-quantized'
  | 'other';

const variantByFile: Readonly<Record<string, OnnxVariant>> = {
  'model.onnx': 'fp32',
  'model_fp16.onnx': 'fp16',
  'model_quantized.onnx': 'quantized',
  'model_int8.onnx': 'int8',
  'model_q4.onnx': 'q4',
  'model_q4f16.onnx': 'q4f16',
  'decoder_model_merged.onnx': 'merged',
  'decoder_model_merged_fp16.onnx': 'merged-fp16',
  'decoder_model_merged_quantized.onnx': 'merged-quantized',
  // Vision-language exports ship their decoder only as decoder_model_merged, in every variant.
  'decoder_model_merged_int8.onnx': 'int8',
  'decoder_model_merged_q4.onnx': 'q4',
  'decoder_model_merged_q4f16.onnx': 'q4f16',
};

const VLM_DECODER = 'decoder_model_merged';

/**
 * A vision-language export's graphs beside its decoder: the vision encoder and token embedding
 * of the decoder's variant (`decoder_model_merged_q4.onnx` → `vision_encoder_q4.onnx`) where
 * `exists` says there is one, else the full-precision ones — as transformers.js loads a dtype per
 * session. Paths keep the decoder's folder.
 */
export function visionCompanions(
  decoderPath: string,
  exists: (path: string) => boolean,
): { encoder: string; embed: string } {
  const slash = decoderPath.lastIndexOf('/');
  const folder = decoderPath.slice(0, slash + 1);
  const name = decoderPath.slice(slash + 1);
  const pick = (part: string) => {
    const same = folder + name.replace(VLM_DECODER, part);
    return same !== decoderPath && exists(same) ? same : `${folder}${part}.onnx`;
  };
  return { encoder: pick('vision_encoder'), embed: pick('embed_tokens') };
}

/** Whether a folder's (or repository's) graphs are a vision-language export's three. */
export function isVisionLanguageExport(graphNames: readonly string[]): boolean {
  const has = (part: string) => graphNames.some((name) => name.startsWith(part));
  return has(VLM_DECODER) && has('vision_encoder') && has('embed_tokens');
}

/** The variant of an ONNX file by its base name; `other` for names Optimum does not write. */
export function onnxVariantOf(fileName: string): OnnxVariant {
  return variantByFile[fileName] ?? 'other';
}

/**
 * Tags that pick an ONNX variant of a folder or Hub repository, as Ollama's tags pick a
 * quantization (`llama3:8b-q4_0`): `tiny-llama:q4` runs onnx/model_q4.onnx.
 */
export const variantTags: Readonly<Record<string, readonly OnnxVariant[]>> = {
  fp32: ['fp32', 'merged'],
  fp16: ['fp16', 'merged-fp16'],
  int8: ['quantized', 'int8', 'merged-quantized'],
  q8: ['quantized', 'int8', 'merged-quantized'],
  quantized: ['quantized', 'int8', 'merged-quantized'],
  q4: ['q4', 'q4f16'],
  q4f16: ['q4f16'],
};

/** A CPU's order of preference (fp32 runs fastest on CPUs without native fp16). */
export const cpuVariantOrder: readonly OnnxVariant[] = [
  'fp32',
  'merged',
  'quantized',
  'int8',
  'merged-quantized',
  'q4',
  'fp16',
  'merged-fp16',
  'q4f16',
  'other',
];
