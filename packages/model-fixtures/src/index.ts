export {
  writeLlamaFolder,
  type LlamaFolder,
  type LlamaFolderOptions,
  type LlamaVariant,
} from './llama/write-llama-folder.js';
export { llamaGgufTypes, ggufFileName, type LlamaGgufType } from './llama/write-llama-gguf.js';
export { llamaPresets, parameterCount, type LlamaPreset, type LlamaShape } from './llama/llama-shape.js';
export {
  writeDetectorFolder,
  writeClassifierFolder,
  detectorLabels,
  classifierLabels,
  pythonDictLiteral,
  DETECTOR_FILE,
  type DetectorFolderOptions,
  writeSegmenterFolder,
  writePoseFolder,
  poseLabels,
  SEGMENTER_FILE,
  POSE_FILE,
  type InstanceFolderOptions,
} from './vision/write-vision-folders.js';
export { DEMO_KEYPOINT_LAYOUT } from './vision/pose-graph.js';
export { MASK_CHANNELS } from './vision/segmentation-graph.js';
export { writeMattingFolder, MATTING_SIZE } from './vision/matting-graph.js';
export { detectorColours, classifierColours, type Colour } from './vision/colours.js';
export { DETECTOR_SIZE, DETECTOR_CLASSES } from './vision/detector-graph.js';
export { CLASSIFIER_SIZE, IMAGENET_MEAN, IMAGENET_STD } from './vision/classifier-graph.js';
export { drawSquares, toChwFloat, type Square, type RgbImage } from './vision/square-image.js';
export {
  randomScene,
  sameColourGap,
  OTHER_COLOUR_GAP,
  type RandomScene,
  type RandomSceneOptions,
  type SceneSquare,
} from './vision/random-scene.js';
export {
  writeDemoModels,
  writeQwen3Demo,
  demoLlamaName,
  DEMO_DETECTOR,
  DEMO_CLASSIFIER,
  DEMO_SEGMENTER,
  DEMO_POSE,
  DEMO_MATTING,
  DEMO_EMBEDDER,
  DEMO_QWEN3,
  DEMO_VLM,
  type DemoModel,
  type DemoOptions,
} from './demo-models.js';
export { Prng } from './prng.js';
export { toFloat16Bits, fromFloat16Bits } from './onnx/float16.js';
export {
  writeBertFolder,
  bertPresets,
  type BertFolderOptions,
  type BertPreset,
} from './bert/write-bert-folder.js';
export type { BertShape } from './bert/bert-graph.js';
export {
  writeFamilyFolder,
  type FamilyFolder,
  type FamilyFolderOptions,
  type FamilyLayout,
  type FamilyVariant,
} from './family/write-family-folder.js';
export {
  decoderFamilies,
  familyPresets,
  familyTraits,
  type DecoderFamily,
  type FamilyShape,
} from './family/family-shape.js';
export { writeFamilyGguf, ggufArchitectures } from './family/write-family-gguf.js';
export { writeInChild, type ChildWriters } from './write-in-child.js';
export { writeMatMulNBitsStack, type MatMulNBitsStackOptions } from './quantized/matmul-nbits-stack.js';
export { writeYoloV8Folder, cocoLabels, type YoloV8FolderOptions } from './vision/write-yolov8-folder.js';
export type { YoloV8Scale, YoloV8Precision, YoloV8Head } from './vision/yolov8-graph.js';
export {
  writeVlmFolder,
  SMOLVLM_CHAT_TEMPLATE,
  type VlmFolder,
  type VlmFolderOptions,
  type VlmLayout,
  type VlmProcessorShape,
} from './vlm/write-vlm-folder.js';
export { imageSeqLen, type Idefics3VisionShape } from './vlm/idefics3-vision-graph.js';
export {
  writeQwen2VlFolder,
  qwen2VlPreprocessorConfig,
  QWEN2_VL_CHAT_TEMPLATE,
  type Qwen2VlFolder,
  type Qwen2VlFolderOptions,
  type Qwen2VlProcessorShape,
} from './vlm/write-qwen2-vl-folder.js';
export type { Qwen2VlVisionShape } from './vlm/qwen2-vl-vision-graph.js';
